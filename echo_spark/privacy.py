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
