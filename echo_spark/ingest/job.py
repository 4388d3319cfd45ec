"""`echo-spark ingest`: landing telemetry -> bronze `events` + `quarantine`, idempotently.

Only landing files that no run has recorded in `landing_files` (by path, size and modification
time) are read, each parsed once, whole, in `mapInArrow`, into a staging table; every count and
both writes read the staged rows (Sail's `cache` is a no-op, so this is what keeps the parse from
running once per action). Lines of erased users (tombstones) are dropped and removed from their
files. Events are appended to bronze when their `event_id` is not there yet (insert only) and
verdicts MERGEd into quarantine on (source_file, source_line), so reading the same files again adds
nothing; the files read are recorded last, so a run that dies before that is simply done again by
the next one. New files are read in passes of about `ingest.bytes_per_pass`, each recorded on its own.
"""

from __future__ import annotations

import argparse
import os
import uuid
from collections import Counter
from dataclasses import dataclass
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
from ..lakehouse import Lakehouse, has_rows
from ..progress import StageClock, Summary, print_summary
from ..tables import EVENTS, INGEST_STAGING, LANDING_FILES, QUARANTINE, TOMBSTONES
from ..telemetry.parse import ParseLimits
from .landing_files import normalize_source, reprocess_matches, select_landing
from .parse_files import FILE_ROW
from .rewrite import PreparedRewrite, commit_after, rewrite_without_lines

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
        "--reprocess",
        nargs="?",
        const="*",
        metavar="GLOB",
        help="read again files already ingested: all of them, or those whose path, path under the "
        "landing folder or name matches GLOB (by default a run reads only files it has not recorded "
        "in landing_files, or whose size or modification time changed)",
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
        from ..importers.common import summary as import_summary
        from ..importers.job import import_logs

        out = Path(args.import_out or Path(config.lakehouse.root) / "_imported" / args.format)
        imported = import_logs(args.format, Path(landing).expanduser(), out, config)
        print_summary(import_summary(imported))
        landing = str(out)
    # A local landing path that names nothing is a usage error before the engine starts (a URI is
    # listed by the engine, in `ingest`).
    select_landing(landing, config.ingest.file_patterns)
    spark = get_spark(config.engine)
    lakehouse = Lakehouse(spark, config.lakehouse)
    metrics = ingest(spark, lakehouse, config, landing, reprocess=args.reprocess)
    print_summary(summary(metrics))
    return {**metrics, "imported": imported} if imported else metrics


