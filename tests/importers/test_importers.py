"""The importers against fixtures written from the tools' real schemas (see each module's docstring)."""

import argparse
import gzip
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from echo_spark.config import EchoConfig, load_config
from echo_spark.errors import UsageError
from echo_spark.importers import job
from echo_spark.importers.common import epoch_ms
from echo_spark.telemetry.landing import iter_lines
from echo_spark.telemetry.parse import ParseLimits, Quarantined, parse_line
from echo_spark.telemetry.positions import utf16_len

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "importers"
CONTINUE = FIXTURES / "continue" / "dev_data"
TABBY = FIXTURES / "tabby" / "events"
JSONL = FIXTURES / "jsonl"
LIMITS = ParseLimits(max_json_depth=64, min_ts_ms=946_684_800_000, max_ts_ms=4_102_444_800_000)


def physical_lines(src: Path, pattern: str) -> int:
    return sum(p.read_bytes().count(b"\n") for p in src.rglob(pattern))


def landed(out: Path) -> list[dict]:
    """Every output event, read the way ingest reads it; fails on any line the parser rejects."""
    events = []
    for path in sorted(out.glob("*.jsonl.gz")):
        for line in iter_lines(path.read_bytes()):
            verdict = parse_line(line.data, line.complete, LIMITS)
            assert not isinstance(verdict, Quarantined), (path.name, line.number, verdict)
            events.append(json.loads(line.data))
    return events


def by_type(events: list[dict]) -> Counter:
    return Counter(e["type"] for e in events)


def only(events: list[dict], **match) -> dict:
    found = [e for e in events if all(e.get(k) == v for k, v in match.items())]
    assert len(found) == 1, (match, found)
    return found[0]


@pytest.fixture
def continue_import(tmp_path):
    metrics = job.import_logs("continue", CONTINUE, tmp_path / "landing", EchoConfig())
    return metrics, landed(tmp_path / "landing"), tmp_path / "landing"


@pytest.fixture
def tabby_import(tmp_path):
    metrics = job.import_logs("tabby", TABBY, tmp_path / "landing", EchoConfig())
    return metrics, landed(tmp_path / "landing"), tmp_path / "landing"


def test_continue_summary_adds_up_to_the_lines_in_the_files(continue_import):
    metrics, events, _ = continue_import
    assert metrics["lines_read"] == physical_lines(CONTINUE, "*.jsonl") == 6
    assert metrics["converted"] == 4
    assert metrics["skipped"] == {"no_code": 1}
    assert metrics["quarantined"] == {"invalid_json": 1}
    assert by_type(events) == {
        "session_start": 3, "completion_request": 4, "completion_shown": 4,
        "completion_accept": 2, "completion_reject": 2, "session_end": 3,
    }
    assert metrics["events_written"] == len(events)


def test_continue_quarantine_names_the_source_line(continue_import):
    *_, out = continue_import
    (record,) = [json.loads(l) for l in (out / "_quarantine" / "continue-0.2.0_autocomplete.jsonl").read_text().splitlines()]
    assert record["source_file"].endswith("0.2.0/autocomplete.jsonl")
    assert (record["source_line"], record["reason"]) == (4, "invalid_json")
    assert record["raw"].startswith('{"disable":false')


def test_continue_request_fields(continue_import):
    _, events, _ = continue_import
    source = json.loads((CONTINUE / "0.2.0" / "autocomplete.jsonl").read_text().splitlines()[0])
    request = only(events, type="completion_request", request_id=source["completionId"])
    shown = only(events, type="completion_shown", request_id=source["completionId"])
    assert request["prefix"] == source["prefix"] and request["suffix"] == source["suffix"]
    assert request["offset"] == utf16_len(source["prefix"])
    assert request["doc_id"] == "acme/calc::" + source["filepath"]
    assert request["language"] == "python"
    assert shown["ts"] == epoch_ms(source["timestamp"]) and request["ts"] == shown["ts"] - source["time"]
    assert shown["text"] == source["completion"] and shown["model"] == source["modelName"]
    extra = request["continue_extra"]
    assert extra["modelProvider"] == "ollama" and extra["uniqueId"] == source["uniqueId"]
    assert extra["prompt"] == source["prompt"] and extra["debounceDelay"] == 350
    assert only(events, type="completion_accept", request_id=source["completionId"])["ts"] == shown["ts"]


