"""`echo-spark forget --user ID`: erase one user's data from every table.

Rows go from the current version of every table that can hold them: by `user_id` where the
table has one, by the user's sessions where it has only `session_id`, and by the quoted id in
quarantined raw lines. MLflow runs that trained on a gold table holding the user's rows are
tagged (see erasure_tags.py). Delta keeps older versions for time travel until they are vacuumed:
`--vacuum` removes them at once (locally, with delta-rs), otherwise the table's retention applies.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pyspark.sql import functions as F

from .config import EchoConfig
from .engine import get_spark
from .erasure_tags import ERASED_TAG, tag_runs
from .errors import UsageError
from .lakehouse import Lakehouse
from .tables import ALL_TABLES, ERASURES, EVENTS, QUARANTINE, TableDef


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", required=True, metavar="ID", help="user_id whose data is erased")
    parser.add_argument("--reason", default="", help="recorded in the audit table (ticket number, ...)")
    parser.add_argument("--vacuum", action="store_true", help="also remove older table versions now (local lakehouse)")


def _sql_literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def run(config: EchoConfig, args: argparse.Namespace) -> dict[str, Any]:
    if not args.user.strip():
        raise UsageError("--user must not be empty")
    spark = get_spark(config.engine)
    metrics = forget(Lakehouse(spark, config.lakehouse), args.user, args.reason, vacuum=args.vacuum)
    print(f"erased user (sha256 {metrics['subject_sha256'][:12]}...): {metrics['rows_deleted']}")
    uri = _mlflow_uri(config)
    if metrics["gold_versions_with_user"] and uri is not None:
        metrics["mlflow_runs_tagged"] = tag_runs(uri, metrics["gold_versions_with_user"], metrics["erasure_id"])
        print(f"MLflow runs trained on the erased data, tagged {ERASED_TAG}: {len(metrics['mlflow_runs_tagged'])}")
    return metrics


def _mlflow_uri(config: EchoConfig) -> str | None:
    """Where training runs are tracked; None when nothing was ever tracked locally."""
    if config.train.mlflow_tracking_uri:
        return config.train.mlflow_tracking_uri
    db = Path(config.train.mlflow_dir) / "mlflow.db"
    return f"sqlite:///{db.resolve()}" if db.is_file() else None


def _erasable(lakehouse: Lakehouse) -> list[TableDef]:
    return [t for t in ALL_TABLES.values() if t.layer != "audit" and lakehouse.exists(t)]


def forget(lakehouse: Lakehouse, user_id: str, reason: str = "", *, vacuum: bool = False) -> dict[str, Any]:
    tables = _erasable(lakehouse)
    sessions = sorted(
        {
            row["session_id"]
            for table in tables
            if {"user_id", "session_id"} <= set(table.column_names)
            for row in lakehouse.read(table).filter(F.col("user_id") == user_id).select("session_id").distinct().collect()
        }
    )
    user = _sql_literal(user_id)
    session_list = ", ".join(_sql_literal(s) for s in sessions)
    deleted: dict[str, int] = {}
    # Gold tables that held the user's rows, and their version just before the erasure.
    trained_on: dict[str, int] = {}
    for table in tables:
        columns = set(table.column_names)
        if "user_id" in columns:
            condition = f"user_id = {user}"
            if "session_id" in columns and sessions:
                condition += f" OR session_id IN ({session_list})"
        elif "session_id" in columns:
            if not sessions:
                continue
            condition = f"session_id IN ({session_list})"
        elif table is QUARANTINE:
            condition = f"instr(raw, {_sql_literal(json.dumps(user_id))}) > 0"
        else:
            continue
        before = lakehouse.read(table).count()
        version = lakehouse.version(table) if table.layer == "gold" and not lakehouse.uses_catalog else None
        lakehouse.delete(table, condition)
        deleted[table.name] = before - lakehouse.read(table).count()
        if version is not None and deleted[table.name]:
            trained_on[lakehouse.path(table)] = version
    if vacuum and not lakehouse.uses_catalog:
        from deltalake import DeltaTable

        for table in tables:
            DeltaTable(lakehouse.path(table)).vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    record = {
        "erasure_id": uuid.uuid4().hex,
        "requested_at": datetime.now(timezone.utc).replace(tzinfo=None),
        "subject_sha256": hashlib.sha256(user_id.encode("utf-8")).hexdigest(),
        "reason": reason,
        "rows_deleted": json.dumps(deleted, sort_keys=True),
        "vacuumed": bool(vacuum),
    }
    lakehouse.append(ERASURES, lakehouse.spark.createDataFrame([record], ERASURES.schema))
    return {**record, "rows_deleted": deleted, "sessions": len(sessions), "gold_versions_with_user": trained_on}
