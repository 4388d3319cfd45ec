import pytest

from echo_spark.evaluate.bootstrap import resample_counts
from echo_spark.evaluate.metrics import METRICS, score
from echo_spark.evaluate.replay import ACCEPTED, PARTIAL, REJECTED, SILENT

from .helpers import row


def test_rates_have_their_own_denominators():
    rows = [
        row(ACCEPTED, saved=10, exact=True, similarity=1.0, trigger="dot"),
        row(PARTIAL, saved=4, similarity=0.5, trigger="dot"),
        row(REJECTED, trigger="paren"),
        row(SILENT, void_target=True, trigger="paren", bucket="void"),
        row(SILENT, trigger="paren"),
        row(REJECTED, void_target=True, trigger="line_start", bucket="void"),
    ]
    scores = score(rows, resample_counts(range(len(rows)), 200, 1), 0.95)
    overall = {m: scores.overall[m].value for m in METRICS}
    assert overall["acceptance"] == pytest.approx(1 / 4)  # of 4 shown
    assert overall["acceptance_per_request"] == pytest.approx(1 / 6)
    assert overall["partial"] == pytest.approx(1 / 4)
    assert overall["shown"] == pytest.approx(4 / 6)
    assert overall["exact_match"] == pytest.approx(1 / 6)
    assert overall["edit_similarity"] == pytest.approx(1.5 / 6)
    assert overall["chars_saved"] == pytest.approx(14 / 60)
    assert overall["void_precision"] == pytest.approx(1 / 2)  # 2 silent, 1 where void was right
    assert overall["void_recall"] == pytest.approx(1 / 2)  # 2 void targets, silent on 1
    assert scores.requests == 6


def test_slices_split_the_requests():
    rows = [row(ACCEPTED, trigger="dot"), row(REJECTED, trigger="dot"), row(REJECTED, trigger="paren")]
    scores = score(rows, resample_counts(range(3), 200, 1), 0.95)
    assert set(scores.slices) == {"language", "length_bucket", "trigger"}
    assert scores.slices["trigger"]["dot"]["acceptance"].value == pytest.approx(0.5)
    assert scores.slices["trigger"]["paren"]["acceptance"].value == 0.0
    assert scores.slices["trigger"]["dot"]["acceptance"].n == 2
    assert scores.slices["language"]["python"]["acceptance"].value == pytest.approx(1 / 3)
    # void precision of an arm that is never silent has no estimate, not zero
    assert scores.overall["void_precision"].value is None
