"""`echo-spark curate`: silver `completions` -> gold `sft_samples` + `curation_drops`.

Per-gap stages (teacher, boundary, syntax, identifiers, secrets, decontam) run in
`mapInArrow` over silver rows into a staging table; then the stages that need many rows at once:
dedup (grouped by language), perplexity outliers (quantiles over every survivor), proportioning
(on the driver, over small keys only) and the split by user. Gold is a function of silver, so both
tables are overwritten: a rerun over the same silver gives the same content.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ..config import BenchmarksConfig, CurateConfig, EchoConfig, LifecycleConfig
from ..engine import get_spark
from ..holdout import Holdout
from ..holdout_spark import heldout_users
from ..lakehouse import Lakehouse
from ..progress import StageClock
from ..tables import COMPLETIONS, CURATE_STAGING, CURATION_DROPS, SFT_SAMPLES
from ..udf_pool import udf_processes
from .pipeline import GLOBAL_STAGES, ROW_STAGES
from .proportion import SampleKey, length_bucket, proportion, split_of
from .report import write_report
from .verifiers.decontam import benchmarks_folder

# Held-out users' completions are recorded as drops of this stage and reason.
HOLDOUT_STAGE, HOLDOUT_REASON = "holdout", "evaluation_holdout"

# Silver rows per call of the per-gap stages in a worker process (`udf_pool`): small enough that a
# partition handed over as one batch keeps every worker busy, large enough to amortize the call.
ROWS_PER_TASK = 256

SILVER_COLUMNS = (
    "request_id", "session_id", "user_id", "doc_id", "language", "prefix", "suffix", "proposal", "outcome",
    "committed", "skipped_reason", "request_event_id", "event_ids", "finalize_reason",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--report-dir", metavar="DIR", help="where the data-quality report goes (default: LAKEHOUSE/reports/curate)")


def run(config: EchoConfig, args: argparse.Namespace) -> dict[str, Any]:
    spark = get_spark(config.engine)
    lakehouse = Lakehouse(spark, config.lakehouse)
    report_dir = Path(args.report_dir) if args.report_dir else Path(config.lakehouse.root) / "reports" / "curate"
    metrics = curate(spark, lakehouse, config, report_dir=report_dir)
    print_summary(metrics)
    return metrics


def curate_table(config: CurateConfig, rows: Any, lifecycle: LifecycleConfig | None = None,
                 benchmarks: BenchmarksConfig | None = None) -> Any:
    """Silver rows (Arrow) -> staged rows (Arrow), with this process's curator for `config`, the
    configured `lifecycle` (its no-suffix bound tells the teacher where a C_N was cut) and
    `benchmarks` (what decontamination compares with)."""
    import pyarrow as pa
    from pyspark.sql.pandas.types import to_arrow_schema

    from echo_spark.curate.pipeline import shared_curator
    from echo_spark.tables import CURATE_STAGING

    schema = to_arrow_schema(CURATE_STAGING.schema, timezone="UTC")
    return pa.Table.from_pylist(shared_curator(config, lifecycle, benchmarks).curate(rows.to_pylist()), schema=schema)


def _row_stages(config: CurateConfig, processes: int, lifecycle: LifecycleConfig | None = None,
                benchmarks: BenchmarksConfig | None = None):
    body = partial(curate_table, config, lifecycle=lifecycle, benchmarks=benchmarks)

    def curate_batches(batches: Any) -> Any:
        from echo_spark.udf_pool import offload_batches

        yield from offload_batches(body, batches, processes, ROWS_PER_TASK)

    return curate_batches


def verify_gaps(
    silver: DataFrame, config: CurateConfig, processes: int = 0, lifecycle: LifecycleConfig | None = None,
    benchmarks: BenchmarksConfig | None = None,
) -> DataFrame:
    """Spread by request before the Python stages: silver written in a few files is a few partitions.
    `processes` > 0 runs the stages in that many worker processes (`udf_pool`). `lifecycle`: the
    configuration that tracked silver (its no-suffix bound; its defaults when None); `benchmarks`:
    the FIM benchmarks decontamination compares with (the default folder when None)."""
    return (
        silver.select(*SILVER_COLUMNS)
        .repartition("session_id", "request_id")
        .mapInArrow(_row_stages(config, processes, lifecycle, benchmarks), CURATE_STAGING.schema)
    )


def _dedup(config: CurateConfig):
    def dedup_group(table: Any) -> Any:
        import pyarrow as pa

        from echo_spark.curate.records import Gap
        from echo_spark.curate.text import gap_window
        from echo_spark.curate.verifiers.dedup import find_duplicates

        # A duplicate is the same training pair: only samples with the same (whitespace-normalized)
        # middle are compared, by their context windows; different targets never collapse.
        by_middle: dict[str, list[dict[str, Any]]] = {}
        for row in table.to_pylist():
            by_middle.setdefault(" ".join((row["middle"] or "").split()), []).append(row)
        dropped: list[tuple[str, str, str]] = []
        for rows in by_middle.values():
            if len(rows) < 2:
                continue
            keys = [f"{r['session_id']}\x1f{r['request_id']}" for r in rows]
            windows = [
                gap_window(Gap(r["request_id"], r["prefix"] or "", r["suffix"], r["middle"] or "", r["language"]),
                           config.dedup_context_chars)
                for r in rows
            ]
            found = find_duplicates(windows, keys, threshold=config.dedup_threshold, num_perm=config.dedup_num_perm,
                                    shingle_tokens=config.dedup_shingle_tokens, seed=config.seed)
            dropped += [(rows[d.index]["session_id"], rows[d.index]["request_id"], d.reason) for d in found]
        columns = list(zip(*dropped)) or [[], [], []]
        return pa.table({"session_id": list(columns[0]), "request_id": list(columns[1]), "drop_reason": list(columns[2])},
                        schema=pa.schema([("session_id", pa.string()), ("request_id", pa.string()), ("drop_reason", pa.string())]))

    return dedup_group


def find_duplicates_by_language(kept: DataFrame, config: CurateConfig) -> DataFrame:
    return (
        kept.select("session_id", "request_id", "language", "prefix", "suffix", "middle")
        .groupBy("language")
        .applyInArrow(_dedup(config), "session_id string, request_id string, drop_reason string")
    )


def _perplexity(model_path: str, batch_size: int, context_length: int | None = None):
    def score_batches(batches: Any) -> Any:
        import math

        import pyarrow as pa

        from echo_spark.curate.scoring import shared_model

        model = shared_model(model_path, context_length)
        for batch in batches:
            rows = batch.to_pylist()
            scores = model.score_batch([r["prefix"] or "" for r in rows], [r["suffix"] for r in rows],
                                       [r["middle"] or "" for r in rows], batch_size=batch_size)
            yield pa.RecordBatch.from_pydict({
                "session_id": [r["session_id"] for r in rows],
                "request_id": [r["request_id"] for r in rows],
                "perplexity": [math.exp(-s) for s in scores],
            })

    return score_batches


def scoring_model(config: EchoConfig) -> str | None:
    """The perplexity model's folder, or None when the stage cannot run."""
    if not config.curate.perplexity_enabled:
        return None
    path = config.curate.perplexity_model or config.train.base.dir
    return path if (Path(path) / "config.json").is_file() else None


