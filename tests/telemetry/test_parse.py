import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from echo_spark.telemetry.parse import ParseLimits, Quarantined, parse_line

from .badlines import BAD, VALID

LIMITS = ParseLimits(max_json_depth=64, min_ts_ms=946_684_800_000, max_ts_ms=4_102_444_800_000)


@pytest.mark.parametrize("raw,reason", BAD, ids=[f"{r}-{i}" for i, (_, r) in enumerate(BAD)])
def test_each_bad_line_gets_its_reason(raw, reason):
    verdict = parse_line(raw, True, LIMITS)
    assert isinstance(verdict, Quarantined)
    assert verdict.reason == reason


def test_a_cut_last_line_is_truncated_not_invalid():
    verdict = parse_line(b'{"event_id": "x", "ty', False, LIMITS)
    assert verdict == Quarantined("truncated_line", verdict.detail)


def test_quarantine_keeps_the_event_id_when_readable():
    verdict = parse_line(json.dumps({"event_id": "e9", "type": "nope", "ts": 1, "session_id": "s"}).encode(), True, LIMITS)
    assert verdict.event_id == "e9" and verdict.reason == "unknown_type"


def test_valid_events_are_typed():
    rows = [parse_line(json.dumps(e, ensure_ascii=False).encode(), True, LIMITS) for e in VALID]
    start, opened, change, request = rows
    assert start["client_name"] == "t" and start["position_encoding"] == "utf-16"
    # RFC 3339 with an offset and epoch millis land on the same UTC axis (micros).
    assert start["ts"] == 1714550400000 * 1000
    assert opened["ts"] == 1714550401000 * 1000
    assert opened["text"] == "héllo 😀\n"
    assert change["changes"] == [{"offset": 0, "length": 0, "text": "x"}]
    assert json.loads(change["extra"]) == {"future_field": {"a": 1}}
    assert request["suffix"] is None and request["prefix"] == "x"
    assert start["extra"] is None


def test_event_hash_depends_on_content_not_key_order():
    a = parse_line(b'{"event_id":"e","type":"session_end","ts":1714550400000,"session_id":"s"}', True, LIMITS)
    b = parse_line(b'{"session_id":"s","ts":1714550400000,"type":"session_end","event_id":"e"}', True, LIMITS)
    c = parse_line(b'{"session_id":"s2","ts":1714550400000,"type":"session_end","event_id":"e"}', True, LIMITS)
    assert a["event_hash"] == b["event_hash"] != c["event_hash"]


def test_integral_floats_are_ints_and_fractions_are_not():
    ok = parse_line(b'{"event_id":"e","type":"cursor","ts":1714550400000.0,"session_id":"s","doc_id":"d","offset":3.0}', True, LIMITS)
    assert ok["offset"] == 3
    bad = parse_line(b'{"event_id":"e","type":"cursor","ts":1714550400000,"session_id":"s","doc_id":"d","offset":3.5}', True, LIMITS)
    assert bad.reason == "wrong_type"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_no_bytes_crash_the_parser(data):
    result = parse_line(data, True, LIMITS)
    assert isinstance(result, (dict, Quarantined))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["event_id", "type", "ts", "session_id", "doc_id", "offset", "changes",
                                         "text", "request_id", "client", "seq", "zzz"]), json_values))
def test_arbitrary_objects_are_typed_or_quarantined(obj):
    result = parse_line(json.dumps(obj).encode(), True, LIMITS)
    if isinstance(result, dict):
        assert isinstance(result["event_id"], str) and isinstance(result["ts"], int)
    else:
        assert result.reason