def _parse_partition(limits: ParseLimits):
    """The mapInArrow body: closes over plain values only, so it pickles to any worker.

    Its input is one row per landing file: (path, size, mtime_us), and `content` when the engine
    read the bytes (a URI); without `content` the worker reads the local file itself."""

    def parse(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa
        from pyspark.sql.pandas.types import to_arrow_schema

        from echo_spark.ingest.landing_files import normalize_source
        from echo_spark.ingest.parse_files import parse_landing_file, read_bytes
        from echo_spark.tables import INGEST_STAGING

        schema = to_arrow_schema(INGEST_STAGING.schema, timezone="UTC")
        rows: list[dict[str, Any]] = []
        size = 0
        for batch in batches:
            columns = batch.schema.names
            paths = batch.column("path").to_pylist()
            contents = batch.column("content").to_pylist() if "content" in columns else [None] * len(paths)
            sizes, mtimes = batch.column("size").to_pylist(), batch.column("mtime_us").to_pylist()
            for path, content, file_size, mtime_us in zip(paths, contents, sizes, mtimes):
                data = read_bytes(path) if content is None else content
                for row in parse_landing_file(normalize_source(path), data, file_size, mtime_us, limits):
                    rows.append(row)
                    size += len(row.get("raw") or "") + len(row.get("text") or "") + len(row.get("prefix") or "") + len(row.get("suffix") or "")
                    if len(rows) >= ROWS_PER_BATCH or size >= BYTES_PER_BATCH:
                        yield pa.RecordBatch.from_pylist(rows, schema=schema)
                        rows, size = [], 0
        if rows:
            yield pa.RecordBatch.from_pylist(rows, schema=schema)

    return parse


@dataclass(frozen=True)
class ListedFile:
    path: str  # as bronze spells source_file (normalize_source)
    size: int
    mtime_us: int


@dataclass(frozen=True)
class Listing:
    files: list[ListedFile]
    remote: bool
    root: str | None  # the landing folder, for --reprocess globs relative to it


def list_landing(spark: SparkSession, landing: str, patterns: list[str]) -> Listing:
    """Every landing file the argument names, with the size and modification time a run compares.

    Local files are listed and stat'ed here. A URI is listed by the engine, without reading the
    bytes (only path, length and modification time are selected); an engine that splits a file
    into byte ranges lists it once per range, hence the distinct."""
    selection = select_landing(landing, patterns)
    if not selection.remote:
        files = []
        for path in selection.paths:
            try:
                stat = os.stat(path)
                files.append(ListedFile(normalize_source(path), stat.st_size, stat.st_mtime_ns // 1000))
            except OSError:
                files.append(ListedFile(normalize_source(path), -1, -1))  # read (and quarantined) as unreadable
        return Listing(files, remote=False, root=selection.folder)
    listed = (
        spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(selection.paths[0])
        .filter(_name_matches(patterns))
        .select("path", F.col("length").alias("size"), F.unix_micros("modificationTime").alias("mtime_us"))
        .distinct()
        .collect()
    )
    files = sorted((ListedFile(normalize_source(r["path"]), r["size"], r["mtime_us"]) for r in listed), key=lambda f: f.path)
    if not files:
        raise UsageError(f"--landing {landing}: no file matching {', '.join(patterns)}")
    return Listing(files, remote=True, root=selection.paths[0])


def _read_parallelism(spark: SparkSession) -> int:
    for key in ("spark.default.parallelism", "spark.sql.shuffle.partitions"):
        try:
            value = spark.conf.get(key, None)
        except Exception:  # noqa: BLE001 - a server that does not know the key
            value = None
        if value and str(value).isdigit() and int(value) > 0:
            return int(value)
    return os.cpu_count() or 1


def read_files(spark: SparkSession, files: list[ListedFile], remote: bool, limits: ParseLimits) -> DataFrame:
    """Staged rows of these files: every line, then one summary row per file (source_line -1).

    Each file is parsed whole by exactly one task. The engine is never asked to scan a local
    file itself: Sail 0.7 splits a binaryFile scan into byte ranges across files (DataFusion's
    file-scan repartitioning, which Sail does not turn off for this whole-file source) and emits
    the whole content once per range, so a file crossing a range boundary would be parsed twice
    (README, Ingest). Local files go to the tasks by path, largest first, round robin; a URI's
    bytes come from the engine, one row per path kept."""
    schema = "path string, size long, mtime_us long"
    if not remote:
        ordered = sorted(files, key=lambda f: (-f.size, f.path))
        listing = spark.createDataFrame([(f.path, f.size, f.mtime_us) for f in ordered], schema)
        inputs = listing.repartition(max(1, min(len(ordered), _read_parallelism(spark))))
    else:
        inputs = (
            spark.read.format("binaryFile").load([f.path for f in files])
            .select("path", F.col("length").alias("size"), F.unix_micros("modificationTime").alias("mtime_us"), "content")
            .dropDuplicates(["path"])
        )
    return inputs.mapInArrow(_parse_partition(limits), INGEST_STAGING.schema)


def read_landing(spark: SparkSession, landing: str, patterns: list[str], limits: ParseLimits) -> DataFrame:
    """Every line of every landing file the argument names, parsed (no file summary rows)."""
    listing = list_landing(spark, landing, patterns)
    return read_files(spark, listing.files, listing.remote, limits).filter(F.col("source_line") != FILE_ROW)


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


def ingest(
    spark: SparkSession, lakehouse: Lakehouse, config: EchoConfig, landing: str, *, reprocess: str | None = None
) -> dict[str, Any]:
    """Ingest the landing files no run has read yet (and those `reprocess` names: a glob, or '*').

    A file is known by its path, size and modification time as `landing_files` recorded them;
    a file whose size or time changed is read again whole (its digest is recorded anew)."""
    clock = StageClock("ingest")
    started = datetime.now(timezone.utc)
    run_id = uuid.uuid4().hex
    limits = ParseLimits.for_run(
        config.ingest.max_json_depth, config.ingest.min_ts, config.ingest.max_future_skew_hours, started
    )
    for table in (EVENTS, QUARANTINE, LANDING_FILES, TOMBSTONES):
        lakehouse.ensure(table)

    with clock.stage("list landing files"):
        listing = list_landing(spark, landing, config.ingest.file_patterns)
        seen = _signatures(lakehouse)
        todo = [
            f for f in listing.files
            if (f.path, f.size, f.mtime_us) not in seen
            or (reprocess is not None and reprocess_matches(f.path, reprocess, listing.root))
        ]
    listed = {"files_listed": len(listing.files), "files_skipped": len(listing.files) - len(todo)}
    if not todo:
        metrics = {**_nothing_read(lakehouse), **listed, "stage_seconds": clock.timings}
        return metrics

    passes = ingest_passes(todo, config.ingest.bytes_per_pass)
    metrics: dict[str, Any] = {}
    for number, files in enumerate(passes, 1):
        label = f" (pass {number} of {len(passes)}, {len(files)} files)" if len(passes) > 1 else ""
        metrics = _add_pass(metrics, _ingest_pass(lakehouse, files, listing, limits, started, run_id, clock, label))
    metrics.update(listed)
    metrics["passes"] = len(passes)
    metrics["stage_seconds"] = clock.timings
    return metrics


def ingest_passes(files: list[ListedFile], bytes_per_pass: int) -> list[list[ListedFile]]:
    """The files in path order, cut into passes of at most `bytes_per_pass` (a larger file alone).

    Path order keeps "first delivery" what one pass would make it: a pass adds to bronze only the
    event_ids that earlier passes (with earlier paths) did not bring."""
    passes: list[list[ListedFile]] = []
    size = 0
    for f in sorted(files, key=lambda f: f.path):
        if not passes or size + max(f.size, 0) > bytes_per_pass and passes[-1]:
            passes.append([])
            size = 0
        passes[-1].append(f)
        size += max(f.size, 0)
    return passes


def _ingest_pass(lakehouse: Lakehouse, todo: list[ListedFile], listing: Listing, limits: ParseLimits,
                 started: datetime, run_id: str, clock: StageClock, label: str) -> dict[str, Any]:
    """Parse, write and record one pass's files: each pass ends with its own landing_files commit,
    so a crash after one pass leaves that pass ingested and recorded and the rest for the next run."""
    spark = lakehouse.spark
    with clock.stage(f"parse landing files into staging{label}"):
        lakehouse.overwrite(INGEST_STAGING, read_files(spark, todo, listing.remote, limits))
    staged = lakehouse.read(INGEST_STAGING)
    try:
        lines = staged.filter(F.col("source_line") != FILE_ROW)
        files = staged.filter(F.col("source_line") == FILE_ROW).select(
            "source_file", "file_sha256", "file_size", "file_mtime_us", "file_lines", "file_quarantined"
        ).collect()
        with clock.stage(f"apply erasure tombstones{label}"):
            erased = _erased_lines(lakehouse, lines, started)
        if erased:
            dropped = spark.createDataFrame([(f, n) for f, n, _ in erased], "source_file string, source_line long")
            lines = lines.join(dropped, ["source_file", "source_line"], "left_anti")
        metrics = _load_staged(lakehouse, lines, started, clock, label)
        inserted_by_file = metrics.pop("_inserted_by_file")
        with clock.stage(f"record landing files{label}"):
            rewritten = _record_files(lakehouse, files, inserted_by_file, erased, listing.remote, run_id, started,
                                      metrics["bronze_version"])
    finally:
        lakehouse.drop_local(INGEST_STAGING)
    metrics["files_read"] = len(files)
    metrics["erased"] = len(erased)
    metrics["lines_read"] += len(erased)
    metrics["landing_files_rewritten"] = rewritten
    return metrics


def _add_pass(total: dict[str, Any], one: dict[str, Any]) -> dict[str, Any]:
    """A run's figures: the passes' counts summed (a duplicate of an earlier pass's event counts as
    already in bronze, not in batch), the last bronze version."""
    if not total:
        return one
    merged = {k: (v + one[k] if isinstance(v, int) and k != "bronze_version" else v) for k, v in total.items()}
    merged["quarantined_by_reason"] = dict(sorted(
        (Counter(total["quarantined_by_reason"]) + Counter(one["quarantined_by_reason"])).items()))
    merged["bronze_version"] = one["bronze_version"]
    return merged


def _signatures(lakehouse: Lakehouse) -> set[tuple[str, int, int]]:
    """(path, size, mtime_us) of every file version a run has recorded."""
    rows = lakehouse.read(LANDING_FILES).select("path", "size", F.unix_micros("modified").alias("mtime_us")).collect()
    return {(r["path"], r["size"], r["mtime_us"]) for r in rows}


def _nothing_read(lakehouse: Lakehouse) -> dict[str, Any]:
    return {
        "files_read": 0, "lines_read": 0, "inserted": 0, "duplicates": 0, "duplicates_in_batch": 0,
        "duplicates_already_in_bronze": 0, "duplicates_conflicting": 0, "quarantined": 0,
        "quarantined_by_reason": {}, "erased": 0, "landing_files_rewritten": 0,
        "bronze_version": lakehouse.version(EVENTS),
    }


# A field of a quarantined raw line that does not parse as JSON (a cut line, say).
_RAW_FIELD = '"{}"\\s*:\\s*"((?:[^"\\\\]|\\\\.)*)"'


def _raw_field(name: str) -> Column:
    return F.coalesce(
        F.col(name),
        F.get_json_object("raw", f"$.{name}"),
        F.nullif(F.regexp_extract("raw", _RAW_FIELD.format(name), 1), F.lit("")),
    )


def _erased_lines(lakehouse: Lakehouse, lines: DataFrame, started: datetime) -> list[tuple[str, int, bool]]:
    """(file, line, quarantined) of the staged lines of erased users and of their sessions.

    A line is erased when the SHA-256 of its user_id, or of its session_id, is a tombstone, or
    when its session has a line of an erased user in this batch (a late session whose other
    events carry no user_id); such sessions become tombstones too, so later files drop them."""
    tombstones = lakehouse.read(TOMBSTONES).select("kind", F.col("subject_sha256").alias("_h"))
    if not has_rows(tombstones):
        return []
    keyed = lines.select(
        "source_file",
        "source_line",
        F.col("quarantine_reason").isNotNull().alias("_quarantined"),
        F.sha2(_raw_field("user_id"), 256).alias("_uh"),
        F.sha2(_raw_field("session_id"), 256).alias("_sh"),
    )
    users = tombstones.filter(F.col("kind") == "user").select("_h")
    sessions = tombstones.filter(F.col("kind") == "session").select("_h")
    by_user = keyed.join(F.broadcast(users), keyed["_uh"] == users["_h"], "left_semi")
    found = {r["_sh"] for r in by_user.filter(F.col("_sh").isNotNull()).select("_sh").distinct().collect()}
    known = {r["_h"] for r in sessions.collect()}
    new_sessions = sorted(found - known)
    if new_sessions:
        at = _timestamp_literal(started)
        rows = lakehouse.spark.createDataFrame([("session", h) for h in new_sessions], "kind string, subject_sha256 string")
        lakehouse.merge(TOMBSTONES, rows.withColumn("recorded_at", at))
    all_sessions = lakehouse.spark.createDataFrame([(h,) for h in sorted(found | known)] or [("",)], "_h string")
    by_session = keyed.join(F.broadcast(all_sessions), keyed["_sh"] == all_sessions["_h"], "left_semi")
    erased = by_user.unionByName(by_session).select("source_file", "source_line", "_quarantined").distinct().collect()
    return sorted((r["source_file"], r["source_line"], bool(r["_quarantined"])) for r in erased)


def _record_files(
    lakehouse: Lakehouse,
    files: list[Any],
    inserted_by_file: dict[str, int],
    erased: list[tuple[str, int, bool]],
    remote: bool,
    run_id: str,
    started: datetime,
    bronze_version: int | None,
) -> int:
    """Record the files read (one `landing_files` row per path and digest), after bronze.

    This is the run's last commit: a crash before it leaves the files unrecorded, so the next
    run reads them again, and bronze (by event_id) and quarantine (by source_file, source_line)
    take nothing twice; a crash after it leaves them recorded and ingested. A local file that held erased
    lines is rewritten without them: the rewritten version is recorded in the same commit and
    renamed over the original right after (see rewrite.py for a crash in between)."""
    by_file: dict[str, list[tuple[int, bool]]] = {}
    for source, number, quarantined in erased:
        by_file.setdefault(source, []).append((number, quarantined))
    records: list[tuple[Any, ...]] = []
    prepared: list[PreparedRewrite] = []
    for row in files:
        path, gone = row["source_file"], by_file.get(row["source_file"], [])
        quarantined = row["file_quarantined"] - sum(q for _, q in gone)
        valid = row["file_lines"] - quarantined - len(gone)
        inserted = inserted_by_file.get(path, 0)
        records.append((path, row["file_sha256"], row["file_size"], row["file_mtime_us"], row["file_lines"],
                        valid, inserted, quarantined, len(gone), "ingested"))
        if gone and not remote and row["file_sha256"]:
            rewrite = rewrite_without_lines(path, [n for n, _ in gone], expected_sha256=row["file_sha256"])
            if rewrite is not None:
                prepared.append(rewrite)
                records.append((path, rewrite.sha256, rewrite.size, rewrite.mtime_us, row["file_lines"] - len(gone),
                                valid, inserted, quarantined, rewrite.removed, "rewritten"))
    commit_after(prepared, lambda: record_landing_files(lakehouse, records, run_id, started, bronze_version))
    return len(prepared)


def record_landing_files(
    lakehouse: Lakehouse, records: list[tuple[Any, ...]], run_id: str, started: datetime, bronze_version: int | None
) -> None:
    """MERGE (path, sha256, size, mtime_us, lines, valid, inserted, quarantined, erased, status) rows."""
    schema = ("path string, sha256 string, size long, mtime_us long, lines long, valid long, inserted long, "
              "quarantined long, erased long, status string")
    rows = (
        lakehouse.spark.createDataFrame(records, schema)
        .withColumn("modified", F.timestamp_micros("mtime_us"))
        .withColumn("run_id", F.lit(run_id))
        .withColumn("recorded_at", _timestamp_literal(started))
        .withColumn("bronze_version", F.lit(bronze_version).cast("long"))
    )
    lakehouse.merge(LANDING_FILES, rows, update_matched=True)


def batch_counts(staged: DataFrame, bronze: DataFrame) -> DataFrame:
    """The staged lines counted in one aggregation, per (source_file, quarantine_reason): `lines`,
    and of the valid ones `first` (first deliveries, what bronze_rows keeps), `present` (first
    deliveries whose event_id bronze already holds), `conflicting_present` (those with another
    event_hash in bronze) and `conflicting_in_batch` (event_ids delivered with two hashes or more
    in this batch, counted once, at their first delivery)."""
    valid = F.col("quarantine_reason").isNull()
    event = Window.partitionBy("event_id", valid)
    first = F.row_number().over(event.orderBy("source_file", "source_line")) == 1
    in_bronze = bronze.select("event_id", F.col("event_hash").alias("_bronze_hash"), F.lit(True).alias("_present"))
    lines = (
        staged.withColumn("_first", valid & first)
        .withColumn("_hashes_differ", F.min("event_hash").over(event) != F.max("event_hash").over(event))
        .join(in_bronze, "event_id", "left")
    )
    present = F.col("_first") & F.col("_present").isNotNull()

    def count(condition: Column) -> Column:
        return F.sum(F.when(condition, F.lit(1)).otherwise(F.lit(0))).cast("long")

    return lines.groupBy("source_file", "quarantine_reason").agg(
        F.count(F.lit(1)).alias("lines"),
        count(F.col("_first")).alias("first"),
        count(present).alias("present"),
        count(present & (F.col("event_hash") != F.col("_bronze_hash"))).alias("conflicting_present"),
        count(F.col("_first") & F.col("_hashes_differ")).alias("conflicting_in_batch"),
    )


def _load_staged(lakehouse: Lakehouse, staged: DataFrame, started: datetime, clock: StageClock,
                 label: str = "") -> dict[str, Any]:
    """Write the staged lines to quarantine and bronze; every count comes from `batch_counts`,
    taken before the writes (what bronze held before this batch), and decides which write is
    needed at all."""
    with clock.stage(f"count lines, verdicts and duplicates{label}"):
        rows = batch_counts(staged, lakehouse.read(EVENTS)).collect()
    by_reason: dict[str, int] = {}
    batch_by_file: dict[str, int] = {}
    present_by_file: dict[str, int] = {}
    for r in rows:
        if r["quarantine_reason"] is not None:
            by_reason[r["quarantine_reason"]] = by_reason.get(r["quarantine_reason"], 0) + r["lines"]
        elif r["first"]:
            batch_by_file[r["source_file"]] = batch_by_file.get(r["source_file"], 0) + r["first"]
            if r["present"]:
                present_by_file[r["source_file"]] = present_by_file.get(r["source_file"], 0) + r["present"]
    lines = sum(r["lines"] for r in rows)
    quarantined = sum(by_reason.values())
    valid_count = lines - quarantined
    batch_distinct = sum(batch_by_file.values())
    already_present = sum(present_by_file.values())
    conflicting = sum(r["conflicting_present"] + r["conflicting_in_batch"] for r in rows)

    with clock.stage(f"merge quarantine{label}"):
        if quarantined:
            lakehouse.merge(QUARANTINE, quarantine_rows(staged, started))
    with clock.stage(f"deduplicate and append events{label}"):
        if batch_distinct > already_present:
            # Insert only: the first deliveries bronze lacks, found by their event_id alone and
            # appended in one commit. A MERGE joined the pass with every bronze row and column,
            # and ran out of a 1.5 GB engine budget at 2M events in bronze.
            present_ids = lakehouse.read(EVENTS).select("event_id")
            lakehouse.append(EVENTS, bronze_rows(staged, started).join(present_ids, "event_id", "left_anti"))

    return {
        "lines_read": lines,
        "inserted": batch_distinct - already_present,
        "duplicates": (valid_count - batch_distinct) + already_present,
        "duplicates_in_batch": valid_count - batch_distinct,
        "duplicates_already_in_bronze": already_present,
        "duplicates_conflicting": conflicting,
        "quarantined": quarantined,
        "quarantined_by_reason": dict(sorted(by_reason.items())),
        "bronze_version": lakehouse.version(EVENTS),
        # Per file, so that landing_files can say what each file brought.
        "_inserted_by_file": {f: n - present_by_file.get(f, 0) for f, n in batch_by_file.items()},
    }


def summary(metrics: dict[str, Any]) -> Summary:
    keys = ("files_listed", "files_skipped", "files_read", "passes", "lines_read", "inserted", "duplicates",
            "duplicates_in_batch", "duplicates_already_in_bronze", "duplicates_conflicting", "quarantined", "erased",
            "landing_files_rewritten")
    return Summary("ingest summary", [(key, metrics[key]) for key in keys if key in metrics]
                   + [(f"  quarantined: {reason}", n) for reason, n in metrics["quarantined_by_reason"].items()])
