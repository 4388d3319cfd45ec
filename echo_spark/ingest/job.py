"""`echo-spark ingest`: landing telemetry -> bronze `events` + `quarantine`, idempotently.

The landing files are read as bytes and parsed once, in `mapInArrow`, into a staging table; every
count and both MERGEs read the staged rows (Sail's `cache` is a no-op, so this is what keeps the
parse from running once per action). Events merge into bronze on `event_id` (insert only) and
verdicts into quarantine on (source_file, source_line), so rerunning over the same files adds nothing.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from functools import reduce
from pathlib import Path
from typing import Any, Iterator

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from ..config import EchoConfig
from ..engine import get_spark
from ..errors import UsageError
from ..lakehouse import Lakehouse
from ..progress import StageClock
from ..tables import EVENTS, INGEST_STAGING, QUARANTINE
from .landing_files import select_landing
from .parse_files import IngestLimits

ROWS_PER_BATCH = 2048
BYTES_PER_BATCH = 64 << 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--landing",
        required=True,
        metavar="PATH_OR_GLOB",
        help="landing folder, file, glob or URI of telemetry v1 .jsonl / .jsonl.gz files "
        "(with --format continue|tabby: the tool's own log file or folder)",
    )
    parser.add_argument(
        "--format",
        choices=("jsonl", "continue", "tabby"),
        default="jsonl",
        help="convert Continue or Tabby logs to telemetry v1 first (as `echo-spark import` does)",
    )
    parser.add_argument(
        "--import-out",
        metavar="DIR",
        help="where --format writes the converted landing files and its quarantine "
        "(default: LAKEHOUSE/_imported/FORMAT)",
    )


def run(config: EchoConfig, args: argparse.Namespace) -> dict[str, Any]:
    landing = args.landing
    imported: dict[str, Any] | None = None
    if args.format != "jsonl":
        from ..importers.common import summary_lines
        from ..importers.job import import_logs

        out = Path(args.import_out or Path(config.lakehouse.root) / "_imported" / args.format)
        imported = import_logs(args.format, Path(landing).expanduser(), out, config)
        print("\n".join(summary_lines(imported)), flush=True)
        landing = str(out)
    spark = get_spark(config.engine)
    lakehouse = Lakehouse(spark, config.lakehouse)
    metrics = ingest(spark, lakehouse, config, landing)
    print_summary(metrics)
    return {**metrics, "imported": imported} if imported else metrics


def _parse_partition(limits: IngestLimits):
    """The mapInArrow body: closes over plain values only, so it pickles to any worker."""

    def parse(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa
        from pyspark.sql.pandas.types import to_arrow_schema

        from echo_spark.ingest.landing_files import normalize_source
        from echo_spark.ingest.parse_files import parse_file
        from echo_spark.tables import INGEST_STAGING

        schema = to_arrow_schema(INGEST_STAGING.schema, timezone="UTC")
        rows: list[dict[str, Any]] = []
        size = 0
        for batch in batches:
            for path, content in zip(batch.column("path").to_pylist(), batch.column("content").to_pylist()):
                for row in parse_file(normalize_source(path), content, limits):
                    rows.append(row)
                    size += len(row.get("raw") or "") + len(row.get("text") or "") + len(row.get("prefix") or "") + len(row.get("suffix") or "")
                    if len(rows) >= ROWS_PER_BATCH or size >= BYTES_PER_BATCH:
                        yield pa.RecordBatch.from_pylist(rows, schema=schema)
                        rows, size = [], 0
        if rows:
            yield pa.RecordBatch.from_pylist(rows, schema=schema)

    return parse


def read_landing(spark: SparkSession, landing: str, patterns: list[str], limits: IngestLimits) -> DataFrame:
    selection = select_landing(landing, patterns)
    reader = spark.read.format("binaryFile")
    if selection.folder is not None:
        # A folder is listed by the engine, not named file by file: Sail 0.7 keeps memory for
        # every file named in load() and never returns it (0.6 GB per million lines from 2,120
        # files, 5.7 GB peak at 3M events); listing the folder stays flat and reads faster.
        listed = reader.option("recursiveFileLookup", "true").load(selection.folder)
        chosen = spark.createDataFrame([(path,) for path in selection.paths], "_chosen string")
        local_path = F.concat(F.lit("/"), F.regexp_replace("path", "^(file:)?/*", ""))  # as normalize_source spells it
        files = listed.join(chosen, local_path == F.col("_chosen"), "left_semi")
    elif selection.remote:
        files = reader.option("recursiveFileLookup", "true").load(selection.paths[0]).filter(_name_matches(patterns))
    else:
        files = reader.load(selection.paths)
    return files.select("path", "content").mapInArrow(_parse_partition(limits), INGEST_STAGING.schema)


def _name_matches(patterns: list[str]) -> Column:
    """The landing file patterns as SQL LIKE conditions on the engine's path column."""
    like = [F.col("path").like(p.replace("%", "\\%").replace("_", "\\_").replace("*", "%").replace("?", "_")) for p in patterns]
    return reduce(lambda a, b: a | b, like)


