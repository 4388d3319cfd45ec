"""`echo-spark lifecycle`: bronze events -> silver `completions` + `orphans`, incrementally.

Spark groups a session's events by document (a lifecycle window) and runs the pure tracker on
each group with `applyInArrow`, shipping only the columns the tracker reads. Session facts that
live on document-less events (position encoding, session end) are joined onto every row first.
Only sessions with events ingested after the last run's watermark are tracked again; their rows
are MERGEd into silver, so a rerun with no new events writes nothing.
"""

from __future__ import annotations

import argparse
import json
import uuid
from datetime import datetime, timezone
from functools import partial
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ..config import EchoConfig, LifecycleConfig
from ..engine import get_spark
from ..lakehouse import Lakehouse, has_rows
from ..privacy import erased_sessions, opted_out_sessions
from ..progress import StageClock, Summary, print_summary
from ..silver_digest import input_digest
from ..tables import COMPLETIONS, EVENTS, JOB_RUNS, LIFECYCLE_STAGING, ORPHANS, TOMBSTONES
from ..udf_pool import warm
from ..udf_server import WORKER_MODULES

JOB = "lifecycle"

# What the tracker reads of each event; everything else stays in bronze.
TRACKER_COLUMNS = (
    "event_id", "type", "ts", "seq", "session_id", "user_id", "doc_id", "language", "version", "text",
    "changes", "offset", "selection_end", "request_id", "prefix", "suffix", "trigger", "model",
    "accepted_length", "reason",
)
SESSION_FACT_COLUMNS = ("session_position_encoding", "session_end_ts", "session_user_id")




def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--full", action="store_true", help="track every session again, not only those with new events")


def run(config: EchoConfig, args: argparse.Namespace) -> dict[str, Any]:
    if config.engine.kind == "sail":
        # The embedded engine's UDFs run in this process's worker pool: its fork server imports and
        # prepares the tracker once, while the engine starts and finds the sessions to track, and
        # forks the workers from that.
        warm(partial(prepare_tracker, config.lifecycle), config.engine.udf_workers, preload=WORKER_MODULES["lifecycle"])
    spark = get_spark(config.engine)
    metrics = lifecycle(spark, Lakehouse(spark, config.lakehouse), config, full=args.full)
    print_summary(summary(metrics))
    return metrics


def with_session_facts(events: DataFrame) -> DataFrame:
    """Document events with their session's encoding, end time and user joined on."""
    facts = events.groupBy("session_id").agg(
        F.max(F.when(F.col("type") == "session_start", F.col("position_encoding"))).alias("session_position_encoding"),
        F.max(F.when(F.col("type") == "session_end", F.col("ts"))).alias("session_end_ts"),
        F.max("user_id").alias("session_user_id"),
    )
    # Unknown fields (JSON) ship only for completion_shown, whose `replace_start` the tracker reads
    # from them (telemetry v1 added the field after bronze's typed columns were fixed).
    shown_extra = F.when(F.col("type") == "completion_shown", F.col("extra")).alias("extra")
    documents = events.filter(F.col("doc_id").isNotNull()).select(*TRACKER_COLUMNS, shown_extra)
    return documents.join(facts, "session_id", "left")


def track_table(config: LifecycleConfig, group: Any) -> Any:
    """One (session, document) group's bronze rows (Arrow) -> its staging rows (Arrow)."""
    import pyarrow as pa
    from pyspark.sql.pandas.types import to_arrow_schema

    from echo_spark.lifecycle.spark_rows import staged_rows
    from echo_spark.tables import LIFECYCLE_STAGING

    schema = to_arrow_schema(LIFECYCLE_STAGING.schema, timezone="UTC")
    return pa.Table.from_pylist(list(staged_rows(group.to_pylist(), config)), schema=schema)


def prepare_tracker(config: LifecycleConfig) -> None:
    """What a UDF worker loads before its first group of `track_table`: the tracker's modules and
    pandas, which the staging schema's conversion imports."""
    import pyarrow as pa

    track_table(config, pa.table({}))


def _track_group(config: LifecycleConfig, processes: int):
    """The applyInArrow body; closes over the (picklable) lifecycle configuration only."""
    body = partial(track_table, config)

    def track(group: Any) -> Any:
        from echo_spark.udf_pool import offload

        return offload(body, group, processes)

    return track


