"""The ingest job end to end on the embedded engine: bronze, quarantine, idempotence, summary."""

import gzip
import json
from datetime import datetime, timezone

import pytest
from pyspark.sql import functions as F

from echo_spark.cli import main
from echo_spark.errors import UsageError
from echo_spark.ingest.job import ingest
from echo_spark.tables import EVENTS, QUARANTINE

from ..telemetry.badlines import BAD, VALID, mixed_file


@pytest.mark.sail_only
def test_real_copilot_logs_ingest_twice_leave_one_copy_of_each_event(spark, lakehouse, config, real_data):
    source = real_data / "cups-copilot-telemetry.jsonl.gz"
    with gzip.open(source, "rt", encoding="utf-8") as fh:
        ids = [json.loads(line)["event_id"] for line in fh]

    first = ingest(spark, lakehouse, config, str(source))
    # Forced to read the file again: the MERGE adds nothing.
    second = ingest(spark, lakehouse, config, str(source), reprocess="*")

    bronze = lakehouse.read(EVENTS)
    assert bronze.count() == len(set(ids)) == first["inserted"]
    assert bronze.select("event_id").distinct().count() == len(set(ids))
    assert second["inserted"] == 0
    assert second["duplicates_already_in_bronze"] == len(ids)
    assert second["lines_read"] == second["inserted"] + second["duplicates"] + second["quarantined"]
    # A rerun that finds nothing new writes no commit.
    assert first["bronze_version"] == second["bronze_version"]


@pytest.mark.sail_only
def test_every_bad_line_is_quarantined_with_its_reason_and_the_summary_adds_up(spark, lakehouse, config, landing):
    data, expected = mixed_file()
    path = landing.write("fleet/mixed.jsonl", data)
    landing.write("fleet/mixed.jsonl.gz", gzip.compress(data, mtime=0))  # same events, other file

    metrics = ingest(spark, lakehouse, config, str(landing.root))

    lines_per_file = len(VALID) + len(BAD) + 1
    assert metrics["files_read"] == 2
    assert metrics["lines_read"] == 2 * lines_per_file
    assert metrics["quarantined_by_reason"] == {k: 2 * v for k, v in expected.items()}
    assert metrics["inserted"] == len(VALID)
    assert metrics["duplicates_in_batch"] == len(VALID)
    assert metrics["lines_read"] == metrics["inserted"] + metrics["duplicates"] + metrics["quarantined"]

    quarantine = lakehouse.read(QUARANTINE).filter(F.col("source_file") == str(path))
    by_line = {r["source_line"]: r for r in quarantine.collect()}
    for index, (raw, reason) in enumerate(BAD):
        line = 3 + index  # two valid lines first
        assert by_line[line]["reason"] == reason
    assert by_line[3 + len(BAD) + 2]["reason"] == "truncated_line"
    # The raw line is kept, invalid UTF-8 escaped rather than lost.
    invalid = next(r for r in by_line.values() if r["reason"] == "invalid_utf8")
    assert "\\xff\\xfe" in invalid["raw"]


@pytest.mark.sail_only
def test_bronze_types_and_lineage(spark, lakehouse, config, landing):
    data, _ = mixed_file(truncated_tail=False)
    landing.write("a.jsonl", data)
    ingest(spark, lakehouse, config, str(landing.root))
    rows = {r["event_id"]: r for r in lakehouse.read(EVENTS).collect()}
    start, change = rows["v1"], rows["v3"]
    assert start["ts"].replace(tzinfo=timezone.utc) == datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)
    assert str(start["event_date"]) == "2024-05-01"
    assert change["changes"][0]["text"] == "x"
    assert json.loads(change["extra"]) == {"future_field": {"a": 1}}
    assert change["source_file"].endswith("a.jsonl") and change["source_line"] == len(BAD) + 3
    assert rows["v2"]["text"] == "héllo 😀\n"


@pytest.mark.sail_only
def test_reingesting_quarantined_lines_adds_no_second_verdict(spark, lakehouse, config, landing):
    data, expected = mixed_file()
    landing.write("m.jsonl", data)
    ingest(spark, lakehouse, config, str(landing.root))
    again = ingest(spark, lakehouse, config, str(landing.root), reprocess="*")
    assert again["quarantined"] == sum(expected.values())
    assert lakehouse.read(QUARANTINE).count() == sum(expected.values())


