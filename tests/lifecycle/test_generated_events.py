"""Hypothesis-generated event streams, sane or not, through the tracker: it never crashes,
every request comes out exactly once, every verdict is tied to its request or orphaned, and a
document it cannot replay is skipped with a reason rather than guessed."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from echo_spark.config import LifecycleConfig
from echo_spark.lifecycle import SessionFacts, track_document

T0_US = 1_714_550_400_000_000
REQUEST_IDS = ["r1", "r2", "r3", "r4"]
# Text with the characters that break position mapping: CRLF, combining marks, astral emoji.
_TEXT = st.lists(st.sampled_from(list("ab (=:.\n\r\tx_") + ["é", "e\u0301", "字", "😀"]), max_size=12).map("".join)
_OFFSET = st.integers(min_value=-3, max_value=60)


def _event(kind: str, draw) -> dict:
    if kind == "doc_open":
        return {"type": kind, "version": 1, "text": draw(_TEXT)}
    if kind == "doc_change":
        if draw(st.booleans()):
            return {"type": kind, "text": draw(_TEXT)}
        changes = draw(st.lists(st.fixed_dictionaries({"offset": _OFFSET, "length": st.integers(-1, 8), "text": _TEXT}),
                                min_size=1, max_size=3))
        return {"type": kind, "changes": changes}
    if kind == "cursor":
        return {"type": kind, "offset": draw(_OFFSET)}
    if kind == "completion_request":
        return {"type": kind, "request_id": draw(st.sampled_from(REQUEST_IDS)), "offset": draw(_OFFSET),
                "prefix": draw(st.none() | _TEXT), "suffix": draw(st.none() | _TEXT)}
    if kind == "completion_shown":
        return {"type": kind, "request_id": draw(st.sampled_from(REQUEST_IDS + ["ghost"])), "text": draw(_TEXT)}
    if kind == "completion_accept":
        return {"type": kind, "request_id": draw(st.sampled_from(REQUEST_IDS + ["ghost"])),
                "accepted_length": draw(st.none() | st.integers(-1, 20))}
    if kind == "completion_reject":
        return {"type": kind, "request_id": draw(st.sampled_from(REQUEST_IDS + ["ghost"]))}
    return {"type": kind}


@st.composite
def document_events(draw) -> list[dict]:
    kinds = st.sampled_from(["doc_open", "doc_change", "doc_change", "cursor", "completion_request", "completion_shown",
                             "completion_accept", "completion_reject", "doc_save", "doc_close"])
    events = []
    for i, kind in enumerate(draw(st.lists(kinds, min_size=1, max_size=25))):
        event = _event(kind, draw)
        event.update(event_id=f"e{i}", session_id="s", doc_id="d", user_id="u",
                     ts=T0_US + draw(st.integers(-5_000_000, 900_000_000)),  # skewed and out of order
                     seq=draw(st.none() | st.integers(0, 30)))
        events.append(event)
    # At-least-once delivery: some events arrive twice.
    return events + draw(st.lists(st.sampled_from(events), max_size=3))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=document_events(), encoding=st.sampled_from(["utf-16", "utf-8", "utf-32"]))
def test_any_event_stream_is_accounted_for(events, encoding) -> None:
    result = track_document(events, SessionFacts("s", "u", encoding, None), LifecycleConfig())

    requested = {e["request_id"] for e in events if e["type"] == "completion_request"}
    assert sorted(c.request_id for c in result.completions) == sorted(requested)
    for record in result.completions:
        assert record.finalize_reason is not None
        if result.skipped_reason is not None:
            assert record.committed is None and record.skipped_reason == result.skipped_reason
        assert (record.committed == "") == bool(record.is_void) or record.committed is None
    orphaned = {o.event_id for o in result.orphans}
    for event in events:
        if event["type"] in {"completion_shown", "completion_accept", "completion_reject"} and event["request_id"] not in requested:
            assert event["event_id"] in orphaned
