import json

import pytest

from echo_spark.evaluate.bootstrap import resample_counts
from echo_spark.evaluate.metrics import Columns, score
from echo_spark.evaluate.report import ACCEPTED_ONLY, BASE, ECHO, ArmResult, compare, write_report

from .helpers import arm_rows

N = 400


def _arm(name, accepted, partial, rejected, silent, counts):
    rows = arm_rows(accepted, partial, rejected, silent)
    assert len(rows) == N
    bench = {"all": {"tasks": 3, "exact_match": 1 / 3, "pass_at_1": 2 / 3}}
    return ArmResult(name, f"/models/{name}", score(rows, counts, 0.95), Columns.of(rows), bench, f"run-{name}")


def test_target_met_when_echo_is_clearly_better():
    counts = resample_counts(range(N), 500, 1)
    arms = [_arm(BASE, 40, 60, 250, 50, counts), _arm(ACCEPTED_ONLY, 50, 60, 240, 50, counts),
            _arm(ECHO, 80, 60, 210, 50, counts)]
    comparison = compare(arms, counts, 0.95)
    assert comparison.ratios[ECHO]["acceptance"].value == pytest.approx(2.0)
    assert comparison.ratios[ECHO]["acceptance"].low > 1.4
    target = comparison.target
    assert target["ratio"] == pytest.approx(2.0) and target["ratio_interval"][0] > 1.4 and target["ratio_met"]
    assert target["intervals_separate"] and target["beats_accepted_only"] and target["met"]
    assert target["base_acceptance"] == pytest.approx(40 / 350)


def test_target_not_met_when_the_intervals_overlap_or_accepted_only_wins():
    counts = resample_counts(range(N), 500, 1)
    comparison = compare([_arm(BASE, 40, 60, 250, 50, counts), _arm(ACCEPTED_ONLY, 70, 60, 220, 50, counts),
                          _arm(ECHO, 58, 60, 232, 50, counts)], counts, 0.95)
    target = comparison.target
    assert target["ratio_met"] and not target["intervals_separate"] and not target["beats_accepted_only"]
    assert not target["met"]
    assert compare([_arm(ECHO, 58, 60, 232, 50, counts)], counts, 0.95).target["checked"] is False


def test_report_files(tmp_path):
    counts = resample_counts(range(N), 200, 1)
    comparison = compare([_arm(BASE, 40, 60, 250, 50, counts), _arm(ECHO, 80, 60, 210, 50, counts)], counts, 0.95)
    path = write_report(comparison, {"simulation_dir": "/sim", "resamples": 200, "confidence": 0.95}, tmp_path)
    text = path.read_text()
    assert "| base | 11.4% [" in text and "| echo | 22.9% [" in text  # 40 and 80 of 350 shown
    assert "Target MET" in text and "2.00x [" in text and "Acceptance by trigger" in text
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["arms"]["echo"]["overall"]["acceptance"]["value"] == pytest.approx(80 / 350)
    assert data["arms"]["echo"]["benchmarks"]["all"]["pass_at_1"] == pytest.approx(2 / 3)


def test_a_base_that_never_gets_accepted_has_no_ratio():
    from echo_spark.evaluate.report import target_line

    counts = resample_counts(range(N), 200, 1)
    comparison = compare([_arm(BASE, 0, 60, 290, 50, counts), _arm(ECHO, 20, 60, 270, 50, counts)], counts, 0.95)
    assert comparison.target["ratio"] is None and not comparison.target["met"]
    assert "n/a (base acceptance is 0)" in target_line(comparison.target)