def first_delivery(valid: DataFrame) -> DataFrame:
    """One row per event_id: the first delivery in (source_file, source_line) order."""
    first = Window.partitionBy("event_id").orderBy("source_file", "source_line")
    return valid.withColumn("_rank", F.row_number().over(first)).filter(F.col("_rank") == 1).drop("_rank")


def bronze_rows(staged: DataFrame, ingested_at: datetime) -> DataFrame:
    """Valid staged lines, deduplicated within the batch, with the bronze-only columns added."""
    valid = staged.filter(F.col("quarantine_reason").isNull())
    return (
        first_delivery(valid)
        .withColumn("event_date", F.to_date("ts"))
        .withColumn("ingested_at", _timestamp_literal(ingested_at))
    )


def quarantine_rows(staged: DataFrame, ingested_at: datetime) -> DataFrame:
    return staged.filter(F.col("quarantine_reason").isNotNull()).select(
        "source_file",
        "source_line",
        F.col("quarantine_reason").alias("reason"),
        F.col("quarantine_detail").alias("detail"),
        "raw",
        "event_id",
        _timestamp_literal(ingested_at).alias("ingested_at"),
    )


def _timestamp_literal(instant: datetime) -> Any:
    return F.lit(instant.astimezone(timezone.utc).replace(tzinfo=None)).cast("timestamp")


def ingest(spark: SparkSession, lakehouse: Lakehouse, config: EchoConfig, landing: str) -> dict[str, Any]:
    clock = StageClock("ingest")
    started = datetime.now(timezone.utc)
    limits = IngestLimits.for_run(
        config.ingest.max_json_depth, config.ingest.min_ts, config.ingest.max_future_skew_hours, started
    )
    for table in (EVENTS, QUARANTINE):
        lakehouse.ensure(table)

    with clock.stage("parse landing files into staging"):
        lakehouse.overwrite(INGEST_STAGING, read_landing(spark, landing, config.ingest.file_patterns, limits))
    staged = lakehouse.read(INGEST_STAGING)
    try:
        metrics = _load_staged(lakehouse, staged, started, clock)
    finally:
        lakehouse.drop_local(INGEST_STAGING)
    if metrics["files_read"] == 0:
        raise UsageError(f"--landing {landing}: no landing file found")
    metrics["stage_seconds"] = clock.timings
    return metrics


def _load_staged(lakehouse: Lakehouse, staged: DataFrame, started: datetime, clock: StageClock) -> dict[str, Any]:
    with clock.stage("count lines and verdicts"):
        totals = staged.agg(
            F.count(F.lit(1)).alias("lines"), F.countDistinct("source_file").alias("files")
        ).collect()[0]
        by_reason = {
            row["quarantine_reason"]: row["n"]
            for row in staged.filter(F.col("quarantine_reason").isNotNull())
            .groupBy("quarantine_reason")
            .agg(F.count(F.lit(1)).alias("n"))
            .collect()
        }
    quarantined = sum(by_reason.values())
    valid_count = totals["lines"] - quarantined

    with clock.stage("merge quarantine"):
        if quarantined:
            lakehouse.merge(QUARANTINE, quarantine_rows(staged, started))

    with clock.stage("deduplicate and merge events"):
        batch = bronze_rows(staged, started)
        batch_distinct = batch.count()
        conflicts_in_batch = (
            staged.filter(F.col("quarantine_reason").isNull())
            .groupBy("event_id")
            .agg(F.countDistinct("event_hash").alias("hashes"))
            .filter(F.col("hashes") > 1)
            .count()
        )
        existing = lakehouse.read(EVENTS).select("event_id", F.col("event_hash").alias("_bronze_hash"))
        matched = batch.join(existing, "event_id", "inner")
        already_present = matched.count()
        conflicts_existing = matched.filter(F.col("event_hash") != F.col("_bronze_hash")).count()
        if batch_distinct > already_present:
            lakehouse.merge(EVENTS, batch)

    metrics: dict[str, Any] = {
        "files_read": totals["files"],
        "lines_read": totals["lines"],
        "inserted": batch_distinct - already_present,
        "duplicates": (valid_count - batch_distinct) + already_present,
        "duplicates_in_batch": valid_count - batch_distinct,
        "duplicates_already_in_bronze": already_present,
        "duplicates_conflicting": conflicts_in_batch + conflicts_existing,
        "quarantined": quarantined,
        "quarantined_by_reason": dict(sorted(by_reason.items())),
        "bronze_version": None if lakehouse.uses_catalog else lakehouse.version(EVENTS),
    }
    return metrics


def print_summary(metrics: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="ingest summary", show_header=True)
    table.add_column("measure")
    table.add_column("count", justify="right")
    for key in ("files_read", "lines_read", "inserted", "duplicates", "duplicates_in_batch",
                "duplicates_already_in_bronze", "duplicates_conflicting", "quarantined"):
        table.add_row(key, str(metrics[key]))
    for reason, count in metrics["quarantined_by_reason"].items():
        table.add_row(f"  quarantined: {reason}", str(count))
    Console(stderr=False).print(table)
