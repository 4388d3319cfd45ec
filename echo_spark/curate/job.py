"""`echo-spark curate`: silver `completions` -> gold `sft_samples` + `curation_drops`.

Per-gap stages (teacher, boundary, syntax, identifiers, secrets, decontam) run in `mapInArrow`
over silver rows and their verdicts are MERGEd into `curate_verdicts`, keyed by request with a
digest of the row's inputs and of the settings and code they depend on: a run computes verdicts only
for rows that are new or changed, or for every row when that digest changed. Then the stages that
need many rows at once, over the current verdicts: dedup (partitioned by a hash of language and
normalized middle), perplexity outliers (`percentile_approx` over every survivor), proportioning
(on the driver, over small keys only) and the split by user. Gold is a function of silver and the
configuration, so gold and drops are overwritten: a rerun, or runs day after day, over the same
silver give the same content as one full run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import uuid
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from ..config import BenchmarksConfig, CurateConfig, EchoConfig, LifecycleConfig
from ..engine import get_spark
from ..holdout import Holdout
from ..holdout_spark import heldout_users
from ..lakehouse import Lakehouse, has_rows
from ..progress import StageClock, Summary, print_summary
from ..silver_digest import SILVER_COLUMNS, with_input_digest
from ..tables import (
    COMPLETIONS,
    CURATE_CHOICE,
    CURATE_DEDUP,
    CURATE_DUPLICATES,
    CURATE_DUPLICATES_NEXT,
    CURATE_INPUTS,
    CURATE_PERPLEXITY,
    CURATE_SCORES,
    CURATE_STAGING,
    CURATE_VERDICTS,
    CURATION_DROPS,
    SFT_SAMPLES,
)
from ..udf_pool import warm
from ..udf_server import WORKER_MODULES
from .duplicates import MEMBER_COLUMNS, RESULT_COLUMNS, dedup_groups
from .pipeline import GLOBAL_STAGES, ROW_STAGES, verdicts_digest
from .proportion_spark import choose, length_bucket_column
from .report import import_figure_modules, write_report
from .verifiers.decontam import benchmarks_folder
from .worker import curate_table, prepare_curator, score_table

# Held-out users' completions are recorded as drops of this stage and reason.
HOLDOUT_STAGE, HOLDOUT_REASON = "holdout", "evaluation_holdout"

# Silver rows per call of the per-gap stages in a worker process (`udf_pool`): small enough that a
# partition handed over as one batch keeps every worker busy, large enough to amortize the call.
ROWS_PER_TASK = 256
# Samples per call of the perplexity scorer in a worker: a few of the model's batches per call.
PERPLEXITY_ROWS_PER_TASK = 128


# Partitions of the dedup candidates per UDF process (or per core): groups of many sizes balance out.
DEDUP_PARTITIONS_PER_PROCESS = 4
# Dedup candidates per pass: a pass shuffles its candidates' sketches (about 3 KB each) and holds
# them in memory; groups are whole in one pass, so passes give the result of one.
DEDUP_ROWS_PER_PASS = 100_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--report-dir", metavar="DIR", help="where the data-quality report goes (default: LAKEHOUSE/reports/curate)")
    parser.add_argument("--recompute", action="store_true",
                        help="compute every per-gap verdict again, as if curate_verdicts were empty")


def run(config: EchoConfig, args: argparse.Namespace) -> dict[str, Any]:
    if config.engine.kind == "sail":
        # The embedded engine's UDFs run in this process's worker pool: its fork server imports
        # the workers' modules and builds the curator (about 1.4 s) while the engine starts and
        # reads silver's digests, and forks the workers from that.
        warm(partial(prepare_curator, config.curate, CURATE_STAGING.arrow_schema, config.lifecycle, config.benchmarks),
             config.engine.udf_workers, preload=WORKER_MODULES["curate"])
    spark = get_spark(config.engine)
    lakehouse = Lakehouse(spark, config.lakehouse)
    report_dir = Path(args.report_dir) if args.report_dir else Path(config.lakehouse.root) / "reports" / "curate"
    metrics = curate(spark, lakehouse, config, report_dir=report_dir, recompute=getattr(args, "recompute", False))
    print_summary(summary(metrics))
    return metrics




def _offloaded(body: Any, processes: int, chunk_rows: int, label: str, progress: tuple[str, int] | None):
    """A mapInArrow function running `body` in the UDF worker processes (`udf_pool`: on Sail, in-process
    UDFs share one GIL) and saying rows done, rows/s and time left under `label`; `progress`: (a name for
    this run, rows expected), None for no progress."""
    def offloaded_batches(batches: Any) -> Any:
        from echo_spark.progress import row_progress
        from echo_spark.udf_pool import offload_batches

        tracker = row_progress(progress[0], label, progress[1]) if progress else None
        for batch in offload_batches(body, batches, processes, chunk_rows):
            if tracker is not None:
                tracker.add(batch.num_rows)
            yield batch

    return offloaded_batches


def verify_gaps(
    silver: DataFrame, config: CurateConfig, processes: int = 0, lifecycle: LifecycleConfig | None = None,
    benchmarks: BenchmarksConfig | None = None, progress: tuple[str, int] | None = None,
) -> DataFrame:
    """Silver in its own order: lifecycle writes a session's requests one after another, which is
    what lets the syntax verifier parse each document from the last one's tree (a shuffle by request
    scattered them; at 1M, per-gap 197.7 s with it, 191.9 s without). `processes` > 0 runs the
    stages in that many worker processes (`udf_pool`), which cut each batch into chunks for every
    worker, so a silver of few files still keeps every core busy. `lifecycle`: the configuration
    that tracked silver (its no-suffix bound; its defaults when None); `benchmarks`:
    the FIM benchmarks decontamination compares with (the default folder when None); `progress`:
    (a name for this run, rows expected) to say rows done, rows/s and time left on stderr. Silver's
    `input_sha256` is carried through when present."""
    columns = [*SILVER_COLUMNS, "input_sha256"] if "input_sha256" in silver.columns else list(SILVER_COLUMNS)
    return (
        silver.select(*columns)
        .mapInArrow(_offloaded(partial(curate_table, config, CURATE_STAGING.arrow_schema, lifecycle=lifecycle,
                                       benchmarks=benchmarks), processes,
                               ROWS_PER_TASK, "curate per-gap", progress), CURATE_STAGING.schema)
    )


def as_verdicts(staged: DataFrame, config_sha256: str) -> DataFrame:
    """Staged per-gap output -> `curate_verdicts` rows: a dropped gap keeps its verdict and
    provenance, not its text (gold never needs it; silver still has it)."""
    kept = F.col("kept")
    return staged.select(
        "request_id", "session_id", "user_id", "doc_id", "language", "outcome", "request_event_id", "event_ids",
        F.length("committed_raw").cast("long").alias("committed_chars"), "teacher_source", "kept", "drop_stage",
        "drop_reason", "redactions",
        *[F.when(kept, F.col(c)).alias(c) for c in ("prefix", "suffix", "middle", "proposal", "dedup_key", "dedup_exact",
                                                     "dedup_shingles", "dedup_signature")],
        "input_sha256", F.lit(config_sha256).alias("config_sha256"), F.current_timestamp().alias("computed_at"),
    )


DEDUP_SCHEMA = ", ".join(f"{name} string" for name in RESULT_COLUMNS)


def _dedup_partitions(config: CurateConfig, processes: int):
    body = partial(dedup_groups, config)

    def dedup_partition(batches: Any) -> Any:
        import pyarrow as pa

        from echo_spark.udf_pool import offload

        # A partition holds whole groups (hash-partitioned by dedup_key): one call per partition,
        # in a worker process on Sail, so partitions running at once keep every core busy.
        batches = list(batches)
        if not batches or not any(b.num_rows for b in batches):
            return
        yield from offload(body, pa.Table.from_batches(batches), processes).to_batches()

    return dedup_partition


def duplicate_candidates(kept: DataFrame) -> DataFrame:
    """The `kept` verdicts whose `dedup_key` another one shares: a key held by one sample cannot
    hold a duplicate and never reaches Python."""
    repeated = kept.groupBy("dedup_key").agg(F.count(F.lit(1)).alias("_n")).filter(F.col("_n") > 1).select("dedup_key")
    return kept.join(repeated, ["dedup_key"], "left_semi")


def find_duplicates_partitioned(kept: DataFrame, config: CurateConfig, processes: int = 0, *,
                                passes: int = 1, part: int = 0) -> DataFrame:
    """Every member of a group of `kept` verdicts (`duplicates.RESULT_COLUMNS`: its ids, input digest
    and user, and drop_reason, null when it stays), of the groups in pass `part` of `passes` when
    more than one. The candidates are hash-partitioned by
    `dedup_key`, so each group is whole in one partition and groups spread over every core (by
    language, one task would hold all of a language). The same groups as grouping by language and then by normalized
    middle, so the same result: `find_duplicates` orders each group by key, not by arrival."""
    candidates = duplicate_candidates(kept).select(*MEMBER_COLUMNS, "dedup_exact", "dedup_shingles", "dedup_signature")
    if passes > 1:
        candidates = candidates.filter(F.pmod(F.xxhash64("dedup_key"), F.lit(passes)) == part)
    partitions = max(processes, 1) * DEDUP_PARTITIONS_PER_PROCESS
    return candidates.repartition(partitions, "dedup_key").mapInArrow(_dedup_partitions(config, processes), DEDUP_SCHEMA)


# The comparison of a group's samples: a group's stored result is stale once it changes.
_DEDUP_CODE = Path(__file__).with_name("duplicates.py")


def dedup_incrementally(lakehouse: Lakehouse, kept: DataFrame, config: CurateConfig, verdicts_sha256: str,
                        processes: int = 0) -> DataFrame:
    """(session_id, request_id, drop_reason) of every duplicate among the `kept` verdicts.

    A group's result depends on its members alone, so `curate_duplicates` keeps every group's
    members and result, and a run dedups again only the groups whose members changed (a sample in
    or out, a changed verdict) or, when the settings or the comparison's code did, all. The
    candidates are deduped in passes of at most DEDUP_ROWS_PER_PASS, each a share of the groups."""
    spark = lakehouse.spark
    settings = hashlib.sha256(json.dumps({
        "threshold": config.dedup_threshold, "num_perm": config.dedup_num_perm, "verdicts": verdicts_sha256,
        "code": hashlib.sha256(_DEDUP_CODE.read_bytes()).hexdigest(),
    }, sort_keys=True).encode("utf-8")).hexdigest()
    member = ["dedup_key", "session_id", "request_id", "input_sha256"]
    lakehouse.ensure(CURATE_DUPLICATES)
    known = lakehouse.read(CURATE_DUPLICATES).filter(F.col("settings_sha256") == settings)
    members = duplicate_candidates(kept).select(*member)
    if has_rows(known):
        # Each changed group with its members now (0: it is gone), in one query over one outer join
        # of the members now and as stored (two anti-joins and the sizes read the members three
        # times): the changed groups' members are the candidates to dedup again.
        now, stored = F.col("_now").isNotNull(), F.col("_stored").isNotNull()
        changed_groups = members.withColumn("_now", F.lit(True)).join(
            known.select(*member).withColumn("_stored", F.lit(True)), member, "full_outer").groupBy("dedup_key").agg(
            F.count(F.when(now, F.lit(1))).alias("members"), F.bool_or(~now | ~stored).alias("_changed"),
        ).filter("_changed").collect()
        changed_keys = [row["dedup_key"] for row in changed_groups]
        candidates = sum(row["members"] or 0 for row in changed_groups)
        changed = spark.createDataFrame([(key,) for key in changed_keys], "dedup_key string")
        scope = kept.join(changed, ["dedup_key"], "left_semi")
        unchanged = known.join(changed, ["dedup_key"], "left_anti")
    else:
        changed_keys, scope, unchanged = None, kept, None
        candidates = members.count()
    print("[curate] dedup: every group (no results for these settings yet)" if changed_keys is None else
          f"[curate] dedup: {len(changed_keys):,} of the groups changed, the others' results reused", file=sys.stderr, flush=True)
    if changed_keys != []:
        passes = max(1, math.ceil(candidates / DEDUP_ROWS_PER_PASS))
        lakehouse.drop_local(CURATE_DEDUP)  # scratch, maybe left by a killed run with older columns
        for part in range(passes):
            found = find_duplicates_partitioned(scope, config, processes, passes=passes, part=part)
            (lakehouse.overwrite if part == 0 else lakehouse.append)(CURATE_DEDUP, found)
        if passes > 1:
            print(f"[curate] dedup ran in {passes} passes", file=sys.stderr, flush=True)
        fresh = lakehouse.read(CURATE_DEDUP).withColumn("settings_sha256", F.lit(settings))
        # Made from the table it replaces: staged first.
        lakehouse.overwrite(CURATE_DUPLICATES_NEXT, fresh if unchanged is None else unchanged.unionByName(fresh))
        lakehouse.overwrite(CURATE_DUPLICATES, lakehouse.read(CURATE_DUPLICATES_NEXT))
    return lakehouse.read(CURATE_DUPLICATES).filter(F.col("drop_reason").isNotNull()).select(
        "session_id", "request_id", "drop_reason")


def scorer_digest(model_path: str, context_tokens: int | None) -> str:
    """What a perplexity score depends on besides its sample: the model's files (names, sizes and
    contents; of a file over 64 MiB, a weights shard, its first and last MiB) and the context length."""
    digest = hashlib.sha256(f"context {context_tokens}".encode("utf-8"))
    root = Path(model_path)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        size = path.stat().st_size
        digest.update(f"\x00{path.relative_to(root)}\x00{size}\x00".encode("utf-8"))
        with path.open("rb") as handle:
            if size <= 64 << 20:
                digest.update(handle.read())
            else:
                digest.update(handle.read(1 << 20))
                handle.seek(size - (1 << 20))
                digest.update(handle.read())
    return digest.hexdigest()


def scoring_model(config: EchoConfig) -> str | None:
    """The perplexity model's folder, or None when the stage cannot run."""
    if not config.curate.perplexity_enabled:
        return None
    path = config.curate.perplexity_model or config.train.base.dir
    return path if (Path(path) / "config.json").is_file() else None


