"""Ingest reads only files it has not recorded in `landing_files` (like Auto Loader), records them
in the run's last commit, and can be forced to read files again."""

import gzip
import json
import os

import pytest
from pyspark.sql import functions as F

from echo_spark.config import EchoConfig, LakehouseConfig
from echo_spark.ingest import job as ingest_job
from echo_spark.ingest.job import ingest
from echo_spark.lakehouse import Lakehouse
from echo_spark.tables import EVENTS, LANDING_FILES, QUARANTINE

from ..checksums import table_checksums
from ..test_recovery import _run_and_kill


def _events(prefix: str, n: int, start: int = 0) -> bytes:
    return b"".join(
        json.dumps({"event_id": f"{prefix}-{i}", "type": "session_end", "ts": 1_714_550_400_000 + i,
                    "session_id": f"s-{prefix}"}).encode() + b"\n"
        for i in range(start, start + n)
    )


def _landing_rows(lakehouse):
    return {(r["path"].rsplit("/", 1)[1], r["status"]): r for r in lakehouse.read(LANDING_FILES).collect()}


@pytest.mark.sail_only
def test_a_second_run_reads_only_the_new_file(spark, lakehouse, config, landing):
    landing.write("a.jsonl", _events("a", 30))
    landing.write("b.jsonl.gz", gzip.compress(_events("b", 20) + b"not json\n"))
    first = ingest(spark, lakehouse, config, str(landing.root))
    assert (first["files_listed"], first["files_skipped"], first["files_read"], first["lines_read"]) == (2, 0, 2, 51)

    again = ingest(spark, lakehouse, config, str(landing.root))
    assert (again["files_listed"], again["files_skipped"], again["files_read"], again["lines_read"]) == (2, 2, 0, 0)
    assert again["bronze_version"] == first["bronze_version"]

    landing.write("c.jsonl", _events("c", 5))
    third = ingest(spark, lakehouse, config, str(landing.root))
    assert (third["files_skipped"], third["files_read"], third["lines_read"], third["inserted"]) == (2, 1, 5, 5)

    rows = _landing_rows(lakehouse)
    assert set(rows) == {("a.jsonl", "ingested"), ("b.jsonl.gz", "ingested"), ("c.jsonl", "ingested")}
    b = rows[("b.jsonl.gz", "ingested")]
    assert (b["lines"], b["valid"], b["inserted"], b["quarantined"], b["erased"]) == (21, 20, 20, 1, 0)
    assert b["size"] == (landing.root / "b.jsonl.gz").stat().st_size
    import hashlib

    assert b["sha256"] == hashlib.sha256((landing.root / "b.jsonl.gz").read_bytes()).hexdigest()
    assert b["bronze_version"] == first["bronze_version"]
    assert rows[("c.jsonl", "ingested")]["bronze_version"] == third["bronze_version"] > first["bronze_version"]


@pytest.mark.sail_only
def test_an_appended_file_is_read_again_whole_and_only_its_new_lines_land(spark, lakehouse, config, landing):
    path = landing.write("open.jsonl", _events("o", 10) + b"{bad\n")
    ingest(spark, lakehouse, config, str(landing.root))
    with open(path, "ab") as fh:
        fh.write(_events("o", 4, start=10))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))  # a coarse clock may not tick

    metrics = ingest(spark, lakehouse, config, str(landing.root))
    assert (metrics["files_read"], metrics["lines_read"], metrics["inserted"]) == (1, 15, 4)
    assert metrics["duplicates_already_in_bronze"] == 10
    assert lakehouse.read(EVENTS).count() == 14
    assert lakehouse.read(QUARANTINE).count() == 1  # the bad line keeps its (file, line) key: no second verdict
    versions = lakehouse.read(LANDING_FILES).filter(F.col("path") == str(path)).collect()
    assert sorted((r["lines"], r["inserted"]) for r in versions) == [(11, 10), (15, 4)]  # one row per content version


@pytest.mark.sail_only
def test_reprocess_reads_all_or_the_files_a_glob_names(spark, lakehouse, config, landing):
    landing.write("2026-01-01/a.jsonl", _events("a", 3))
    landing.write("2026-01-02/b.jsonl", _events("b", 4))
    ingest(spark, lakehouse, config, str(landing.root))
    assert ingest(spark, lakehouse, config, str(landing.root), reprocess="*")["lines_read"] == 7
    only_b = ingest(spark, lakehouse, config, str(landing.root), reprocess="2026-01-02/*")
    assert (only_b["files_read"], only_b["lines_read"], only_b["inserted"]) == (1, 4, 0)
    assert ingest(spark, lakehouse, config, str(landing.root), reprocess="a.jsonl")["lines_read"] == 3
    assert ingest(spark, lakehouse, config, str(landing.root), reprocess="*/nothing*")["files_read"] == 0
    # Reading a file again with the same content leaves one row for it.
    assert lakehouse.read(LANDING_FILES).count() == 2


