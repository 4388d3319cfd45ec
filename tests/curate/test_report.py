"""The curate report: syntax-stage drops per cause."""

from __future__ import annotations

import json
from pathlib import Path

from echo_spark.curate.report import syntax_drops_by_cause, write_report


def _metrics(syntax: dict[str, int]) -> dict:
    return {
        "generated_at": "2026-12-03T00:00:00+00:00", "silver": 100, "gold": 60, "gold_void": 3, "gold_redacted": 1,
        "dropped": 40, "perplexity": "skipped",
        "dropped_by_stage": {"teacher": {"unit_cut": 10}, "syntax": syntax, "identifiers": {"unknown_identifiers": 5}},
    }


def test_syntax_drops_are_summed_per_cause_over_their_reasons() -> None:
    metrics = _metrics({
        "new_syntax_errors:unit_end": 7, "python_syntax_error:unit_end": 2,
        "new_syntax_errors:context": 4, "python_syntax_error:context": 1,
        "new_syntax_errors:middle": 6, "new_syntax_errors": 3,
    })
    assert syntax_drops_by_cause(metrics) == {"unit_end": 9, "context": 5, "middle": 6, "unspecified": 3}
    # no syntax drop at all: every cause at zero, none invented
    assert syntax_drops_by_cause(_metrics({})) == {"unit_end": 0, "context": 0, "middle": 0}


def test_the_report_shows_syntax_drops_per_cause(tmp_path: Path) -> None:
    metrics = _metrics({"new_syntax_errors:unit_end": 3, "new_syntax_errors:middle": 1})
    path = write_report(metrics, {"before": {"void": 1, "<=10": 4}, "after": {"<=10": 2}}, tmp_path)
    text = path.read_text()
    assert "Syntax-stage drops per cause" in text
    assert "| unit_end | 3 | 75.0% |" in text and "| middle | 1 | 25.0% |" in text and "| context | 0 | 0.0% |" in text
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["syntax_drops_by_cause"] == {"unit_end": 3, "context": 0, "middle": 1}