def curate(spark: SparkSession, lakehouse: Lakehouse, config: EchoConfig, *, report_dir: Path | None = None,
           recompute: bool = False) -> dict[str, Any]:
    """`recompute`: compute every per-gap verdict again (as after a change of the settings they
    depend on); otherwise only silver rows without a current verdict are verified."""
    cfg = config.curate
    clock = StageClock("curate")
    if report_dir is not None:
        import_figure_modules()
    # Checked here, on the driver: a folder with no benchmark would fail inside every Spark task.
    benchmarks_folder(config.benchmarks)
    for table in (SFT_SAMPLES, CURATION_DROPS):
        lakehouse.ensure(table)
    for table in (CURATE_STAGING, CURATE_VERDICTS):
        lakehouse.add_missing_columns(table)  # written before the dedup sketches were kept
    silver = lakehouse.read(COMPLETIONS)
    processes = config.engine.udf_workers

    # The evaluation holdout is policy: its users' completions never reach a training table.
    with clock.stage("evaluation holdout"):
        held = heldout_users(silver, Holdout.of(config.evaluate))
        held_df = spark.createDataFrame([(u,) for u in held] or [], "user_id string")
        trainable = silver.join(held_df, ["user_id"], "left_anti") if held else silver
    digest = verdicts_digest(cfg, config.lifecycle, config.benchmarks)
    request = ["session_id", "request_id"]
    current = ["session_id", "request_id", "input_sha256"]
    # Silver's input digests (stored by lifecycle; hashed here only for rows written before it did)
    # go into a narrow scratch table that the counts and the verdicts' selection read.
    with clock.stage("input digests"):
        lakehouse.overwrite(CURATE_INPUTS, with_input_digest(trainable, request))
    inputs = lakehouse.read(CURATE_INPUTS)

    with clock.stage("per-gap stages (teacher, boundary, syntax, identifiers, secrets, decontam)"):
        had_verdicts = not recompute and lakehouse.exists(CURATE_VERDICTS) and has_rows(
            lakehouse.read(CURATE_VERDICTS).filter(F.col("config_sha256") == digest))
        todo = with_input_digest(trainable, list(SILVER_COLUMNS))
        todo_count = trainable_count = inputs.count()
        if had_verdicts:
            valid = lakehouse.read(CURATE_VERDICTS).filter(F.col("config_sha256") == digest).select(*current)
            stale = inputs.join(valid, current, "left_anti").select(*request)
            found = stale.limit(config.lakehouse.upsert_keys_max + 1).collect()
            todo_count = len(found)
            if todo_count <= config.lakehouse.upsert_keys_max:
                # A day's rows, picked by a semi join with their keys as a local relation: only they
                # are hashed again (the keys as literals in a filter took the engine 0.2 to 0.3 s at
                # 1M events for a day's 1,359, and 3.6 s against 1.75 s at 10M for 14,000).
                keys = spark.createDataFrame([tuple(r) for r in found], "session_id string, request_id string")
                todo = with_input_digest(trainable.join(keys, request, "left_semi"), list(SILVER_COLUMNS))
            else:
                todo_count = stale.count()
                # Builds on the narrow verdict keys: joining silver's texts to the keys to verify
                # instead could build on the texts.
                todo = todo.join(valid, current, "left_anti")
        print(f"[curate] per-gap verdicts: {todo_count:,} to compute, {trainable_count - todo_count:,} reused "
              f"({'settings digest unchanged' if had_verdicts else 'no verdicts for these settings yet'})",
              file=sys.stderr, flush=True)
        if todo_count or not had_verdicts:
            progress = (f"curate-{uuid.uuid4().hex}", todo_count)
            lakehouse.overwrite(CURATE_STAGING, verify_gaps(todo, cfg, processes, config.lifecycle, config.benchmarks,
                                                              progress))
            fresh = as_verdicts(lakehouse.read(CURATE_STAGING), digest)
            if had_verdicts:
                lakehouse.upsert(CURATE_VERDICTS, fresh)
            else:
                # First run, or the settings changed: every verdict is new, nothing older is valid.
                lakehouse.overwrite(CURATE_VERDICTS, fresh)
    # The verdicts of silver as it is now: stale ones (a row since changed, erased or held out) stay
    # in the table until recomputed, and never reach gold.
    verdicts = lakehouse.read(CURATE_VERDICTS).filter(F.col("config_sha256") == digest).join(
        inputs.select(*current), current, "left_semi")
    try:
        drops = verdicts.filter(~F.col("kept")).select(
            "request_id", "session_id", "user_id", "language", F.col("drop_stage").alias("stage"),
            F.col("drop_reason").alias("reason"), "committed_chars",
        )
        if held:
            drops = drops.unionByName(silver.join(held_df, ["user_id"], "left_semi").select(
                "request_id", "session_id", "user_id", "language", F.lit(HOLDOUT_STAGE).alias("stage"),
                F.lit(HOLDOUT_REASON).alias("reason"), F.length("committed").cast("long").alias("committed_chars"),
            ))
        kept = verdicts.filter(F.col("kept"))

        with clock.stage("dedup (exact and near, partitioned by language and middle)"):
            dup_df = dedup_incrementally(lakehouse, kept, cfg, digest, processes)
        kept = kept.join(dup_df.select(*request), request, "left_anti")
        drops = drops.unionByName(_drops_of(verdicts, dup_df, "dedup"))

        model_path = scoring_model(config)
        if model_path:
            with clock.stage("perplexity"):
                # Scores are per sample: kept in curate_scores, computed only for samples new or
                # changed since (their verdict's digests) or when the scoring model changed.
                scorer = scorer_digest(model_path, cfg.perplexity_context_tokens)
                sample = [*request, "input_sha256", "config_sha256"]
                lakehouse.ensure(CURATE_SCORES)
                known = lakehouse.read(CURATE_SCORES).filter(F.col("scorer_sha256") == scorer)
                to_score = kept.join(known.select(*sample), sample, "left_anti").select(
                    *(c.name for c in CURATE_PERPLEXITY.columns if c.name != "perplexity"), "prefix", "suffix", "middle")
                score_count = to_score.count()
                print(f"[curate] perplexity: {score_count:,} samples to score, the others' scores reused",
                      file=sys.stderr, flush=True)
                if score_count:
                    progress = (f"perplexity-{uuid.uuid4().hex}", score_count)
                    # Curate's other long stage: in the UDF workers, with progress.
                    lakehouse.overwrite(CURATE_PERPLEXITY, to_score.mapInArrow(
                        _offloaded(partial(score_table, model_path, cfg.perplexity_batch_size,
                                           cfg.perplexity_context_tokens, CURATE_PERPLEXITY.arrow_schema),
                                   processes, PERPLEXITY_ROWS_PER_TASK, "curate perplexity", progress),
                        CURATE_PERPLEXITY.schema))
                    lakehouse.merge(CURATE_SCORES, lakehouse.read(CURATE_PERPLEXITY).withColumn(
                        "scorer_sha256", F.lit(scorer)), update_matched=True)
                scores = lakehouse.read(CURATE_SCORES).filter(F.col("scorer_sha256") == scorer).join(
                    kept.select(*sample), sample, "left_semi").select(*request, "perplexity")
                low, high = perplexity_cutoffs(scores, cfg.perplexity_low_quantile, cfg.perplexity_high_quantile)
                outliers = scores.filter((F.col("perplexity") < low) | (F.col("perplexity") > high)).select(
                    *request, F.when(F.col("perplexity") < low, F.lit("perplexity_below_quantile"))
                    .otherwise(F.lit("perplexity_above_quantile")).alias("drop_reason"))
                kept = kept.join(scores, request, "inner").join(outliers.select(*request), request, "left_anti")
                drops = drops.unionByName(_drops_of(verdicts, outliers, "perplexity"))
        else:
            kept = kept.withColumn("perplexity", F.lit(None).cast("double"))

        with clock.stage("proportion and split"):
            # In the engine: the strata's counts and the users reach the driver, no sample does.
            # Staged, as gold and the drops both read it.
            lakehouse.overwrite(CURATE_CHOICE, choose(spark, kept, cfg))
            choice = lakehouse.read(CURATE_CHOICE)
            drops = drops.unionByName(_drops_of(verdicts, choice.filter(~F.col("chosen")).select(
                *request, F.lit("over_target_share").alias("drop_reason")), "proportion"))
            # The chosen are survivors, so their verdicts need no second pass through the joins that
            # made `kept` (silver's current rows, not duplicates, scored): at 1M, 0.9 s against 1.8.
            gold = lakehouse.read(CURATE_VERDICTS).filter(F.col("config_sha256") == digest).join(
                choice.filter(F.col("chosen")).select(*request, "length_bucket", "split", "perplexity"),
                request, "inner").select(
                F.sha2(F.concat_ws("\x1f", "session_id", "request_id"), 256).alias("sample_id"),
                "request_id", "session_id", "user_id", "doc_id", "language", "prefix", "suffix", "middle",
                (F.col("middle") == "").alias("is_void"), "split", "length_bucket", "committed_chars", "teacher_source",
                "perplexity", "redactions", "proposal", "outcome", "request_event_id", "event_ids",
            )

        with clock.stage("write gold and drops"):
            lakehouse.overwrite(SFT_SAMPLES, gold)
            lakehouse.overwrite(CURATION_DROPS, drops)

        with clock.stage("report"):
            metrics = _metrics(lakehouse, model_path)
            metrics["heldout_users"] = len(held)
            metrics["verdicts_computed"] = todo_count
            metrics["verdicts_reused"] = trainable_count - todo_count
            metrics["verdicts_config_sha256"] = digest
            if report_dir is not None:
                metrics["report"] = str(write_report(metrics, _length_histograms(lakehouse, cfg), report_dir))
        if cfg.mlflow_experiment:
            from .tracking import log_curation_run

            with clock.stage("log to MLflow"):
                metrics["mlflow_run_id"] = log_curation_run(config, lakehouse, metrics, report_dir)
    finally:
        for scratch in (CURATE_INPUTS, CURATE_STAGING, CURATE_DEDUP, CURATE_CHOICE, CURATE_DUPLICATES_NEXT, CURATE_PERPLEXITY):
            lakehouse.drop_local(scratch)
    metrics["stage_seconds"] = clock.timings
    return metrics


