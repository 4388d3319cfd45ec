"""The evaluation holdout (`holdout.py`) on DataFrames: the distinct user ids go to the driver, the
policy picks the held-out ones, and a join keeps or removes their rows."""

from __future__ import annotations

from pyspark.sql import DataFrame

from .holdout import Holdout


def heldout_users(df: DataFrame, holdout: Holdout) -> list[str]:
    """Held-out users among the `user_id`s of `df`."""
    if not holdout.holds_anyone:
        return []
    return holdout.of_users(r["user_id"] for r in df.select("user_id").distinct().collect())


def _users_frame(df: DataFrame, users: list[str]) -> DataFrame:
    return df.sparkSession.createDataFrame([(u,) for u in users] or [], "user_id string")


def without_heldout(df: DataFrame, holdout: Holdout) -> DataFrame:
    """Rows of users the policy does not hold out (what a training table may hold)."""
    users = heldout_users(df, holdout)
    return df.join(_users_frame(df, users), ["user_id"], "left_anti") if users else df


def only_heldout(df: DataFrame, holdout: Holdout) -> DataFrame:
    """Rows of held-out users (what evaluation replays)."""
    return df.join(_users_frame(df, heldout_users(df, holdout)), ["user_id"], "left_semi")
