"""Ingest's DataFrame transformations, one body per backend (Sail and local JVM Spark)."""

import gzip
import json
from datetime import datetime, timezone

from chispa import assert_df_equality
from pyspark.sql import functions as F

from echo_spark.ingest.job import batch_counts, bronze_rows, quarantine_rows, read_landing
from echo_spark.telemetry.parse import ParseLimits

from ..telemetry.badlines import VALID, mixed_file

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
LIMITS = ParseLimits.for_run(64, "2000-01-01T00:00:00Z", 24, NOW)


def test_landing_is_parsed_line_by_line_on_every_backend(spark, landing):
    data, expected = mixed_file()
    landing.write("a.jsonl", data)
    landing.write("b.jsonl.gz", gzip.compress(data, mtime=0))
    staged = read_landing(spark, str(landing.root), ["*.jsonl", "*.jsonl.gz"], LIMITS)
    rows = staged.select("source_file", "source_line", "event_id", "quarantine_reason").collect()
    assert {r["source_file"].rsplit("/", 1)[1] for r in rows} == {"a.jsonl", "b.jsonl.gz"}
    assert all(r["source_file"].startswith("/") for r in rows)
    reasons: dict[str, int] = {}
    for r in rows:
        if r["quarantine_reason"]:
            reasons[r["quarantine_reason"]] = reasons.get(r["quarantine_reason"], 0) + 1
    assert reasons == {k: 2 * v for k, v in expected.items()}
    assert sorted(r["event_id"] for r in rows if not r["quarantine_reason"]) == sorted(2 * [e["event_id"] for e in VALID])


def test_bronze_rows_keep_the_first_delivery_and_add_the_date(spark, landing):
    lines = [dict(VALID[0], session_id=f"s{i}") for i in range(3)]
    landing.write("z.jsonl", b"".join(json.dumps(l).encode() + b"\n" for l in lines))
    landing.write("a.jsonl", json.dumps(VALID[1]).encode() + b"\n")
    staged = read_landing(spark, str(landing.root), ["*.jsonl"], LIMITS)
    got = bronze_rows(staged, NOW).select("event_id", "session_id", F.col("event_date").cast("string").alias("d"))
    expected = spark.createDataFrame(
        [("v1", "s0", "2024-05-01"), ("v2", "s1", "2024-05-01")], "event_id string, session_id string, d string"
    )
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_quarantine_rows_carry_reason_and_raw(spark, landing):
    landing.write("q.jsonl", b'{"event_id": "e", "type": "mystery", "ts": 1714550400000, "session_id": "s"}\n')
    staged = read_landing(spark, str(landing.root), ["*.jsonl"], LIMITS)
    row = quarantine_rows(staged, NOW).collect()[0]
    assert (row["source_line"], row["reason"], row["detail"], row["event_id"]) == (1, "unknown_type", "mystery", "e")
    assert json.loads(row["raw"])["type"] == "mystery"


def test_batch_counts_count_lines_first_deliveries_and_conflicts_per_file(spark, landing):
    """One aggregation: v1 twice in z (once changed), v2 already in bronze under another hash, a bad line."""
    changed = dict(VALID[0], session_id="s-changed")
    landing.write("z.jsonl", b"".join(json.dumps(e).encode() + b"\n" for e in (VALID[0], changed, VALID[1])) + b"[]\n")
    landing.write("a.jsonl", json.dumps(VALID[1]).encode() + b"\n" + json.dumps(VALID[2]).encode() + b"\n")
    staged = read_landing(spark, str(landing.root), ["*.jsonl"], LIMITS)
    bronze = spark.createDataFrame([("v2", "another hash")], "event_id string, event_hash string")
    got = {(r["source_file"].rsplit("/", 1)[1], r["quarantine_reason"]): tuple(r)[2:]
           for r in batch_counts(staged, bronze).collect()}
    # (lines, first, present, conflicting_present, conflicting_in_batch); a.jsonl sorts first, so v2 is first there.
    assert got == {
        ("a.jsonl", None): (2, 2, 1, 1, 0),
        ("z.jsonl", None): (3, 1, 0, 0, 1),
        ("z.jsonl", "not_an_object"): (1, 0, 0, 0, 0),
    }
