"""The per-gap curation pipeline over clean code: secrets rarely drop anything, voids stay voids."""

from echo_spark.config import CurateConfig
from echo_spark.curate.pipeline import RowCurator

from .stdlib_samples import stdlib_gaps


def _row(i: int, prefix: str, middle: str, suffix: str) -> dict:
    return {"request_id": f"r{i}", "session_id": "s", "user_id": "u", "language": "python", "prefix": prefix,
            "suffix": suffix, "committed": middle, "proposal": None}


def test_clean_standard_library_gaps_are_almost_never_dropped_for_secrets():
    """< 1% of clean stdlib samples leave gold because of the secrets stage (redacting e-mails in
    license headers keeps the sample)."""
    rows = [_row(i, *gap) for i, gap in enumerate(stdlib_gaps(300))]
    staged = RowCurator.build(CurateConfig()).curate(rows)
    dropped_for_secrets = [r for r in staged if r["drop_stage"] == "secrets"]
    assert len(rows) == 300
    assert len(dropped_for_secrets) / len(rows) < 0.01, [r["drop_reason"] for r in dropped_for_secrets]


def test_unknown_commit_and_void_are_told_apart():
    staged = {r["request_id"]: r for r in RowCurator.build(CurateConfig()).curate([
        _row(0, "x = compute()\n", "", "\nprint(x)\n"),
        {**_row(1, "y = ", "", "\n"), "committed": None},
        {**_row(2, "z = ", "", "\n"), "committed": None, "skipped_reason": "change_does_not_fit"},
    ])}
    assert (staged["r0"]["kept"], staged["r0"]["middle"]) == (True, "")
    assert staged["r1"]["drop_reason"] == "committed_unknown"
    assert staged["r2"]["drop_reason"] == "document_skipped"