def track_documents(scope: DataFrame, config: LifecycleConfig, processes: int = 0) -> DataFrame:
    """Every lifecycle window of `scope` tracked; `processes` > 0 runs the tracker in that many
    worker processes (`udf_pool`), for engines that run UDFs in their own process."""
    return with_session_facts(scope).groupBy("session_id", "doc_id").applyInArrow(
        _track_group(config, processes), LIFECYCLE_STAGING.schema
    )


def sessions_with_new_events(events: DataFrame, since: datetime, literals_max: int) -> DataFrame:
    """The events of every session with an event ingested after `since`. Up to `literals_max` such
    sessions are picked by their ids as literals: joined with bronze instead, on the first day
    after a full run Sail built the join on bronze's every column (tracking a day's 18 sessions at
    1M events took the engine from 0.26 to 1.2 GB, and a day's 210 sessions at 10M to 9.5 GB; with
    the literals, 0.4 GB at 1M). Past that many (a backlog), by a semi join."""
    changed = events.filter(F.col("ingested_at") > F.lit(since)).select("session_id").distinct()
    ids = [row["session_id"] for row in changed.limit(literals_max + 1).collect()]
    if len(ids) > literals_max:
        return events.join(changed, "session_id", "left_semi")
    return events.filter(F.col("session_id").isin(ids) if ids else F.lit(False))


def _last_watermark(lakehouse: Lakehouse) -> datetime | None:
    runs = lakehouse.read(JOB_RUNS).filter(F.col("job") == JOB).agg(F.max("watermark").alias("w")).collect()
    return runs[0]["w"] if runs else None


def lifecycle(spark: SparkSession, lakehouse: Lakehouse, config: EchoConfig, *, full: bool = False) -> dict[str, Any]:
    clock = StageClock(JOB)
    started = datetime.now(timezone.utc)
    for table in (COMPLETIONS, ORPHANS, JOB_RUNS):
        lakehouse.ensure(table)
    lakehouse.add_missing_columns(COMPLETIONS)  # silver written before its newer columns
    events = lakehouse.read(EVENTS)
    previous = None if full else _last_watermark(lakehouse)

    with clock.stage("find sessions with new events"):
        watermark = events.agg(F.max("ingested_at").alias("w")).collect()[0]["w"]
        if previous is None:
            scope = events
        else:
            scope = sessions_with_new_events(events, previous, config.lakehouse.upsert_keys_max)
        # Opted-out and erased sessions are marked, counted and left out in one aggregation. An
        # erased user's events that reached bronze after the erasure (an ingest racing it) are never
        # tracked, like opted-out ones; tombstones are looked at only once somebody was erased.
        marked = scope.join(opted_out_sessions(scope, config.privacy).withColumn("_opted_out", F.lit(True)),
                            "session_id", "left")
        tombstones = lakehouse.read(TOMBSTONES)
        if has_rows(tombstones):
            marked = marked.join(erased_sessions(scope, tombstones).withColumn("_erased", F.lit(True)), "session_id", "left")
        else:
            marked = marked.withColumn("_erased", F.lit(None).cast("boolean"))
        opted, erased = F.col("_opted_out").isNotNull(), F.col("_erased").isNotNull()
        kept = ~opted & ~erased
        size = marked.agg(
            F.countDistinct(F.when(opted, F.col("session_id"))).alias("opted_out"),
            F.countDistinct(F.when(~opted & erased, F.col("session_id"))).alias("erased"),
            F.countDistinct(F.when(kept, F.col("session_id"))).alias("sessions"),
            F.count(F.when(kept, F.lit(1))).alias("events"),
        ).collect()[0]
        scope = marked.filter(kept).drop("_opted_out", "_erased")
        sessions, sessions_opted_out, sessions_erased = size["sessions"], size["opted_out"], size["erased"]
        passes = max(1, round(size["events"] / config.lifecycle.events_per_pass))

    metrics: dict[str, Any] = {
        "sessions_tracked": sessions,
        "sessions_opted_out": sessions_opted_out,
        "sessions_erased": sessions_erased,
        "full": full or previous is None,
    }
    if sessions == 0:
        metrics.update(requests=0, completions=0, orphans=0, stage_seconds=clock.timings)
        return metrics

    processes = config.engine.udf_workers
    for part in range(passes):
        label = f"track {sessions} sessions" + (f", pass {part + 1} of {passes}" if passes > 1 else "")
        with clock.stage(label):
            share = scope if passes == 1 else scope.filter(F.pmod(F.xxhash64("session_id"), F.lit(passes)) == part)
            tracked = track_documents(share, config.lifecycle, processes)
            (lakehouse.overwrite if part == 0 else lakehouse.append)(LIFECYCLE_STAGING, tracked)
    metrics["passes"] = passes
    staged = lakehouse.read(LIFECYCLE_STAGING)
    try:
        with clock.stage("write completions and orphans"):
            # With its input digest, which curate reads instead of hashing every row's texts again.
            completions = staged.filter(F.col("record_kind") == "completion").withColumn("input_sha256", input_digest())
            orphans = staged.filter(F.col("record_kind") == "orphan").select(
                F.col("orphan_event_id").alias("event_id"), "session_id", "doc_id", "request_id",
                F.col("orphan_type").alias("type"), F.col("orphan_ts").alias("ts"), F.col("orphan_reason").alias("reason"),
            )
            metrics["completions_replaced"] = lakehouse.upsert(COMPLETIONS, completions)
            lakehouse.upsert(ORPHANS, orphans)
        with clock.stage("summarize"):
            metrics.update(summary_measures(summary_counts(scope, staged).collect()))
    finally:
        lakehouse.drop_local(LIFECYCLE_STAGING)
    metrics["stage_seconds"] = clock.timings
    run_row = spark.createDataFrame(
        [(JOB, uuid.uuid4().hex, started.replace(tzinfo=None), watermark, json.dumps(metrics, default=str))],
        "job string, run_id string, started_at timestamp, watermark timestamp, metrics string",
    )
    lakehouse.append(JOB_RUNS, run_row)
    return metrics