def _drops_of(verdicts: DataFrame, ids: DataFrame, stage: str) -> DataFrame:
    """Drop rows for the (session_id, request_id, drop_reason) ids a global stage removed."""
    reasons = ids.select("session_id", "request_id", F.col("drop_reason").alias("_reason"))
    return verdicts.join(reasons, ["session_id", "request_id"], "inner").select(
        "request_id", "session_id", "user_id", "language", F.lit(stage).alias("stage"),
        F.col("_reason").alias("reason"), "committed_chars",
    )


def perplexity_cutoffs(scores: DataFrame, low: float, high: float) -> tuple[float, float]:
    """The low and high quantiles of the scores, computed by the engine (no score reaches the driver).
    The accuracy asked is at least the number of scores, so the sketch never has to merge two values
    into one: Spark's (Greenwald-Khanna) then answers an exact rank statistic of the scores, and
    Sail's (a t-digest with that many centroids) keeps one centroid per value and interpolates between
    neighbours. Either way the cut-offs depend only on the multiset of scores, not on how the rows
    were partitioned or ordered, so gold stays a function of silver and the configuration."""
    count = scores.count()
    if not count:
        return 0.0, 0.0
    accuracy = min(max(count, 10_000), 2**31 - 1)
    row = scores.select(F.percentile_approx("perplexity", float(low), accuracy).alias("low"),
                        F.percentile_approx("perplexity", float(high), accuracy).alias("high")).collect()[0]
    return float(row["low"]), float(row["high"])