def curate(spark: SparkSession, lakehouse: Lakehouse, config: EchoConfig, *, report_dir: Path | None = None) -> dict[str, Any]:
    cfg = config.curate
    clock = StageClock("curate")
    # Checked here, on the driver: a folder with no benchmark would fail inside every Spark task.
    benchmarks_folder(config.benchmarks)
    for table in (SFT_SAMPLES, CURATION_DROPS):
        lakehouse.ensure(table)
    silver = lakehouse.read(COMPLETIONS)

    # The evaluation holdout is policy: its users' completions never reach a training table.
    with clock.stage("evaluation holdout"):
        held = heldout_users(silver, Holdout.of(config.evaluate))
        held_df = spark.createDataFrame([(u,) for u in held] or [], "user_id string")
        trainable = silver.join(held_df, ["user_id"], "left_anti") if held else silver

    with clock.stage("per-gap stages (teacher, boundary, syntax, identifiers, secrets, decontam)"):
        lakehouse.overwrite(CURATE_STAGING, verify_gaps(trainable, cfg, udf_processes(config.engine), config.lifecycle,
                                                          config.benchmarks))
    staged = lakehouse.read(CURATE_STAGING)
    try:
        drops = staged.filter(~F.col("kept")).select(
            "request_id", "session_id", "user_id", "language", F.col("drop_stage").alias("stage"),
            F.col("drop_reason").alias("reason"), F.length("committed_raw").cast("long").alias("committed_chars"),
        )
        if held:
            drops = drops.unionByName(silver.join(held_df, ["user_id"], "left_semi").select(
                "request_id", "session_id", "user_id", "language", F.lit(HOLDOUT_STAGE).alias("stage"),
                F.lit(HOLDOUT_REASON).alias("reason"), F.length("committed").cast("long").alias("committed_chars"),
            ))
        kept = staged.filter(F.col("kept"))

        with clock.stage("dedup (exact and near, per language)"):
            duplicates = find_duplicates_by_language(kept, cfg).collect()
        dup_df = spark.createDataFrame([tuple(r) for r in duplicates] or [], "session_id string, request_id string, drop_reason string")
        kept = kept.join(dup_df.select("session_id", "request_id"), ["session_id", "request_id"], "left_anti")
        drops = drops.unionByName(_drops_of(staged, dup_df, "dedup"))

        model_path = scoring_model(config)
        scores: dict[tuple[str, str], float] = {}
        if model_path:
            with clock.stage("perplexity"):
                scored = kept.select("session_id", "request_id", "prefix", "suffix", "middle").mapInArrow(
                    _perplexity(model_path, cfg.perplexity_batch_size, cfg.perplexity_context_tokens),
                    "session_id string, request_id string, perplexity double").collect()
            scores = {(r["session_id"], r["request_id"]): r["perplexity"] for r in scored}
            low, high = _quantiles(sorted(scores.values()), cfg.perplexity_low_quantile, cfg.perplexity_high_quantile)
            outliers = [(s, r, "perplexity_below_quantile" if p < low else "perplexity_above_quantile")
                        for (s, r), p in scores.items() if p < low or p > high]
            out_df = spark.createDataFrame(outliers or [], "session_id string, request_id string, drop_reason string")
            kept = kept.join(out_df.select("session_id", "request_id"), ["session_id", "request_id"], "left_anti")
            drops = drops.unionByName(_drops_of(staged, out_df, "perplexity"))

        with clock.stage("proportion and split"):
            survivors = kept.select("session_id", "request_id", "user_id", "language",
                                    F.length("middle").alias("chars")).collect()
            keys = [SampleKey(f"{r['session_id']}\x1f{r['request_id']}", r["language"], r["chars"]) for r in survivors]
            chosen_idx = set(proportion(
                keys, edges=cfg.length_bucket_edges, length_shares=cfg.target_length_shares,
                void_share=cfg.target_void_share, language_shares=cfg.target_language_shares,
                max_samples=cfg.max_samples, seed=cfg.seed,
            ))
            chosen = [
                (r["session_id"], r["request_id"], length_bucket(r["chars"], cfg.length_bucket_edges),
                 split_of(r["user_id"], validation_share=cfg.validation_share, seed=cfg.seed),
                 scores.get((r["session_id"], r["request_id"])))
                for i, r in enumerate(survivors) if i in chosen_idx
            ]
            not_chosen = [(r["session_id"], r["request_id"], "over_target_share")
                          for i, r in enumerate(survivors) if i not in chosen_idx]
            chosen_df = spark.createDataFrame(
                chosen or [], "session_id string, request_id string, length_bucket string, split string, perplexity double")
            drops = drops.unionByName(_drops_of(staged, spark.createDataFrame(
                not_chosen or [], "session_id string, request_id string, drop_reason string"), "proportion"))
            gold = kept.join(chosen_df, ["session_id", "request_id"], "inner").select(
                F.sha2(F.concat_ws("\x1f", "session_id", "request_id"), 256).alias("sample_id"),
                "request_id", "session_id", "user_id", "doc_id", "language", "prefix", "suffix", "middle",
                (F.col("middle") == "").alias("is_void"), "split", "length_bucket",
                F.length("committed_raw").cast("long").alias("committed_chars"), "teacher_source", "perplexity",
                "redactions", "proposal", "outcome", "request_event_id", "event_ids",
            )

        with clock.stage("write gold and drops"):
            lakehouse.overwrite(SFT_SAMPLES, gold)
            lakehouse.overwrite(CURATION_DROPS, drops)

        with clock.stage("report"):
            metrics = _metrics(lakehouse, model_path)
            metrics["heldout_users"] = len(held)
            if report_dir is not None:
                metrics["report"] = str(write_report(metrics, _length_histograms(lakehouse, cfg), report_dir))
        if cfg.mlflow_experiment:
            from .tracking import log_curation_run

            with clock.stage("log to MLflow"):
                metrics["mlflow_run_id"] = log_curation_run(config, lakehouse, metrics, report_dir)
    finally:
        lakehouse.drop_local(CURATE_STAGING)
    metrics["stage_seconds"] = clock.timings
    return metrics


