"""One landing line -> a typed bronze event, or a quarantine verdict with a machine-readable reason.

Pure Python so that the contract is tested without Spark and shared by every engine. A verdict's
`detail` names a field or a limit, never content: it ends up in logs and summaries.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

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
    max_json_depth: int
    min_ts_ms: int
    max_ts_ms: int


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