@pytest.mark.sail_only
def test_conflicting_redeliveries_are_counted(spark, lakehouse, config, landing):
    base = {"event_id": "c1", "type": "session_end", "ts": 1714550400000, "session_id": "s"}
    landing.write("one.jsonl", json.dumps(base).encode() + b"\n")
    landing.write("two.jsonl", json.dumps({**base, "session_id": "other"}).encode() + b"\n")
    metrics = ingest(spark, lakehouse, config, str(landing.root))
    assert metrics["inserted"] == 1 and metrics["duplicates_conflicting"] == 1
    # The first delivery in (file, line) order wins, deterministically.
    assert lakehouse.read(EVENTS).collect()[0]["session_id"] == "s"


@pytest.mark.sail_only
def test_glob_and_patterns_select_files(spark, lakehouse, config, landing):
    landing.write("x/a.jsonl", json.dumps(VALID[0]).encode() + b"\n")
    landing.write("x/notes.txt", b"not telemetry\n")
    landing.write("x/_quarantine/q.jsonl", b"skipped folder\n")
    assert ingest(spark, lakehouse, config, str(landing.root))["files_read"] == 1
    assert ingest(spark, lakehouse, config, str(landing.root / "x" / "*.txt"))["quarantined"] == 1


@pytest.mark.sail_only
def test_a_landing_folder_is_read_whole_whatever_its_file_names(spark, lakehouse, config, landing, tmp_path):
    """The folder is listed by the engine and narrowed to the selected files: names the engine
    may spell differently (spaces, percent signs, non-ASCII, a link to a file elsewhere) still match."""
    names = ["2026-03-02/u 1/a b.jsonl", "2026-03-02/u%41/c.jsonl", "ünï/日本.jsonl.gz", "plain.jsonl"]
    for i, name in enumerate(names):
        line = json.dumps(dict(VALID[0], event_id=f"e-{i}")).encode() + b"\n"
        landing.write(name, gzip.compress(line) if name.endswith(".gz") else line)
    elsewhere = tmp_path / "elsewhere.jsonl"
    elsewhere.write_bytes(json.dumps(dict(VALID[0], event_id="e-link")).encode() + b"\n")
    (landing.root / "linked.jsonl").symlink_to(elsewhere)
    landing.write(".hidden/h.jsonl", b"not read\n")
    metrics = ingest(spark, lakehouse, config, str(landing.root))
    assert (metrics["files_read"], metrics["inserted"], metrics["quarantined"]) == (5, 5, 0)
    sources = {r["source_file"] for r in lakehouse.read(EVENTS).select("source_file").collect()}
    assert sources == {str(landing.root.resolve() / n) for n in [*names, "linked.jsonl"]}


@pytest.mark.sail_only
def test_a_missing_landing_path_is_a_usage_error(spark, lakehouse, config, tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        ingest(spark, lakehouse, config, str(tmp_path / "nope"))
    with pytest.raises(UsageError, match="no file matches"):
        ingest(spark, lakehouse, config, str(tmp_path / "nope" / "*.jsonl"))


def test_cli_exit_codes_and_metrics_file(tmp_path, capsys, landing):
    landing.write("a.jsonl", json.dumps(VALID[0]).encode() + b"\n")
    metrics_file = tmp_path / "m.json"
    code = main(["ingest", "--landing", str(landing.root), "--lakehouse", str(tmp_path / "lh"),
                 "--metrics-json", str(metrics_file)])
    assert code == 0
    captured = capsys.readouterr()
    assert "effective configuration" in captured.err and "lakehouse:" in captured.err
    assert "effective configuration" not in captured.out
    assert json.loads(metrics_file.read_text())["inserted"] == 1

    assert main(["ingest", "--landing", str(tmp_path / "missing"), "--lakehouse", str(tmp_path / "lh")]) == 2
    assert "error: --landing" in capsys.readouterr().err
    assert main(["ingest", "--landing", str(landing.root), "--set", "ingest.no_such_knob=1"]) == 2


@pytest.mark.sail_only
def test_staging_is_cleaned_up(spark, lakehouse, config, landing):
    landing.write("a.jsonl", json.dumps(VALID[0]).encode() + b"\n")
    ingest(spark, lakehouse, config, str(landing.root))
    assert sorted(p.name for p in (lakehouse.config and __import__("pathlib").Path(config.lakehouse.root)).iterdir()) == [
        "events", "landing_files", "quarantine", "tombstones"]