def _drops_of(staged: DataFrame, ids: DataFrame, stage: str) -> DataFrame:
    """Drop rows for the (session_id, request_id, drop_reason) ids a global stage removed."""
    reasons = ids.select("session_id", "request_id", F.col("drop_reason").alias("_reason"))
    return staged.join(reasons, ["session_id", "request_id"], "inner").select(
        "request_id", "session_id", "user_id", "language", F.lit(stage).alias("stage"),
        F.col("_reason").alias("reason"), F.length("committed_raw").cast("long").alias("committed_chars"),
    )


def _quantiles(values: list[float], low: float, high: float) -> tuple[float, float]:
    if not values:
        return 0.0, 0.0

    def at(q: float) -> float:
        return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]

    return at(low), at(high)


def _metrics(lakehouse: Lakehouse, model_path: str | None) -> dict[str, Any]:
    silver = lakehouse.read(COMPLETIONS).count()
    gold = lakehouse.read(SFT_SAMPLES)
    drops = lakehouse.read(CURATION_DROPS)
    by_stage: dict[str, dict[str, int]] = {}
    for row in drops.groupBy("stage", "reason").agg(F.count(F.lit(1)).alias("n")).collect():
        by_stage.setdefault(row["stage"], {})[row["reason"]] = row["n"]
    order = {s: i for i, s in enumerate(ROW_STAGES + GLOBAL_STAGES)}
    gold_count = gold.count()
    return {
        "silver": silver,
        "gold": gold_count,
        "dropped": drops.count(),
        "dropped_by_stage": {s: dict(sorted(r.items())) for s, r in sorted(by_stage.items(), key=lambda kv: order.get(kv[0], 99))},
        "gold_void": gold.filter(F.col("is_void")).count(),
        "gold_by_split": {r["split"]: r["n"] for r in gold.groupBy("split").agg(F.count(F.lit(1)).alias("n")).collect()},
        "gold_by_language": {str(r["language"]): r["n"] for r in gold.groupBy("language").agg(F.count(F.lit(1)).alias("n")).collect()},
        "gold_redacted": gold.filter(F.size("redactions") > 0).count(),
        "perplexity": "scored with " + model_path if model_path else "skipped: no scoring model built (echo-spark build-base-model) or configured",
        "gold_version": None if lakehouse.uses_catalog else lakehouse.version(SFT_SAMPLES),
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _length_histograms(lakehouse: Lakehouse, cfg: CurateConfig) -> dict[str, dict[str, int]]:
    """C_N length buckets before curation (silver, known C_N) and after (gold middles)."""
    def buckets(df: DataFrame, column: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in df.select(F.length(column).alias("n")).filter(F.col("n").isNotNull()).collect():
            bucket = length_bucket(row["n"], cfg.length_bucket_edges)
            counts[bucket] = counts.get(bucket, 0) + 1
        return counts

    return {"before": buckets(lakehouse.read(COMPLETIONS), "committed"), "after": buckets(lakehouse.read(SFT_SAMPLES), "middle")}


def print_summary(metrics: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="curate summary")
    table.add_column("measure")
    table.add_column("count", justify="right")
    for key in ("silver", "gold", "dropped", "gold_void", "gold_redacted"):
        table.add_row(key, str(metrics[key]))
    for stage, reasons in metrics["dropped_by_stage"].items():
        for reason, count in reasons.items():
            table.add_row(f"  dropped at {stage}: {reason}", str(count))
    Console().print(table)
    print(f"perplexity: {metrics['perplexity']}")
    if metrics.get("report"):
        print(f"report: {metrics['report']}")