# What `metric_counts` counts by, with the types its union needs (null where a kind has no such column).
_METRIC_DIMENSIONS = (("split", "string"), ("language", "string"), ("void", "boolean"), ("redacted", "boolean"),
                      ("stage", "string"), ("reason", "string"))


def metric_counts(silver: DataFrame, gold: DataFrame, drops: DataFrame) -> DataFrame:
    """Silver, gold and the drops counted in one aggregation: a row per combination of kind
    (silver, gold, drop) and _METRIC_DIMENSIONS, null where a kind has no such column."""
    def rows(df: DataFrame, kind: str, **columns: Column) -> DataFrame:
        return df.select(F.lit(kind).alias("kind"), *[
            (columns[c] if c in columns else F.lit(None)).cast(t).alias(c) for c, t in _METRIC_DIMENSIONS])

    return (
        rows(silver, "silver")
        .unionByName(rows(gold, "gold", split=F.col("split"), language=F.col("language"), void=F.col("is_void"),
                          redacted=F.size("redactions") > 0))
        .unionByName(rows(drops, "drop", stage=F.col("stage"), reason=F.col("reason")))
        .groupBy("kind", *[c for c, _ in _METRIC_DIMENSIONS]).agg(F.count(F.lit(1)).alias("n"))
    )


def _metrics(lakehouse: Lakehouse, model_path: str | None) -> dict[str, Any]:
    """The run's measures from `metric_counts` (a handful of rows reach the driver)."""
    counted = metric_counts(lakehouse.read(COMPLETIONS), lakehouse.read(SFT_SAMPLES), lakehouse.read(CURATION_DROPS)).collect()

    def total(kind: str, flag: str | None = None) -> int:
        return sum(r["n"] for r in counted if r["kind"] == kind and (flag is None or r[flag]))

    def by(column: str) -> dict[Any, int]:
        counts: dict[Any, int] = {}
        for r in counted:
            if r["kind"] == "gold":
                counts[r[column]] = counts.get(r[column], 0) + r["n"]
        return counts

    by_stage: dict[str, dict[str, int]] = {}
    for r in counted:
        if r["kind"] == "drop":
            by_stage.setdefault(r["stage"], {})[r["reason"]] = r["n"]
    order = {s: i for i, s in enumerate(ROW_STAGES + GLOBAL_STAGES)}
    return {
        "silver": total("silver"),
        "gold": total("gold"),
        "dropped": total("drop"),
        "dropped_by_stage": {s: dict(sorted(r.items())) for s, r in sorted(by_stage.items(), key=lambda kv: order.get(kv[0], 99))},
        "gold_void": total("gold", "void"),
        "gold_by_split": by("split"),
        "gold_by_language": {str(k): n for k, n in by("language").items()},
        "gold_redacted": total("gold", "redacted"),
        "perplexity": "scored with " + model_path if model_path else "skipped: no scoring model built (echo-spark build-base-model) or configured",
        "gold_version": lakehouse.version(SFT_SAMPLES),
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _length_histograms(lakehouse: Lakehouse, cfg: CurateConfig) -> dict[str, dict[str, int]]:
    """C_N length buckets before curation (silver, known C_N) and after (gold middles), counted by the
    engine: one row per bucket reaches the driver."""
    def buckets(df: DataFrame, column: str) -> dict[str, int]:
        counted = (df.select(length_bucket_column(column, cfg.length_bucket_edges).alias("bucket"))
                   .filter(F.col("bucket").isNotNull()).groupBy("bucket").agg(F.count(F.lit(1)).alias("n")).collect())
        return {row["bucket"]: row["n"] for row in counted}

    return {"before": buckets(lakehouse.read(COMPLETIONS), "committed"), "after": buckets(lakehouse.read(SFT_SAMPLES), "middle")}


def summary(metrics: dict[str, Any]) -> Summary:
    rows = [(key, metrics[key]) for key in ("silver", "gold", "dropped", "gold_void", "gold_redacted")]
    rows += [(f"  dropped at {stage}: {reason}", n) for stage, reasons in metrics["dropped_by_stage"].items()
             for reason, n in reasons.items()]
    notes = [f"perplexity: {metrics['perplexity']}"]
    if "verdicts_computed" in metrics:
        notes.append(f"per-gap verdicts: {metrics['verdicts_computed']} computed, {metrics['verdicts_reused']} reused")
    if metrics.get("report"):
        notes.append(f"report: {metrics['report']}")
    return Summary("curate summary", rows, notes)