def _two_lakehouses(spark, tmp_path):
    def make(name):
        config = EchoConfig(lakehouse=LakehouseConfig(root=str(tmp_path / name)))
        return Lakehouse(spark, config.lakehouse), config

    return make("clean"), make("crashed")


TABLES = [EVENTS, QUARANTINE]


@pytest.mark.sail_only
def test_a_crash_between_bronze_and_the_file_record_neither_loses_nor_doubles_a_file(spark, tmp_path, landing, monkeypatch):
    landing.write("a.jsonl", _events("a", 8) + b"{cut\n")
    landing.write("b.jsonl", _events("b", 6))
    (clean, clean_config), (crashed, crashed_config) = _two_lakehouses(spark, tmp_path)
    ingest(spark, clean, clean_config, str(landing.root))

    def crash(*args, **kwargs):
        raise RuntimeError("killed after the bronze merge, before landing_files")

    monkeypatch.setattr(ingest_job, "record_landing_files", crash)
    with pytest.raises(RuntimeError):
        ingest(spark, crashed, crashed_config, str(landing.root))
    assert crashed.read(EVENTS).count() == 14 and crashed.read(LANDING_FILES).count() == 0
    monkeypatch.undo()

    rerun = ingest(spark, crashed, crashed_config, str(landing.root))
    assert (rerun["files_read"], rerun["lines_read"], rerun["inserted"], rerun["quarantined"]) == (2, 15, 0, 1)
    assert table_checksums(crashed, TABLES) == table_checksums(clean, TABLES)
    assert crashed.read(LANDING_FILES).count() == 2
    assert ingest(spark, crashed, crashed_config, str(landing.root))["files_read"] == 0


@pytest.mark.sail_only
def test_ingest_killed_while_recording_files_then_rerun_matches_an_uninterrupted_run(spark, tmp_path, landing):
    for i in range(6):
        landing.write(f"p{i}.jsonl", _events(f"p{i}", 50) + b"{bad\n")
    (clean, clean_config), (crashed, crashed_config) = _two_lakehouses(spark, tmp_path)
    ingest(spark, clean, clean_config, str(landing.root))

    _run_and_kill(["ingest", "--landing", str(landing.root), "--lakehouse", str(crashed_config.lakehouse.root)],
                  "record landing files", 0.0)
    recorded = crashed.read(LANDING_FILES).count() if crashed.exists(LANDING_FILES) else 0
    assert recorded in (0, 6)  # one commit: all the run's files or none
    rerun = ingest(spark, crashed, crashed_config, str(landing.root))
    assert rerun["files_read"] == 6 - recorded
    assert table_checksums(crashed, TABLES) == table_checksums(clean, TABLES)
    assert crashed.read(LANDING_FILES).count() == 6
    assert crashed.read(LANDING_FILES).groupBy("path").count().filter(F.col("count") > 1).count() == 0


def test_passes_cut_the_files_in_path_order_by_size():
    files = [ingest_job.ListedFile(f"/l/{name}", size, 0) for name, size in
             [("c", 40), ("a", 60), ("b", 50), ("d", 500), ("e", -1), ("f", 10)]]
    passes = ingest_job.ingest_passes(files, 100)
    assert [[f.path[-1] for f in p] for p in passes] == [["a"], ["b", "c"], ["d"], ["e", "f"]]
    assert ingest_job.ingest_passes(files, 10**9) == [sorted(files, key=lambda f: f.path)]


@pytest.mark.sail_only
def test_ingest_in_passes_equals_one_pass(spark, tmp_path, landing):
    """Passes of a file each give the tables and totals of one pass, with an event delivered again
    (and once changed) in a later file: its first delivery, in path order, is the one kept."""
    landing.write("a.jsonl", _events("a", 20) + b"{bad\n")
    changed = json.dumps({"event_id": "a-3", "type": "session_end", "ts": 1, "session_id": "other"}).encode() + b"\n"
    landing.write("b.jsonl.gz", gzip.compress(_events("a", 5) + changed + _events("b", 7) + b"not json\n"))
    landing.write("c.jsonl", _events("c", 9))
    (one, one_config), (many, many_config) = _two_lakehouses(spark, tmp_path)
    single = ingest(spark, one, one_config, str(landing.root))
    many_config = many_config.model_copy(update={"ingest": many_config.ingest.model_copy(update={"bytes_per_pass": 1})})
    passes = ingest(spark, many, many_config, str(landing.root))
    assert (single["passes"], passes["passes"]) == (1, 3)
    assert table_checksums(many, TABLES) == table_checksums(one, TABLES)
    totals = ("files_read", "lines_read", "inserted", "duplicates", "duplicates_conflicting", "quarantined")
    assert {k: passes[k] for k in totals} == {k: single[k] for k in totals}
    assert passes["quarantined_by_reason"] == single["quarantined_by_reason"]
    assert (passes["duplicates_in_batch"], passes["duplicates_already_in_bronze"]) == (0, single["duplicates"])
    assert many.read(LANDING_FILES).count() == 3