def test_continue_offsets_count_utf16_units(continue_import):
    _, events, _ = continue_import
    request = only(events, type="completion_request", language="typescript")
    assert "👋" in request["prefix"]
    assert request["offset"] == len(request["prefix"]) + 1  # the emoji is two UTF-16 units


def test_a_rejection_is_logged_after_the_configured_wait(tmp_path):
    config = load_config(None, ["importers.continue_reject_after_s=4"])
    job.import_logs("continue", CONTINUE, tmp_path, config)
    events = landed(tmp_path)
    for reject in (e for e in events if e["type"] == "completion_reject"):
        shown = only(events, type="completion_shown", request_id=reject["request_id"])
        assert reject["ts"] - shown["ts"] == 4000 and reject["reason"] == "timeout"


def test_the_later_window_shows_what_was_kept_of_the_first_completion(continue_import):
    """Two requests in one document: the lifecycle job reads C_N of the first from the second's window."""
    _, events, _ = continue_import
    first, second = sorted(
        (e for e in events if e["type"] == "completion_request" and e.get("language") == "python"), key=lambda e: e["ts"]
    )
    assert first["doc_id"] == second["doc_id"] and first["session_id"] == second["session_id"]
    assert second["prefix"].startswith(first["prefix"]) and first["suffix"] == second["suffix"]
    kept = second["prefix"][len(first["prefix"]):]
    accepted = only(events, type="completion_shown", request_id=first["request_id"])["text"]
    assert kept.startswith(accepted) and kept != accepted


def test_sessions_split_on_the_gap_and_are_framed(continue_import):
    _, events, _ = continue_import
    sessions: dict[str, list[dict]] = {}
    for event in events:
        sessions.setdefault(event["session_id"], []).append(event)
    assert len(sessions) == 3  # the 0.1.0 file, and the 0.2.0 file split by a gap of 3 hours
    for members in sessions.values():
        members.sort(key=lambda e: e["seq"])
        assert [e["seq"] for e in members] == list(range(1, len(members) + 1))
        start, end = members[0], members[-1]
        assert start["type"] == "session_start" and end["type"] == "session_end"
        assert start["position_encoding"] == "utf-16" and start["client"]["name"] == "continue"
        assert [e["ts"] for e in members] == sorted(e["ts"] for e in members)
        assert len({e["user_id"] for e in members}) == 1
    versions = {e["client"].get("version") for e in events if e["type"] == "session_start"}
    assert versions == {None, "0.8.52"}  # 0.1.0 lines carry no userAgent


def test_reimport_gives_the_same_bytes_and_ids_from_any_folder(tmp_path):
    job.import_logs("continue", CONTINUE, tmp_path / "a", EchoConfig())
    moved = tmp_path / "elsewhere" / "dev_data"
    shutil.copytree(CONTINUE, moved)
    job.import_logs("continue", moved, tmp_path / "b", EchoConfig())
    names = sorted(p.name for p in (tmp_path / "a").glob("*.gz"))
    assert names and names == sorted(p.name for p in (tmp_path / "b").glob("*.gz"))
    for name in names:
        data = (tmp_path / "a" / name).read_bytes()
        assert data == (tmp_path / "b" / name).read_bytes()
        assert data[4:8] == b"\0\0\0\0"  # gzip mtime 0
    assert len({e["event_id"] for e in landed(tmp_path / "a")}) == len(landed(tmp_path / "a"))


