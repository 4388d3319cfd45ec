"""`track_document`: one (session, document) group of bronze events in, its completion rows out.

Every request becomes exactly one `CompletionRecord`, whatever happens to its document; every
completion event that cannot be tied to one request becomes an `OrphanRecord` with a reason.
A document whose edit telemetry does not fit (a change beyond its end, a request before it
was opened) is skipped as a whole: its requests keep their rows, with C_N unknown and the
reason attached, because a partly applied document could give a confidently wrong C_N.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from echo_spark.config import LifecycleConfig
from echo_spark.lifecycle.edit_tracker import DocumentSkipped, EditTracker
from echo_spark.lifecycle.events import SessionFacts, TrackerEvent, ordered_events
from echo_spark.lifecycle.gap_lifecycle import GapLifecycle, RequestSlot
from echo_spark.lifecycle.outcome import edit_distance, surviving_share, verdict_of
from echo_spark.lifecycle.records import CompletionRecord, DocumentResult, OrphanRecord
from echo_spark.lifecycle.window_tracker import WindowTracker
from echo_spark.telemetry.spec import POSITION_ENCODINGS

_VERDICT_TYPES = frozenset({"completion_shown", "completion_accept", "completion_reject"})
_EDIT_TYPES = frozenset({"doc_open", "doc_change"})
_US_PER_S = 1_000_000


def _orphan(event: TrackerEvent, session: SessionFacts, reason: str) -> OrphanRecord:
    return OrphanRecord(
        event_id=event.event_id,
        session_id=session.session_id,
        doc_id=event.doc_id,
        request_id=event.request_id,
        type=event.type,
        ts=event.ts_us,
        reason=reason,
    )


def _slots(
    events: list[TrackerEvent], session: SessionFacts, config: LifecycleConfig, edit_mode: bool
) -> tuple[dict[str, RequestSlot], list[OrphanRecord]]:
    """Pair each request with its shown/verdict events; a repeated request id or a verdict without request is an orphan."""
    requests: dict[str, TrackerEvent] = {}
    orphans: list[OrphanRecord] = []
    for event in events:
        if event.type != "completion_request":
            continue
        if event.request_id is None or event.request_id in requests:
            orphans.append(_orphan(event, session, "duplicate_request" if event.request_id else "no_request_id"))
        else:
            requests[event.request_id] = event
    shown: dict[str, list[TrackerEvent]] = {rid: [] for rid in requests}
    verdicts: dict[str, list[TrackerEvent]] = {rid: [] for rid in requests}
    for event in events:
        if event.type not in _VERDICT_TYPES:
            continue
        if event.request_id not in requests:
            orphans.append(_orphan(event, session, "no_request"))
        elif event.type == "completion_shown":
            shown[event.request_id].append(event)
        else:
            verdicts[event.request_id].append(event)
    slots: dict[str, RequestSlot] = {}
    for rid, request in requests.items():
        lifecycle = GapLifecycle(
            request_ts=request.ts_us,
            left_region_us=round(config.left_region_s * _US_PER_S),
            max_lifetime_us=round(config.max_lifetime_s * _US_PER_S),
            repair_us=round(config.anchor_repair_s * _US_PER_S),
            # Only edit telemetry times every keystroke (burst.py).
            burst_pause_us=None if not edit_mode or config.burst_pause_s is None else round(config.burst_pause_s * _US_PER_S),
        )
        mode = "edits" if edit_mode else ("requests" if request.suffix is not None else "prefix_only")
        verdict = verdict_of(shown[rid], verdicts[rid], session.position_encoding)
        slots[rid] = RequestSlot(request, verdict, lifecycle, mode, request.prefix, request.suffix, session.position_encoding)
    return slots, orphans


def _record(slot: RequestSlot, session: SessionFacts, language: str | None, skipped: str | None) -> CompletionRecord:
    request, verdict, life = slot.event, slot.verdict, slot.lifecycle
    committed = None if skipped else life.committed
    # C1 metrics compare what the proposal put at the cursor (a head it repeats of the prefix is no part of it).
    proposal = slot.proposal_at_cursor()
    accepted = verdict.accepted_text is not None and not skipped

    def retention(age: int) -> float | None:
        return life.retention.get(age) if accepted else None

    finalize_ts = None if skipped else life.finalize_ts
    # The uncertainty columns: server logs only, where C_N is known.
    unsure = None if committed is None or slot.tracking_mode == "edits" else committed
    # The trackers finalize every request they start, and they start every request of the document.
    assert skipped or life.finalize_reason is not None
    return CompletionRecord(
        request_id=request.request_id or "",
        session_id=session.session_id,
        user_id=session.user_id or request.user_id,
        doc_id=request.doc_id,
        language=request.language or language,
        request_ts=request.ts_us,
        prefix=slot.prefix,
        suffix=slot.suffix,
        proposal=verdict.proposal,
        model=verdict.model,
        outcome=verdict.outcome,
        accepted_length=verdict.accepted_length,
        committed=committed,
        committed_observed=None if committed is None else life.committed_observed,
        gap_open_at_last_sighting=None if unsure is None else life.open_at_last_sighting,
        max_silence_s=None if unsure is None or life.max_silence_us is None else life.max_silence_us / _US_PER_S,
        committed_previous=None if unsure is None else life.previous_gap,
        anchor_choice=None if unsure is None else life.anchor_choice,
        is_void=None if committed is None else committed == "",
        finalize_reason="document_skipped" if skipped else str(life.finalize_reason),
        finalize_ts=finalize_ts,
        gap_lifetime_ms=None if finalize_ts is None else (finalize_ts - request.ts_us) // 1000,
        c1_edit_distance=None if committed is None or proposal is None else edit_distance(proposal, committed),
        c1_survival=None if committed is None or proposal is None else surviving_share(proposal, committed),
        retention_30s=retention(30),
        retention_2m=retention(120),
        retention_5m=retention(300),
        retention_10m=retention(600),
        kept_at_first_check=life.kept_at_first_check if accepted else None,
        tracking_mode=slot.tracking_mode,
        trigger=request.trigger,
        request_event_id=request.event_id,
        event_ids=[request.event_id, *verdict.event_ids, *([] if skipped else life.event_ids)],
        skipped_reason=skipped,
    )


def track_document(
    events: Iterable[Mapping[str, Any] | TrackerEvent], session: SessionFacts, config: LifecycleConfig
) -> DocumentResult:
    """Track every completion request of one document of one session.

    `events` are the bronze rows of the group in any order, duplicates allowed; session-level
    events among them are ignored (the session's facts come in `session`). The document is
    followed through its edits when it has edit telemetry (doc_open/doc_change), else through
    the windows of its later requests.
    """
    if session.position_encoding not in POSITION_ENCODINGS:
        raise ValueError(f"unknown position encoding {session.position_encoding!r}")
    ordered = [e for e in ordered_events(events) if e.type not in {"session_start", "session_end"}]
    edit_mode = any(e.type in _EDIT_TYPES for e in ordered)
    slots, orphans = _slots(ordered, session, config, edit_mode)
    skipped: str | None = None
    if edit_mode:
        try:
            EditTracker(slots, session.position_encoding, config).run(ordered, session.session_end_us)
        except DocumentSkipped as err:
            skipped = err.reason
    else:
        WindowTracker(slots, config).run(ordered, session.session_end_us)
    language = next((e.language for e in ordered if e.language), None)
    completions = [_record(slot, session, language, skipped) for slot in slots.values()]
    return DocumentResult(completions=completions, orphans=orphans, skipped_reason=skipped)
