"""Broken telemetry through ingest and lifecycle: no job crashes, every line ends in bronze or
quarantine, every request in silver, and documents whose edits cannot be applied are skipped
with a reason instead of guessed."""

import json

import pytest
from pyspark.sql import functions as F

from echo_spark.ingest.job import ingest
from echo_spark.lifecycle.job import lifecycle
from echo_spark.tables import COMPLETIONS, EVENTS, QUARANTINE

from .telemetry.badlines import mixed_file

T0 = 1_714_550_400_000


def _events(session: str, events: list[dict]) -> list[dict]:
    for seq, event in enumerate(events, start=1):
        event.setdefault("event_id", f"{session}-e{seq}")
        event.update(session_id=session, seq=seq, ts=event.get("ts", T0 + seq * 1000), user_id="u")
    return events


def _request(rid: str, offset: int) -> list[dict]:
    return [
        {"type": "completion_request", "doc_id": "d", "request_id": rid, "offset": offset},
        {"type": "completion_shown", "doc_id": "d", "request_id": rid, "text": "x", "model": "m"},
        {"type": "completion_reject", "doc_id": "d", "request_id": rid, "reason": "dismissed"},
    ]


def broken_sessions() -> dict[str, list[dict]]:
    return {
        # A change far past the end of the document.
        "s-misfit": _events("s-misfit", [
            {"type": "doc_open", "doc_id": "d", "version": 1, "text": "abc\n"},
            *_request("misfit-r1", 3),
            {"type": "doc_change", "doc_id": "d", "version": 2, "changes": [{"offset": 500, "length": 2, "text": "z"}]},
        ]),
        # Edits to a document that was never opened, then a request in it.
        "s-unknown-doc": _events("s-unknown-doc", [
            {"type": "doc_change", "doc_id": "d", "version": 2, "changes": [{"offset": 0, "length": 0, "text": "q"}]},
            *_request("unknown-r1", 1),
        ]),
        # A request before doc_open, with an offset beyond the text opened later.
        "s-early": _events("s-early", [
            *_request("early-r1", 40),
            {"type": "doc_open", "doc_id": "d", "version": 1, "text": "short\n"},
        ]),
        # A 50 MB document: ingested as any other.
        "s-huge": _events("s-huge", [
            {"type": "doc_open", "doc_id": "d", "version": 1, "text": "x" * (50 * 1024 * 1024)},
            *_request("huge-r1", 10),
            {"type": "doc_close", "doc_id": "d", "version": 1},
        ]),
    }


@pytest.mark.sail_only
def test_broken_telemetry_is_accounted_for_end_to_end(spark, lakehouse, config, landing):
    sessions = broken_sessions()
    lines = [json.dumps(e).encode() for events in sessions.values() for e in events]
    # Duplicate id with other content, and the bad-line corpus with every quarantine reason.
    dup = dict(sessions["s-misfit"][0], text="other content")
    bad, expected_reasons = mixed_file()
    landing.write("broken.jsonl", b"\n".join(lines + [json.dumps(dup).encode()]) + b"\n")
    landing.write("bad.jsonl", bad)

    ingested = ingest(spark, lakehouse, config, str(landing.root))
    assert ingested["lines_read"] == ingested["inserted"] + ingested["duplicates"] + ingested["quarantined"]
    assert ingested["duplicates_conflicting"] == 1
    assert ingested["quarantined_by_reason"] == expected_reasons
    assert lakehouse.read(EVENTS).count() + lakehouse.read(QUARANTINE).count() + ingested["duplicates"] == ingested["lines_read"]

    tracked = lifecycle(spark, lakehouse, config)

    assert tracked["requests_unaccounted"] == 0
    silver = {r["request_id"]: r for r in lakehouse.read(COMPLETIONS).collect()}
    for rid in ("misfit-r1", "unknown-r1", "early-r1", "huge-r1"):
        assert rid in silver
    # Whatever cannot be replayed is skipped with a reason, never given a guessed C_N.
    expected_skips = {"misfit-r1": "change_does_not_fit", "unknown-r1": "change_before_open",
                      "early-r1": "request_before_open"}
    for rid, reason in expected_skips.items():
        row = silver[rid]
        assert (row["committed"], row["finalize_reason"], row["skipped_reason"]) == (None, "document_skipped", reason)
    assert silver["huge-r1"]["skipped_reason"] is None
    assert lakehouse.read(COMPLETIONS).filter(F.col("finalize_reason").isNull()).count() == 0