# The breakdowns of the summary, one row per combination: a handful of rows reach the driver.
SUMMARY_DIMENSIONS = ("kind", "outcome", "finalize_reason", "tracking_mode", "void", "unknown", "requested", "reason")


def summary_counts(scope: DataFrame, staged: DataFrame) -> DataFrame:
    """The run's requests and staged rows counted in one aggregation over SUMMARY_DIMENSIONS.

    The scope's requests are rows of kind `request`; a staged completion is `requested` when
    its request is one of them (a completion for no request of the scope is unaccounted)."""
    requests = (scope.filter(F.col("type") == "completion_request").select("session_id", "request_id").distinct()
                .withColumn("_requested", F.lit(True)))
    staged_rows = staged.join(requests, ["session_id", "request_id"], "left").select(
        F.col("record_kind").alias("kind"), "outcome", "finalize_reason", "tracking_mode",
        F.coalesce(F.col("is_void"), F.lit(False)).alias("void"), F.col("committed").isNull().alias("unknown"),
        F.col("_requested").isNotNull().alias("requested"), F.col("orphan_reason").alias("reason"),
    )
    types = dict(staged_rows.dtypes)
    request_rows = requests.select(F.lit("request").alias("kind"),
                                   *[F.lit(None).cast(types[c]).alias(c) for c in SUMMARY_DIMENSIONS[1:]])
    return staged_rows.unionByName(request_rows).groupBy(*SUMMARY_DIMENSIONS).agg(F.count(F.lit(1)).alias("n"))


def summary_measures(rows: list[Any]) -> dict[str, Any]:
    """The summary measures from `summary_counts`' rows."""
    def total(kind: str, flag: str | None = None) -> int:
        return sum(r["n"] for r in rows if r["kind"] == kind and (flag is None or r[flag]))

    def by(kind: str, column: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in rows:
            if r["kind"] == kind:
                counts[str(r[column])] = counts.get(str(r[column]), 0) + r["n"]
        return dict(sorted(counts.items()))

    return {
        "requests": total("request"),
        "completions": total("completion"),
        "requests_unaccounted": total("request") - total("completion", "requested"),
        "void": total("completion", "void"),
        "committed_unknown": total("completion", "unknown"),
        "by_outcome": by("completion", "outcome"),
        "by_finalize_reason": by("completion", "finalize_reason"),
        "by_tracking_mode": by("completion", "tracking_mode"),
        "orphans": total("orphan"),
        "orphans_by_reason": by("orphan", "reason"),
    }


def summary(metrics: dict[str, Any]) -> Summary:
    keys = ("sessions_tracked", "sessions_opted_out", "passes", "requests", "completions", "completions_replaced",
            "requests_unaccounted", "void", "committed_unknown", "orphans")
    rows = [(key, metrics[key]) for key in keys if key in metrics]
    for group in ("by_outcome", "by_finalize_reason", "by_tracking_mode", "orphans_by_reason"):
        label = group.replace("by_", "").replace("_by_reason", "")
        rows += [(f"  {label}: {name}", n) for name, n in sorted(metrics.get(group, {}).items())]
    return Summary("lifecycle summary", rows)
