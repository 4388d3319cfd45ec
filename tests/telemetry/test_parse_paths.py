"""The fast (msgspec) and reference (json) parse paths give the same answer on every line."""

import gzip
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from echo_spark.telemetry.parse import ParseLimits, _fast_event, parse_line, reference_parse_line
from echo_spark.telemetry.spec import EVENT_TYPES, INT_FIELDS, STRING_FIELDS

from .badlines import BAD, VALID

LIMITS = ParseLimits(max_json_depth=64, min_ts_ms=946_684_800_000, max_ts_ms=4_102_444_800_000)
REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"


def _same(line: bytes, complete: bool = True) -> None:
    assert parse_line(line, complete, LIMITS) == reference_parse_line(line, complete, LIMITS)


@pytest.mark.parametrize("name", ["cups-copilot-telemetry.jsonl.gz", "tasktracker-cpp-telemetry.jsonl.gz"])
def test_real_telemetry_parses_the_same_by_both_paths_and_mostly_by_the_fast_one(name):
    path = REAL / name
    if not path.is_file():
        pytest.skip(f"{path} is not here")
    with gzip.open(path, "rb") as fh:
        lines = fh.read().splitlines()
    fast = 0
    for line in lines:
        _same(line)
        fast += _fast_event(line, LIMITS) is not None
    valid = sum(isinstance(reference_parse_line(line, True, LIMITS), dict) for line in lines)
    # The fast path is what makes ingest faster: it must take the valid lines, not leave them to the reference.
    assert valid > 100 and fast >= 0.95 * valid


def test_bad_and_valid_fixture_lines_parse_the_same_by_both_paths():
    for raw, _ in BAD:
        _same(raw)
        _same(raw, complete=False)
    for event in VALID:
        _same(json.dumps(event, ensure_ascii=False).encode())
        _same(json.dumps(event).encode())  # \u escapes instead of UTF-8


def test_what_the_fast_path_leaves_to_the_reference():
    base = {"event_id": "e", "type": "cursor", "ts": 1714550400000, "session_id": "s", "doc_id": "d", "offset": 3}
    assert _fast_event(json.dumps(base).encode(), LIMITS) is not None
    # an integral float where an int belongs, a float anywhere (json and msgspec spell exponents
    # differently, and the event hash is of json's spelling), a big int, a bad value
    for change in ({"offset": 3.0}, {"zzz": 1e16}, {"offset": 2**63}, {"position_encoding": "utf-7"}, {"type": "nope"}):
        line = json.dumps({**base, **change}).encode()
        assert _fast_event(line, LIMITS) is None
        _same(line)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**64, max_value=2**64) | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=12,
)
field_values = {
    **{name: st.text(max_size=8) | json_values for name in STRING_FIELDS if name != "type"},
    **{name: st.integers(min_value=-5, max_value=2**64) | json_values for name in INT_FIELDS},
    "type": st.sampled_from(sorted(EVENT_TYPES) + ["nope"]) | json_values,
    "ts": st.integers(min_value=0, max_value=5_000_000_000_000) | st.sampled_from(["2024-05-01T08:00:00+00:00", "2024-05-01T08:00:00", "x"]) | json_values,
    "client": st.fixed_dictionaries({}, optional={"name": st.text(max_size=4) | json_values, "version": json_values, "os": json_values}) | json_values,
    "changes": st.lists(st.fixed_dictionaries({}, optional={"offset": st.integers(-2, 9) | json_values, "length": st.integers(-2, 9) | json_values,
                                                           "text": st.text(max_size=4) | json_values}), max_size=2) | json_values,
    "zzz": json_values,
}


@settings(max_examples=600, deadline=None)
@given(st.fixed_dictionaries({"event_id": st.text(max_size=4), "type": field_values["type"], "ts": field_values["ts"],
                              "session_id": st.text(max_size=4)},
                             optional={k: v for k, v in field_values.items() if k not in ("event_id", "type", "ts", "session_id")}))
def test_fuzzed_events_parse_the_same_by_both_paths(obj):
    for ensure_ascii in (True, False):
        _same(json.dumps(obj, ensure_ascii=ensure_ascii).encode())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_fuzzed_bytes_parse_the_same_by_both_paths(data):
    _same(data)
    _same(data, complete=False)
