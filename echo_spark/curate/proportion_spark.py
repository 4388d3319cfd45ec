"""Proportioning in the engine: the strata's counts reach the driver, which sets their quotas
(`proportion.quotas`), and a window over each stratum in `rank_key` order takes them. No sample
reaches the driver (at 1M events the old way collected six fields of 100k survivors and chose in
Python), and the choice equals `proportion.proportion` over the same samples."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from ..config import CurateConfig
from ..tables import CURATE_CHOICE
from .proportion import UNKNOWN_LANGUAGE, quotas, split_of


def length_bucket_column(column: str, edges: list[int]) -> Column:
    """`proportion.length_bucket` of the column's length, as an engine expression (null stays null)."""
    chars = F.length(column)
    bucket = F.when(chars == 0, F.lit("void"))
    for edge in edges:
        bucket = bucket.when(chars <= edge, F.lit(f"<={edge}"))
    return F.when(chars.isNotNull(), bucket.otherwise(F.lit(f">{edges[-1]}")))


def rank_column(seed: int) -> Column:
    """`proportion.rank_key` of each row's session and request."""
    return F.sha2(F.concat_ws("\x1f", F.lit("proportion"), F.lit(str(seed)), F.coalesce(F.col("session_id"), F.lit("")),
                              F.coalesce(F.col("request_id"), F.lit(""))), 256)


def user_splits(spark: SparkSession, users: list[str | None], cfg: CurateConfig, column: str = "user_id") -> DataFrame:
    """(`column`, split) of each user: a split is per user, so it is hashed on the driver once per
    user, not per sample."""
    return spark.createDataFrame(
        [(u, split_of(u, validation_share=cfg.validation_share, seed=cfg.seed)) for u in users] or [],
        f"{column} string, split string")


def choose(spark: SparkSession, survivors: DataFrame, cfg: CurateConfig) -> DataFrame:
    """`survivors` (session_id, request_id, user_id, language, middle, perplexity) -> CURATE_CHOICE's rows:
    each survivor's length bucket, its user's split, and whether proportioning keeps it. Two small
    collects: the strata's counts and the distinct users (a split is per user)."""
    stratum = ["length_bucket", "_language"]
    keyed = survivors.select(
        "session_id", "request_id", "perplexity", F.coalesce(F.col("user_id"), F.lit("")).alias("_user"),
        length_bucket_column("middle", cfg.length_bucket_edges).alias("length_bucket"),
        F.coalesce(F.col("language"), F.lit(UNKNOWN_LANGUAGE)).alias("_language"),
    )
    counts = {(r["length_bucket"], r["_language"]): r["n"]
              for r in keyed.groupBy(*stratum).agg(F.count(F.lit(1)).alias("n")).collect()}
    quota = quotas(counts, edges=cfg.length_bucket_edges, length_shares=cfg.target_length_shares,
                   void_share=cfg.target_void_share, language_shares=cfg.target_language_shares,
                   max_samples=cfg.max_samples)
    quota_df = spark.createDataFrame([(b, language, n) for (b, language), n in quota.items()] or [],
                                     "length_bucket string, _language string, _quota long")
    users = [r["_user"] for r in keyed.select("_user").distinct().collect()]
    split_df = user_splits(spark, users, cfg, "_user")
    place = F.row_number().over(Window.partitionBy(*stratum).orderBy(rank_column(cfg.seed), "session_id", "request_id"))
    return (
        keyed.withColumn("_place", place)
        .join(quota_df, stratum, "left")
        .join(split_df, ["_user"], "left")
        .withColumn("chosen", F.col("_place") <= F.coalesce(F.col("_quota"), F.lit(0)))
        .select(*CURATE_CHOICE.column_names)
    )
