import numpy as np
import pytest

from echo_spark.evaluate.bootstrap import Estimate, paired_ratio, ratio_estimate, resample_counts


def test_resample_counts_draw_every_resample_to_n_and_repeat_with_the_seed():
    counts = resample_counts(range(50), 200, seed=3)
    assert counts.shape == (200, 50) and (counts.sum(axis=1) == 50).all()
    assert (counts == resample_counts(range(50), 200, seed=3)).all()
    assert not (counts == resample_counts(range(50), 200, seed=4)).all()


def test_a_group_is_drawn_whole():
    groups = ["d1", "d1", "d2", "d3", "d3", "d3"]
    counts = resample_counts(groups, 300, seed=1)
    assert counts.shape == (300, 6)
    assert (counts[:, 0] == counts[:, 1]).all() and (counts[:, 3] == counts[:, 5]).all()
    assert (counts[:, [0, 2, 3]].sum(axis=1) == 3).all()  # three documents drawn per resample


def test_grouping_correlated_requests_widens_the_interval():
    # 40 documents of 10 requests each; a document's requests all succeed or all fail.
    hits = np.repeat((np.arange(40) % 3 == 0).astype(float), 10)
    docs = np.repeat(np.arange(40), 10).tolist()
    by_request = ratio_estimate(hits, np.ones(400), resample_counts(range(400), 500, 1), 0.95)
    by_document = ratio_estimate(hits, np.ones(400), resample_counts(docs, 500, 1), 0.95)
    assert by_request.value == by_document.value
    assert (by_document.high - by_document.low) > 2 * (by_request.high - by_request.low)


def test_ratio_interval_holds_the_estimate_and_narrows_with_more_requests():
    rng = np.random.default_rng(0)
    widths = []
    for n in (100, 2000):
        hits = (rng.random(n) < 0.3).astype(float)
        estimate = ratio_estimate(hits, np.ones(n), resample_counts(range(n), 500, 1), 0.95)
        assert estimate.low <= estimate.value <= estimate.high and estimate.n == n
        widths.append(estimate.high - estimate.low)
    assert widths[1] < widths[0] / 3
    # the true rate is inside the large sample's interval
    assert estimate.low < 0.3 < estimate.high


def test_an_empty_denominator_is_no_estimate():
    estimate = ratio_estimate(np.zeros(5), np.zeros(5), resample_counts(range(5), 100, 1), 0.95)
    assert estimate.value is None and estimate.low is None and estimate.n == 0


def test_paired_ratio_of_arms_on_the_same_requests():
    n = 400
    rng = np.random.default_rng(1)
    base = (rng.random(n) < 0.2).astype(float)
    better = np.maximum(base, (rng.random(n) < 0.2).astype(float))
    ratio = paired_ratio(better, np.ones(n), base, np.ones(n), resample_counts(range(n), 500, 2), 0.95)
    assert ratio.value == pytest.approx(better.sum() / base.sum())
    assert 1.0 < ratio.low <= ratio.value <= ratio.high


def test_overlap():
    assert Estimate(0.2, 0.1, 0.3, 10).overlaps(Estimate(0.25, 0.2, 0.35, 10))
    assert not Estimate(0.2, 0.1, 0.3, 10).overlaps(Estimate(0.5, 0.4, 0.6, 10))
    assert Estimate(None, None, None, 0).overlaps(Estimate(0.5, 0.4, 0.6, 10))
