"""The baseline's training table. Echo trains on gold `sft_samples` (curated C_N); the evaluation's
accepted-only arm on `sft_accepted_only`, built here from silver: every proposal the user accepted
whole, C1 as the target, nothing curated. That is what a team without lifecycle tracking can do
with its logs, and the baseline Echo has to beat on the same telemetry.

The split is curate's (a seeded hash of user_id), so both arms validate on the same developers,
and the evaluation holdout is curate's too (`echo_spark/holdout.py`): no held-out user's proposal
becomes a sample here either.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ..config import EchoConfig
from ..holdout import Holdout
from ..holdout_spark import without_heldout
from ..lakehouse import Lakehouse
from ..tables import COMPLETIONS, SFT_ACCEPTED_ONLY
from .proportion_spark import length_bucket_column, user_splits

ACCEPTED = "accepted"


def accepted_only(silver: DataFrame, spark: SparkSession, config: EchoConfig) -> DataFrame:
    """Silver completions accepted whole, as sft_samples-shaped rows with C1 as the middle."""
    accepted = without_heldout(silver.filter((F.col("outcome") == ACCEPTED) & (F.length("proposal") > 0)),
                               Holdout.of(config.evaluate))
    users = [r["user_id"] for r in accepted.select("user_id").distinct().collect()]
    cfg = config.curate
    return accepted.join(user_splits(spark, users, cfg), ["user_id"], "left").select(
        F.sha2(F.concat_ws("\x1f", "session_id", "request_id"), 256).alias("sample_id"),
        "request_id", "session_id", "user_id", "doc_id", "language", "prefix", "suffix",
        F.col("proposal").alias("middle"),
        F.lit(False).alias("is_void"),
        "split",
        length_bucket_column("proposal", cfg.length_bucket_edges).alias("length_bucket"),
        F.length("committed").cast("long").alias("committed_chars"),
        "proposal", "outcome", "request_event_id", "event_ids",
    )


def build_accepted_only(spark: SparkSession, lakehouse: Lakehouse, config: EchoConfig) -> dict[str, Any]:
    """Overwrite `sft_accepted_only` from the current silver; a function of silver, like gold."""
    lakehouse.overwrite(SFT_ACCEPTED_ONLY, accepted_only(lakehouse.read(COMPLETIONS), spark, config))
    table = lakehouse.read(SFT_ACCEPTED_ONLY)
    return {
        "table": SFT_ACCEPTED_ONLY.name,
        "samples": table.count(),
        "by_split": {r["split"]: r["n"] for r in table.groupBy("split").agg(F.count(F.lit(1)).alias("n")).collect()},
        "version": lakehouse.version(SFT_ACCEPTED_ONLY),
    }