def test_tabby_summary_and_event_kinds(tabby_import):
    metrics, events, out = tabby_import
    assert metrics["lines_read"] == physical_lines(TABBY, "*.json") == 13
    assert metrics["converted"] == 9
    assert metrics["skipped"] == {"chat_completion": 1, "orphan_reference": 1}
    assert metrics["quarantined"] == {"invalid_json": 1, "unknown_event_kind": 1}
    assert by_type(events) == {
        "session_start": 2, "completion_request": 3, "completion_shown": 3,
        "completion_accept": 2, "completion_reject": 1, "session_end": 2,
    }
    reasons = [json.loads(l)["reason"] for l in (out / "_quarantine" / "tabby-2024-05-14.jsonl").read_text().splitlines()]
    assert reasons == ["invalid_json", "unknown_event_kind"]


def test_tabby_mapping_partial_accept_and_dismiss(tabby_import):
    _, events, _ = tabby_import
    first = json.loads((TABBY / "2024-05-14.json").read_text().splitlines()[0])["event"]["completion"]
    request = only(events, type="completion_request", request_id=first["completion_id"])
    assert request["prefix"] == first["segments"]["prefix"] and request["suffix"] == first["segments"]["suffix"]
    assert request["doc_id"] == "https://github.com/acme/stats.git::stats/mean.py"
    assert request["offset"] == utf16_len(first["segments"]["prefix"])
    assert request["tabby_extra"]["segments"]["declarations"][0]["filepath"] == "stats/__init__.py"
    accept = only(events, type="completion_accept", request_id=first["completion_id"])
    assert accept["accepted_length"] == utf16_len("if not xs:\n")  # a line select takes the first line
    assert accept["tabby_extra"]["kind"] == "line"
    full = [e for e in events if e["type"] == "completion_accept" and "accepted_length" not in e]
    assert len(full) == 1
    reject = only(events, type="completion_reject")
    assert reject["reason"] == "dismissed"


def test_a_view_after_midnight_stays_in_its_completions_session(tabby_import):
    _, events, out = tabby_import
    reject = only(events, type="completion_reject")
    request = only(events, type="completion_request", request_id=reject["request_id"])
    assert reject["session_id"] == request["session_id"] and reject["doc_id"] == request["doc_id"] == "stats/median.py"
    day2 = [json.loads(l) for l in gzip.decompress((out / "tabby-2024-05-15.jsonl.gz").read_bytes()).splitlines()]
    assert {e["type"] for e in day2} == {"completion_shown", "completion_reject", "session_end"}


def test_tabby_without_the_completions_file_skips_orphans(tmp_path):
    metrics = job.import_logs("tabby", TABBY / "2024-05-15.json", tmp_path, EchoConfig())
    assert metrics["skipped"] == {"orphan_reference": 2} and metrics["events_written"] == 0


@pytest.mark.parametrize(
    "fmt,line,reason",
    [
        ("continue", {"prefix": "a", "completion": "b", "filepath": "x.py", "timestamp": "2024-05-14T09:00:00Z"}, "missing_field"),
        ("continue", {"prefix": "a", "completion": "b", "filepath": "x.py", "completionId": "c", "timestamp": "soon"}, "wrong_type"),
        ("continue", {"prefix": "a", "completion": "b", "filepath": "x.py", "completionId": "c", "timestamp": "1999-01-01T00:00:00Z"}, "ts_out_of_range"),
        ("continue", [1, 2], "not_an_object"),
        ("tabby", {"ts": 1715678523104, "event": {"view": {"completion_id": "c"}, "select": {}}}, "wrong_type"),
        ("tabby", {"ts": "yesterday", "event": {"view": {}}}, "wrong_type"),
        ("tabby", {"ts": 1715678523104, "event": {"dismiss": {"completion_id": ["c"], "choice_index": 0}}}, "wrong_type"),
        ("tabby", {"ts": 1715678523104, "event": {"completion": {"completion_id": "c", "language": "go", "choices": []}}}, "missing_field"),
    ],
)
def test_lines_that_cannot_be_mapped_are_quarantined_with_a_reason(tmp_path, fmt, line, reason):
    name = "autocomplete.jsonl" if fmt == "continue" else "2024-05-14.json"
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / name).write_text(json.dumps(line) + "\n")
    metrics = job.import_logs(fmt, tmp_path / "src", tmp_path / "out", EchoConfig())
    assert metrics["quarantined"] == {reason: 1} and metrics["lines_read"] == 1


