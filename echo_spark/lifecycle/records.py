"""What the tracker hands back to the Spark job: one row per request, one per orphan event.

Plain dataclasses of Python scalars, lists and None, so the caller can turn them into a
DataFrame (dataclasses.asdict) without knowing anything about the tracker.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CompletionRecord:
    """One completion request from context (C0) through proposal (C1) to what the user committed (C_N)."""

    request_id: str
    session_id: str
    user_id: str | None
    doc_id: str | None
    language: str | None
    request_ts: int  # epoch microseconds
    prefix: str | None  # C0 as the model saw it (derived from the document in edit mode if not logged)
    suffix: str | None
    proposal: str | None  # C1, from the last completion_shown; None if never shown
    model: str | None
    outcome: str  # accepted | partial | rejected | ignored
    accepted_length: int | None  # accepted characters of C1 (code points)
    committed: str | None  # C_N; "" = void (the user left the gap empty); None = unknown
    # True: an event after the request showed the gap holding C_N. False: C_N is the accepted text,
    # which no later window showed (server logs; unverified). None when C_N is unknown.
    committed_observed: bool | None
    # Server logs only (None with edit telemetry or when C_N is unknown): how sure C_N is.
    gap_open_at_last_sighting: bool | None  # the sighting giving C_N found the cursor in a gap still changing
    max_silence_s: float | None  # longest time between log events that could show the gap while it was open
    committed_previous: str | None  # the gap at the sighting before ("" = the request itself)
    anchor_choice: str | None  # unique | offsets | cursor | last_before_cursor | first | accept
    is_void: bool | None
    finalize_reason: str
    finalize_ts: int | None  # epoch microseconds; when C_N was fixed
    gap_lifetime_ms: int | None
    c1_edit_distance: int | None  # Levenshtein C1 -> C_N
    c1_survival: float | None  # share of C1 still in C_N, 0..1
    retention_30s: float | None  # share of the accepted text still in the gap at that age
    retention_2m: float | None
    retention_5m: float | None
    retention_10m: float | None
    kept_at_first_check: bool | None
    tracking_mode: str  # edits | requests | prefix_only
    trigger: str | None
    request_event_id: str
    event_ids: list[str] = field(default_factory=list)  # provenance: request, shown, verdict, gap edits/windows
    skipped_reason: str | None = None  # why the whole document could not be tracked


@dataclass(frozen=True)
class OrphanRecord:
    """A completion event that belongs to no trackable request."""

    event_id: str
    session_id: str
    doc_id: str | None
    request_id: str | None
    type: str
    ts: int  # epoch microseconds
    reason: str  # no_request | duplicate_request


@dataclass(frozen=True)
class DocumentResult:
    """Everything the tracker learned from one (session, document) group."""

    completions: list[CompletionRecord]
    orphans: list[OrphanRecord]
    skipped_reason: str | None = None
