"""Bronze rows -> `TrackerEvent`s the tracker can trust, in the order they happened.

Spark hands the tracker rows through pandas or Arrow, so the same column can arrive as a
datetime, a pandas Timestamp, an int, a numpy scalar, NaN for a missing int, or a numpy array
of dicts. Normalizing once here keeps every later module free of those cases.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)

# Tie-break for events that share a timestamp and carry no `seq`: the causal order of one
# completion (request, then shown, then the verdict, then the edit it caused).
_TYPE_RANK = {
    "session_start": 0,
    "doc_open": 1,
    "completion_request": 2,
    "completion_shown": 3,
    "completion_accept": 4,
    "completion_reject": 4,
    "doc_change": 5,
    "cursor": 6,
    "doc_save": 7,
    "doc_close": 8,
    "session_end": 9,
}


@dataclass(frozen=True)
class TextChange:
    """One LSP incremental change: replace `length` units at `offset` by `text`."""

    offset: int
    length: int
    text: str


@dataclass(frozen=True)
class TrackerEvent:
    """The fields of a bronze event the lifecycle needs, with Python types only."""

    event_id: str
    type: str
    ts_us: int
    seq: int | None = None
    session_id: str | None = None
    user_id: str | None = None
    doc_id: str | None = None
    language: str | None = None
    version: int | None = None
    text: str | None = None
    changes: tuple[TextChange, ...] | None = None
    offset: int | None = None
    selection_end: int | None = None
    request_id: str | None = None
    prefix: str | None = None
    suffix: str | None = None
    trigger: str | None = None
    model: str | None = None
    accepted_length: int | None = None
    reason: str | None = None
    replace_start: int | None = None


@dataclass(frozen=True)
class SessionFacts:
    """What the tracker needs from the session-level events, which live outside a document group."""

    session_id: str
    user_id: str | None = None
    position_encoding: str = "utf-16"
    session_end_us: int | None = None


def _is_missing(value: Any) -> bool:
    """None, NaN (pandas fills missing ints with it) and pandas.NA, without importing pandas."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return type(value).__name__ in {"NAType", "NaTType"}


def _field(row: Any, key: str) -> Any:
    """Read a column from a dict, a Spark Row or a pandas Series alike."""
    try:
        value = row[key]
    except (KeyError, IndexError, ValueError):
        return None
    return None if _is_missing(value) else value


def _opt_int(value: Any) -> int | None:
    return None if _is_missing(value) else int(value)


def _opt_str(value: Any) -> str | None:
    return None if _is_missing(value) else str(value)


def to_epoch_us(ts: Any) -> int:
    """Epoch microseconds from a datetime (naive = UTC), a pandas Timestamp, an RFC 3339 string or int micros."""
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    if isinstance(ts, datetime):
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=timezone.utc)
        return (ts - _EPOCH) // _MICROSECOND
    if _is_missing(ts):
        raise ValueError("event without ts")
    return int(ts)


def _changes(value: Any) -> tuple[TextChange, ...] | None:
    if _is_missing(value):
        return None
    return tuple(
        TextChange(offset=int(_field(c, "offset")), length=int(_field(c, "length") or 0), text=str(_field(c, "text") or ""))
        for c in value
    )


def event_from_row(row: Mapping[str, Any]) -> TrackerEvent:
    """One bronze row (dict, Row or Series) as a `TrackerEvent`."""
    return TrackerEvent(
        event_id=str(_field(row, "event_id")),
        type=str(_field(row, "type")),
        ts_us=to_epoch_us(_field(row, "ts")),
        seq=_opt_int(_field(row, "seq")),
        session_id=_opt_str(_field(row, "session_id")),
        user_id=_opt_str(_field(row, "user_id")),
        doc_id=_opt_str(_field(row, "doc_id")),
        language=_opt_str(_field(row, "language")),
        version=_opt_int(_field(row, "version")),
        text=_opt_str(_field(row, "text")),
        changes=_changes(_field(row, "changes")),
        offset=_opt_int(_field(row, "offset")),
        selection_end=_opt_int(_field(row, "selection_end")),
        request_id=_opt_str(_field(row, "request_id")),
        prefix=_opt_str(_field(row, "prefix")),
        suffix=_opt_str(_field(row, "suffix")),
        trigger=_opt_str(_field(row, "trigger")),
        model=_opt_str(_field(row, "model")),
        accepted_length=_opt_int(_field(row, "accepted_length")),
        reason=_opt_str(_field(row, "reason")),
        replace_start=_replace_start(row),
    )


def _replace_start(row: Any) -> int | None:
    """completion_shown.replace_start: a column of its own, or one of bronze's unknown fields (`extra`, JSON)."""
    value = _field(row, "replace_start")
    if value is None:
        extra = _field(row, "extra")
        if extra is None or "replace_start" not in str(extra):
            return None
        try:
            value = json.loads(extra).get("replace_start")
        except (ValueError, AttributeError):
            return None
    if value is None or isinstance(value, (bool, str)):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def ordered_events(rows: Iterable[Mapping[str, Any] | TrackerEvent]) -> list[TrackerEvent]:
    """Deduplicated by event_id (delivery is at-least-once), then in the order they happened.

    The client's `seq` survives clock skew, so it leads when every event has one; a group where
    some events lack it (server and client logs mixed) can only be ordered by time. Ties fall back
    to the causal type rank and then the event id, so the order never depends on arrival.
    """
    seen: set[str] = set()
    events: list[TrackerEvent] = []
    for row in rows:
        event = row if isinstance(row, TrackerEvent) else event_from_row(row)
        if event.event_id in seen:
            continue
        seen.add(event.event_id)
        events.append(event)
    if events and all(e.seq is not None for e in events):
        events.sort(key=lambda e: (e.seq, e.ts_us, _TYPE_RANK.get(e.type, 99), e.event_id))
    else:
        events.sort(key=lambda e: (e.ts_us, _TYPE_RANK.get(e.type, 99), e.event_id))
    return events
