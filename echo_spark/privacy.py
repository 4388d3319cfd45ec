"""Consent: which sessions opted out. Their events stay in bronze (the raw record of what was
received) and never reach silver, gold or a model.
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from .config import PrivacyConfig
from .errors import UsageError


def read_opt_out_list(path: str) -> list[str]:
    """User or session ids, one per line; blank lines and `#` comments ignored."""
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"privacy.opt_out_list: no such file: {path}")
    ids = {line.split("#", 1)[0].strip() for line in file.read_text(encoding="utf-8").splitlines()}
    return sorted(i for i in ids if i)


def opted_out_sessions(events: DataFrame, privacy: PrivacyConfig) -> DataFrame:
    """session_id of every session flagged by its own events or by the opt-out list."""
    field = privacy.opt_out_field.replace("'", "")
    flagged = events.filter(F.get_json_object(F.col("extra"), f"$.{field}") == "true").select("session_id")
    if privacy.opt_out_list:
        ids = events.sparkSession.createDataFrame([(i,) for i in read_opt_out_list(privacy.opt_out_list)], "id string")
        by_user = events.join(ids, events["user_id"] == ids["id"], "left_semi").select("session_id")
        by_session = events.join(ids, events["session_id"] == ids["id"], "left_semi").select("session_id")
        flagged = flagged.unionByName(by_user).unionByName(by_session)
    return flagged.distinct()


def erased_sessions(events: DataFrame, tombstones: DataFrame) -> DataFrame:
    """session_id of every session of `events` that an erasure covers: its SHA-256 is a session
    tombstone, or one of its events carries a user_id whose SHA-256 is a user tombstone."""
    marks = tombstones.select("kind", F.col("subject_sha256").alias("_h"))
    hashed = events.select("session_id", F.sha2("session_id", 256).alias("_sh"), F.sha2("user_id", 256).alias("_uh"))
    users = marks.filter(F.col("kind") == "user").select("_h")
    sessions = marks.filter(F.col("kind") == "session").select("_h")
    by_user = hashed.join(F.broadcast(users), hashed["_uh"] == users["_h"], "left_semi").select("session_id")
    by_session = hashed.join(F.broadcast(sessions), hashed["_sh"] == sessions["_h"], "left_semi").select("session_id")
    return by_user.unionByName(by_session).distinct()
