"""One landing line -> a typed bronze event, or a quarantine verdict with a machine-readable reason.

Pure Python so that the contract is tested without Spark and shared by every engine. A verdict's
`detail` names a field or a limit, never content: it ends up in logs and summaries.

Two paths give one answer. The fast path decodes with msgspec (C: the line, then the known fields
into a typed struct whose constraints are the spec's) and encodes the canonical JSON with it; it
takes only lines it can vouch for. Anything it cannot (a bad line, an integral float where an int
belongs, a float anywhere, since msgspec spells exponents differently from `json`) goes to the
reference path, which decides every verdict and its detail as before. A test holds the two equal
on every line of the test corpus and on fuzzed objects.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

import msgspec

from .spec import (
    COMMON_REQUIRED,
    EVENT_TYPES,
    INT_FIELDS,
    KNOWN_FIELDS,
    POSITION_ENCODINGS,
    REQUIRED_BY_TYPE,
    STRING_FIELDS,
)

INT64_MAX = 2**63 - 1

# Reason codes of the quarantine table.
EMPTY_LINE = "empty_line"
INVALID_UTF8 = "invalid_utf8"
INVALID_JSON = "invalid_json"
TRUNCATED_LINE = "truncated_line"
TOO_DEEP = "too_deep"
NOT_AN_OBJECT = "not_an_object"
MISSING_FIELD = "missing_field"
WRONG_TYPE = "wrong_type"
INVALID_VALUE = "invalid_value"
UNKNOWN_TYPE = "unknown_type"
TS_OUT_OF_RANGE = "ts_out_of_range"
UNREADABLE_FILE = "unreadable_file"


@dataclass(frozen=True)
class ParseLimits:
    """The parser's limits, fixed once per run so every worker (and the collector, and the
    importers) judges the same way."""

    max_json_depth: int
    min_ts_ms: int
    max_ts_ms: int

    @classmethod
    def for_run(cls, max_json_depth: int, min_ts: str, max_future_skew_hours: float, now: datetime) -> "ParseLimits":
        floor = datetime.fromisoformat(min_ts)
        if floor.tzinfo is None:
            floor = floor.replace(tzinfo=timezone.utc)
        ceiling = now + timedelta(hours=max_future_skew_hours)
        return cls(max_json_depth, int(floor.timestamp() * 1000), int(ceiling.timestamp() * 1000))


@dataclass(frozen=True)
class Quarantined:
    reason: str
    detail: str | None = None
    event_id: str | None = None


class _Reject(Exception):
    def __init__(self, reason: str, detail: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def parse_line(data: bytes, complete: bool, limits: ParseLimits) -> dict[str, Any] | Quarantined:
    """Bronze row (column name -> value, `ts` as epoch microseconds) or why not."""
    row = _fast_event(data, limits)
    return row if row is not None else reference_parse_line(data, complete, limits)


def reference_parse_line(data: bytes, complete: bool, limits: ParseLimits) -> dict[str, Any] | Quarantined:
    """`parse_line` by the reference path alone: stdlib `json` and explicit checks."""
    if not data.strip():
        return Quarantined(EMPTY_LINE)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        return Quarantined(INVALID_UTF8, f"byte {err.start}")
    try:
        obj = json.loads(text)
    except RecursionError:
        return Quarantined(TOO_DEEP, f"max depth {limits.max_json_depth}")
    except ValueError as err:
        reason = INVALID_JSON if complete else TRUNCATED_LINE
        return Quarantined(reason, f"{type(err).__name__} at char {getattr(err, 'pos', '?')}")
    if not isinstance(obj, dict):
        return Quarantined(NOT_AN_OBJECT, type(obj).__name__)
    event_id = obj.get("event_id") if isinstance(obj.get("event_id"), str) else None
    try:
        return _typed_event(obj, limits)
    except _Reject as rej:
        return Quarantined(rej.reason, rej.detail, event_id)


def _depth(obj: Any) -> int:
    deepest, stack = 0, [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return deepest


def _present(obj: dict[str, Any], name: str) -> bool:
    return obj.get(name) is not None


def _typed_event(obj: dict[str, Any], limits: ParseLimits) -> dict[str, Any]:
    for name in ("event_id", "type"):
        if not _present(obj, name):
            raise _Reject(MISSING_FIELD, name)
    if not isinstance(obj["type"], str):
        raise _Reject(WRONG_TYPE, "type")
    etype = obj["type"]
    if etype not in EVENT_TYPES:
        raise _Reject(UNKNOWN_TYPE, etype[:64])
    for name in COMMON_REQUIRED + REQUIRED_BY_TYPE[etype]:
        if not _present(obj, name):
            raise _Reject(MISSING_FIELD, name)
    if etype == "doc_change" and not (_present(obj, "changes") or _present(obj, "text")):
        raise _Reject(MISSING_FIELD, "changes")

    row: dict[str, Any] = {}
    for name in STRING_FIELDS:
        value = obj.get(name)
        if value is not None and not isinstance(value, str):
            raise _Reject(WRONG_TYPE, name)
        row[name] = value
    for name, non_negative in INT_FIELDS.items():
        row[name] = _int_field(obj, name, non_negative)
    if row["position_encoding"] is not None and row["position_encoding"] not in POSITION_ENCODINGS:
        raise _Reject(INVALID_VALUE, "position_encoding")

    row["ts"] = _ts_micros(obj["ts"], limits)
    row["client_name"], row["client_version"] = _client(obj.get("client"))
    row["changes"] = _changes(obj.get("changes"))

    extra = {k: v for k, v in obj.items() if k not in KNOWN_FIELDS}
    # Known fields are flat by contract (their types are checked above); only unknown ones can nest.
    if extra and 1 + _depth(extra) > limits.max_json_depth:
        raise _Reject(TOO_DEEP, f"max depth {limits.max_json_depth}")
    try:
        canonical = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        canonical_bytes = canonical.encode("utf-8")
    except UnicodeEncodeError:
        raise _Reject(INVALID_VALUE, "lone surrogate in a string") from None
    row["extra"] = json.dumps(extra, sort_keys=True, ensure_ascii=False) if extra else None
    row["event_hash"] = hashlib.sha256(canonical_bytes).hexdigest()
    return row


def _as_int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise _Reject(WRONG_TYPE, name)
    if isinstance(value, float):
        if not value.is_integer():
            raise _Reject(WRONG_TYPE, name)
        value = int(value)
    if not isinstance(value, int):
        raise _Reject(WRONG_TYPE, name)
    if abs(value) > INT64_MAX:
        raise _Reject(INVALID_VALUE, name)
    return value


def _int_field(obj: dict[str, Any], name: str, non_negative: bool) -> int | None:
    value = obj.get(name)
    if value is None:
        return None
    number = _as_int(value, name)
    if non_negative and number < 0:
        raise _Reject(INVALID_VALUE, name)
    return number


def _ts_micros(value: Any, limits: ParseLimits) -> int:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise _Reject(INVALID_VALUE, "ts") from None
        if parsed.tzinfo is None:
            raise _Reject(INVALID_VALUE, "ts without UTC offset")
        delta = parsed - datetime(1970, 1, 1, tzinfo=timezone.utc)
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    else:
        millis = _as_int(value, "ts")
        micros = millis * 1000
    if not limits.min_ts_ms * 1000 <= micros <= limits.max_ts_ms * 1000:
        raise _Reject(TS_OUT_OF_RANGE, "ts")
    return micros


def _client(value: Any) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    if not isinstance(value, dict):
        raise _Reject(WRONG_TYPE, "client")
    name, version = value.get("name"), value.get("version")
    if name is not None and not isinstance(name, str):
        raise _Reject(WRONG_TYPE, "client.name")
    if version is not None and not isinstance(version, str):
        raise _Reject(WRONG_TYPE, "client.version")
    return name, version


def _changes(value: Any) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise _Reject(WRONG_TYPE, "changes")
    out = []
    for change in value:
        if not isinstance(change, dict):
            raise _Reject(WRONG_TYPE, "changes[]")
        for key in ("offset", "length", "text"):
            if change.get(key) is None:
                raise _Reject(MISSING_FIELD, f"changes[].{key}")
        if not isinstance(change["text"], str):
            raise _Reject(WRONG_TYPE, "changes[].text")
        offset, length = _as_int(change["offset"], "changes[].offset"), _as_int(change["length"], "changes[].length")
        if offset < 0 or length < 0:
            raise _Reject(INVALID_VALUE, "changes[].offset" if offset < 0 else "changes[].length")
        out.append({"offset": offset, "length": length, "text": change["text"]})
    return out


# The fast path. Known fields typed as the reference path checks them: strings, 64-bit integers
# (non-negative where INT_FIELDS says so), `ts` as an integer or a string, `client` and `changes`.
_Int64 = Annotated[int, msgspec.Meta(ge=-INT64_MAX, le=INT64_MAX)]
_NonNegative = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]


class _Client(msgspec.Struct):
    name: str | None = None
    version: str | None = None


class _Change(msgspec.Struct):
    offset: _NonNegative
    length: _NonNegative
    text: str


_KnownFields = msgspec.defstruct(
    "_KnownFields",
    [(name, str | None, None) for name in STRING_FIELDS]
    + [(name, (_NonNegative if non_negative else _Int64) | None, None) for name, non_negative in INT_FIELDS.items()]
    + [("ts", _Int64 | str | None, None), ("client", _Client | None, None), ("changes", list[_Change] | None, None)],
)
_float_seen = threading.local()


def _note_float(literal: str) -> float:
    _float_seen.value = True
    return float(literal)


_DECODER = msgspec.json.Decoder(float_hook=_note_float)
_CANONICAL = msgspec.json.Encoder(order="sorted")


def _fast_event(data: bytes, limits: ParseLimits) -> dict[str, Any] | None:
    """The bronze row of a line the fast path can vouch for, else None (the reference path decides)."""
    _float_seen.value = False
    try:
        obj = _DECODER.decode(data)
        if _float_seen.value or not isinstance(obj, dict):
            return None
        known = msgspec.convert(obj, _KnownFields)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    etype = known.type
    if known.event_id is None or etype not in EVENT_TYPES:
        return None
    for name in COMMON_REQUIRED + REQUIRED_BY_TYPE[etype]:
        if getattr(known, name) is None:
            return None
    if etype == "doc_change" and known.changes is None and known.text is None:
        return None
    if known.position_encoding is not None and known.position_encoding not in POSITION_ENCODINGS:
        return None
    try:
        ts = _ts_micros(known.ts, limits)
    except _Reject:
        return None
    row: dict[str, Any] = {name: getattr(known, name) for name in STRING_FIELDS}
    for name in INT_FIELDS:
        row[name] = getattr(known, name)
    row["ts"] = ts
    client = known.client
    row["client_name"], row["client_version"] = (None, None) if client is None else (client.name, client.version)
    row["changes"] = None if known.changes is None else [
        {"offset": c.offset, "length": c.length, "text": c.text} for c in known.changes
    ]
    extra = {k: v for k, v in obj.items() if k not in KNOWN_FIELDS}
    if extra and 1 + _depth(extra) > limits.max_json_depth:
        return None
    row["extra"] = json.dumps(extra, sort_keys=True, ensure_ascii=False) if extra else None
    row["event_hash"] = hashlib.sha256(_CANONICAL.encode(obj)).hexdigest()
    return row
