"""The accepted-only arm's table, from silver, on the embedded engine."""

from datetime import datetime, timezone

import pytest

from echo_spark.curate.proportion import split_of
from echo_spark.curate.accepted_only import build_accepted_only
from echo_spark.tables import COMPLETIONS, SFT_ACCEPTED_ONLY, SFT_SAMPLES


def _silver(request_id: str, user: str, outcome: str, proposal: str | None, committed: str | None) -> dict:
    return {
        "request_id": request_id, "session_id": f"s-{user}", "user_id": user, "doc_id": "d", "language": "python",
        "request_ts": datetime(2026, 1, 1, tzinfo=timezone.utc), "prefix": "x = ", "suffix": "\n",
        "proposal": proposal, "outcome": outcome, "committed": committed,
        "request_event_id": f"e-{request_id}", "event_ids": [f"e-{request_id}"],
    }


@pytest.mark.sail_only
def test_accepted_whole_proposals_become_samples_with_c1_as_the_target(spark, lakehouse, config):
    rows = [
        _silver("a1", "u1", "accepted", "compute(1)", "compute(2)\nmore"),  # kept as proposed, whatever C_N became
        _silver("a2", "u2", "accepted", "x" * 40, None),
        _silver("p1", "u1", "partial", "compute(1)", "compute"),
        _silver("r1", "u2", "rejected", "wrong()", "right()"),
        _silver("i1", "u3", "ignored", "typed_over()", "other()"),
        _silver("e1", "u3", "accepted", "", ""),  # nothing was shown
    ]
    lakehouse.append(COMPLETIONS, spark.createDataFrame(rows, COMPLETIONS.schema))
    metrics = build_accepted_only(spark, lakehouse, config)
    table = lakehouse.read(SFT_ACCEPTED_ONLY)
    assert table.schema == SFT_ACCEPTED_ONLY.schema
    assert [f.name for f in SFT_ACCEPTED_ONLY.schema] == [f.name for f in SFT_SAMPLES.schema]
    got = {r["request_id"]: r.asDict() for r in table.collect()}
    assert set(got) == {"a1", "a2"} and metrics["samples"] == 2
    assert got["a1"]["middle"] == "compute(1)" and got["a1"]["committed_chars"] == len("compute(2)\nmore")
    assert got["a1"]["length_bucket"] == "<=16" and got["a2"]["length_bucket"] == "<=64"
    assert got["a2"]["committed_chars"] is None and not got["a2"]["is_void"]
    for row in got.values():
        assert row["split"] == split_of(row["user_id"], validation_share=config.curate.validation_share, seed=config.curate.seed)
        assert row["outcome"] == "accepted" and row["teacher_source"] is None
    # a function of silver: rebuilding gives the same rows
    build_accepted_only(spark, lakehouse, config)
    assert sorted(r["sample_id"] for r in lakehouse.read(SFT_ACCEPTED_ONLY).collect()) == sorted(r["sample_id"] for r in got.values())
