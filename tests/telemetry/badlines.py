"""A landing file mixing valid events with every kind of bad line, each with its expected reason."""

from __future__ import annotations

import json

VALID = [
    {"event_id": "v1", "type": "session_start", "ts": "2024-05-01T10:00:00+02:00", "session_id": "s1",
     "seq": 1, "user_id": "u1", "client": {"name": "t", "version": "1"}, "position_encoding": "utf-16"},
    {"event_id": "v2", "type": "doc_open", "ts": 1714550401000, "session_id": "s1", "seq": 2,
     "doc_id": "d1", "language": "python", "version": 1, "text": "héllo 😀\n"},
    {"event_id": "v3", "type": "doc_change", "ts": "2024-05-01T08:00:02Z", "session_id": "s1", "seq": 3,
     "doc_id": "d1", "version": 2, "changes": [{"offset": 0, "length": 0, "text": "x"}], "future_field": {"a": 1}},
    {"event_id": "v4", "type": "completion_request", "ts": "2024-05-01T08:00:03Z", "session_id": "s1",
     "doc_id": "d1", "request_id": "r1", "offset": 1, "prefix": "x", "trigger": "auto"},
]

# (raw line, expected reason)
BAD = [
    (b"", "empty_line"),
    (b"   ", "empty_line"),
    (b'{"event_id": "b1", "type": "cursor"', "invalid_json"),
    (b"not json at all", "invalid_json"),
    (b'{"event_id": "b2", "type": "session_end", "ts": 1, "session_id": "\xff\xfe"}', "invalid_utf8"),
    (b"[1, 2, 3]", "not_an_object"),
    (b'"just a string"', "not_an_object"),
    (b'{"event_id": "b3", "type": "session_end", "ts": 1714550400000, "session_id": "s", "x": '
     + b"[" * 70 + b"1" + b"]" * 70 + b"}", "too_deep"),
    (b"[" * 100_000 + b"]" * 100_000, "too_deep"),
    (json.dumps({"type": "session_end", "ts": 1714550400000, "session_id": "s"}).encode(), "missing_field"),
    (json.dumps({"event_id": "b4", "type": "session_end", "ts": 1714550400000}).encode(), "missing_field"),
    (json.dumps({"event_id": "b5", "type": "cursor", "ts": 1714550400000, "session_id": "s"}).encode(), "missing_field"),
    (json.dumps({"event_id": "b6", "type": "doc_change", "ts": 1714550400000, "session_id": "s", "doc_id": "d"}).encode(), "missing_field"),
    (json.dumps({"event_id": "b7", "type": "cursor", "ts": 1714550400000, "session_id": "s", "doc_id": "d", "offset": "12"}).encode(), "wrong_type"),
    (json.dumps({"event_id": "b8", "type": "session_end", "ts": 1714550400000, "session_id": 42}).encode(), "wrong_type"),
    (json.dumps({"event_id": "b9", "type": "session_end", "ts": True, "session_id": "s"}).encode(), "wrong_type"),
    (json.dumps({"event_id": "b10", "type": "doc_change", "ts": 1714550400000, "session_id": "s", "doc_id": "d", "changes": "oops"}).encode(), "wrong_type"),
    (json.dumps({"event_id": "b11", "type": "cursor", "ts": 1714550400000, "session_id": "s", "doc_id": "d", "offset": -3}).encode(), "invalid_value"),
    (json.dumps({"event_id": "b12", "type": "session_start", "ts": "yesterday", "session_id": "s"}).encode(), "invalid_value"),
    (json.dumps({"event_id": "b13", "type": "session_start", "ts": "2024-05-01T10:00:00", "session_id": "s"}).encode(), "invalid_value"),
    (json.dumps({"event_id": "b14", "type": "session_start", "ts": 1714550400000, "session_id": "s", "position_encoding": "ebcdic"}).encode(), "invalid_value"),
    (json.dumps({"event_id": "b15", "type": "telemetry_ping", "ts": 1714550400000, "session_id": "s"}).encode(), "unknown_type"),
    (json.dumps({"event_id": "b16", "type": "session_end", "ts": 86400000, "session_id": "s"}).encode(), "ts_out_of_range"),
    (json.dumps({"event_id": "b17", "type": "session_end", "ts": "2999-01-01T00:00:00Z", "session_id": "s"}).encode(), "ts_out_of_range"),
    (b'{"event_id": "b18", "type": "session_end", "ts": 1714550400000, "session_id": "\\ud800"}', "invalid_value"),
]


def mixed_file(truncated_tail: bool = True) -> tuple[bytes, dict[str, int]]:
    """File bytes, and the expected quarantine count per reason (a cut last line included)."""
    lines = [json.dumps(e, ensure_ascii=False).encode() for e in VALID[:2]]
    lines += [raw for raw, _ in BAD]
    lines += [json.dumps(e, ensure_ascii=False).encode() for e in VALID[2:]]
    expected: dict[str, int] = {}
    for _, reason in BAD:
        expected[reason] = expected.get(reason, 0) + 1
    data = b"\n".join(lines) + b"\n"
    if truncated_tail:
        data += b'{"event_id": "cut", "type": "session_e'
        expected["truncated_line"] = 1
    return data, expected