def test_jsonl_is_validated_and_copied_through_unchanged(tmp_path):
    metrics = job.import_logs("jsonl", JSONL, tmp_path, EchoConfig())
    assert (metrics["lines_read"], metrics["converted"], metrics["quarantined"]) == (5, 4, {"unknown_type": 1})
    source = [l for l in (JSONL / "plugin.jsonl").read_bytes().splitlines() if b"completion_teleport" not in l]
    assert gzip.decompress((tmp_path / "jsonl-plugin.jsonl.gz").read_bytes()).splitlines() == source


def test_jsonl_on_real_telemetry(tmp_path, real_data):
    metrics = job.import_logs("jsonl", real_data / "cups-copilot-telemetry.jsonl.gz", tmp_path, EchoConfig())
    assert metrics["lines_read"] == metrics["converted"] == 3388 and not metrics["quarantined"]


def test_run_parses_the_cli_options_and_prints_the_summary(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    job.add_arguments(parser)
    args = parser.parse_args(["--from", "tabby", str(TABBY), "--out", str(tmp_path)])
    metrics = job.run(EchoConfig(), args)
    printed = capsys.readouterr().out
    assert "13 line(s) read = 9 converted + 2 skipped + 2 quarantined" in printed
    assert metrics["output_files"] == ["tabby-2024-05-14.jsonl.gz", "tabby-2024-05-15.jsonl.gz"]


def test_usage_errors(tmp_path):
    with pytest.raises(UsageError):
        job.import_logs("continue", tmp_path / "missing", tmp_path / "out", EchoConfig())
    with pytest.raises(UsageError):
        job.import_logs("tabby", CONTINUE, tmp_path / "out", EchoConfig())  # no YYYY-MM-DD.json there
    with pytest.raises(UsageError):
        job.import_logs("jsonl", JSONL, JSONL / "out", EchoConfig())


def test_timestamps():
    assert epoch_ms("2024-05-14T09:12:03.512Z") == epoch_ms(1715677923512) == 1715677923512
    assert epoch_ms(True) is None and epoch_ms("later") is None


REPLACEMENTS = [None, 0, -1, True, "", "x", [1], {"a": 1}, 1e300, float("inf"), float("nan")]


def mutations(obj: dict, inner: str | None = None):
    """The line with each field (top level, and inside the event body) dropped or given another type."""
    for key in obj:
        yield {k: v for k, v in obj.items() if k != key}
        for value in REPLACEMENTS:
            yield {**obj, key: value}
    if inner:
        (kind, body), = obj[inner].items()
        for mutated in mutations(body):
            yield {**obj, inner: {kind: mutated}}


@pytest.mark.parametrize("fmt,source,name,inner", [
    ("continue", CONTINUE / "0.2.0" / "autocomplete.jsonl", "autocomplete.jsonl", None),
    ("tabby", TABBY / "2024-05-14.json", "2024-05-14.json", "event"),
])
def test_damaged_fields_never_crash_and_the_summary_still_adds_up(tmp_path, fmt, source, name, inner):
    lines = source.read_text().splitlines()
    damaged = list(lines)
    for line in lines:
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        damaged += [json.dumps(m) for m in mutations(obj, inner)]
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / name).write_text("\n".join(damaged) + "\n")
    metrics = job.import_logs(fmt, tmp_path / "src", tmp_path / "out", EchoConfig())
    assert metrics["lines_read"] == len(damaged)
    assert metrics["converted"] + sum(metrics["skipped"].values()) + sum(metrics["quarantined"].values()) == len(damaged)
    assert metrics["converted"] > len(lines) and sum(metrics["quarantined"].values()) > 2
    assert len(landed(tmp_path / "out")) == metrics["events_written"]
