import numpy as np
import pytest

from echo_spark.evaluate.bootstrap import Estimate, paired_ratio, ratio_estimate, resample_counts


def test_resample_counts_draw_every_resample_to_n_and_repeat_with_the_seed():
    counts = resample_counts(50, 200, seed=3)
    assert counts.shape == (200, 50) and (counts.sum(axis=1) == 50).all()
    assert (counts == resample_counts(50, 200, seed=3)).all()
    assert not (counts == resample_counts(50, 200, seed=4)).all()


def test_ratio_interval_holds_the_estimate_and_narrows_with_more_requests():
    rng = np.random.default_rng(0)
    widths = []
    for n in (100, 2000):
        hits = (rng.random(n) < 0.3).astype(float)
        estimate = ratio_estimate(hits, np.ones(n), resample_counts(n, 500, 1), 0.95)
        assert estimate.low <= estimate.value <= estimate.high and estimate.n == n
        widths.append(estimate.high - estimate.low)
    assert widths[1] < widths[0] / 3
    # the true rate is inside the large sample's interval
    assert estimate.low < 0.3 < estimate.high


def test_an_empty_denominator_is_no_estimate():
    estimate = ratio_estimate(np.zeros(5), np.zeros(5), resample_counts(5, 100, 1), 0.95)
    assert estimate.value is None and estimate.low is None and estimate.n == 0


def test_paired_ratio_of_arms_on_the_same_requests():
    n = 400
    rng = np.random.default_rng(1)
    base = (rng.random(n) < 0.2).astype(float)
    better = np.maximum(base, (rng.random(n) < 0.2).astype(float))
    ratio = paired_ratio(better, np.ones(n), base, np.ones(n), resample_counts(n, 500, 2), 0.95)
    assert ratio.value == pytest.approx(better.sum() / base.sum())
    assert 1.0 < ratio.low <= ratio.value <= ratio.high


def test_overlap():
    assert Estimate(0.2, 0.1, 0.3, 10).overlaps(Estimate(0.25, 0.2, 0.35, 10))
    assert not Estimate(0.2, 0.1, 0.3, 10).overlaps(Estimate(0.5, 0.4, 0.6, 10))
    assert Estimate(None, None, None, 0).overlaps(Estimate(0.5, 0.4, 0.6, 10))
