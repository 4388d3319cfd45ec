"""`echo-spark forget --user ID`: erase one user's data from every table.

Rows go from the current version of every table that can hold them: by `user_id` where the
table has one, by the user's sessions where it has only `session_id`, and by the quoted id in
quarantined raw lines. MLflow runs that trained on a gold table holding the user's rows are
tagged (see erasure_tags.py). Delta keeps older versions for time travel until they are vacuumed:
`--vacuum` removes them at once on a local lakehouse (delta-rs), otherwise (and always on a
catalog) the table's retention applies; the audit records which tables were really vacuumed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pyspark.sql import functions as F

from training.mlflow_store import existing_tracking_uri

from .config import EchoConfig
from .engine import get_spark
from .erasure_tags import ERASED_TAG, tag_runs
from .errors import UsageError
from .lakehouse import Lakehouse, sql_literal
from .ingest.landing_files import is_uri
from .ingest.rewrite import PreparedRewrite, commit_after, line_subject, prepare_rewrite, read_text
from .progress import Summary, print_summary
from .tables import ALL_TABLES, ERASURES, LANDING_FILES, QUARANTINE, TOMBSTONES, TableDef


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", required=True, metavar="ID", help="user_id whose data is erased")
    parser.add_argument("--reason", default="", help="recorded in the audit table (ticket number, ...)")
    parser.add_argument("--vacuum", action="store_true", help="also remove older table versions now (a local lakehouse only; the audit records what was vacuumed)")


def run(config: EchoConfig, args: argparse.Namespace) -> dict[str, Any]:
    if not args.user.strip():
        raise UsageError("--user must not be empty")
    spark = get_spark(config.engine)
    metrics = forget(Lakehouse(spark, config.lakehouse), args.user, args.reason, vacuum=args.vacuum)
    notes = [f"erased user (sha256 {metrics['subject_sha256'][:12]}...): {metrics['rows_deleted']}"]
    uri = existing_tracking_uri(config.train.mlflow_tracking_uri, config.train.mlflow_dir)
    if metrics["gold_versions_with_user"] and uri is not None:
        metrics["mlflow_runs_tagged"] = tag_runs(uri, metrics["gold_versions_with_user"], metrics["erasure_id"])
        notes.append(f"MLflow runs trained on the erased data, tagged {ERASED_TAG}: {len(metrics['mlflow_runs_tagged'])}")
    print_summary(Summary("forget summary", notes=notes))
    return metrics


def _erasable(lakehouse: Lakehouse) -> list[TableDef]:
    return [t for t in ALL_TABLES.values() if t.layer != "audit" and lakehouse.exists(t)]


# session_id of a quarantined raw line that does not parse as JSON (as ingest reads it).
_RAW_SESSION = '"session_id"\\s*:\\s*"((?:[^"\\\\]|\\\\.)*)"'


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_tombstones(lakehouse: Lakehouse, kind: str, ids: list[str], erasure_id: str, at: datetime) -> None:
    """SHA-256 of each id as a tombstone that ingest and lifecycle apply to later arrivals."""
    if not ids:
        return
    rows = [(kind, _sha256(i), erasure_id, at) for i in sorted(set(ids))]
    lakehouse.merge(TOMBSTONES, lakehouse.spark.createDataFrame(rows, TOMBSTONES.schema))


def _landing_paths(lakehouse: Lakehouse) -> list[str]:
    """Every landing file ingest recorded that this machine can rewrite (local paths)."""
    rows = lakehouse.read(LANDING_FILES).select("path").distinct().collect()
    return sorted(r["path"] for r in rows if not is_uri(r["path"]) and Path(r["path"]).is_file())


def _needles(ids: set[str]) -> list[bytes]:
    """How an id can appear in a landing line's bytes (as written, or JSON-escaped)."""
    out = set()
    for i in ids:
        out |= {i.encode("utf-8"), json.dumps(i)[1:-1].encode(), json.dumps(i, ensure_ascii=False)[1:-1].encode("utf-8")}
    return sorted(out)


def erase_landing(lakehouse: Lakehouse, user_id: str, sessions: set[str], erasure_id: str, at: datetime) -> tuple[dict[str, int], set[str]]:
    """Remove the user's lines from every recorded local landing file: lines whose user_id is the
    user's or whose session_id is one of theirs, and lines that do not parse but hold the quoted id.

    Sessions seen on the user's lines (in bronze or not: a redelivery bronze dropped) join the
    erased sessions. Each file is rewritten atomically and its new version recorded in
    landing_files before the rename, so ingest does not read it again. Returns (lines removed per
    file, the sessions)."""
    from .ingest.job import record_landing_files

    paths = _landing_paths(lakehouse)
    quoted = json.dumps(user_id).encode("utf-8")
    user_needles = _needles({user_id})
    known = set(sessions)
    known_needles = _needles(known)
    candidates: set[str] = set()
    sessions = set(sessions)
    for path in paths:  # pass 1: the user's own lines name their sessions
        text = read_text(path)
        if text is None:
            continue
        if any(n in text for n in user_needles):
            candidates.add(path)
            for line in text.split(b"\n"):
                user, session = line_subject(line)
                if user == user_id and session:
                    sessions.add(session)
        elif any(n in text for n in known_needles):
            candidates.add(path)
    found_needles = _needles(sessions - known)

    def drop(_number: int, line: bytes) -> bool:
        user, session = line_subject(line)
        return user == user_id or (session is not None and session in sessions) or (user is None and quoted in line)

    prepared: list[PreparedRewrite] = []
    for path in paths:
        if path not in candidates:
            text = read_text(path) if found_needles else None  # sessions found in other files
            if text is None or not any(n in text for n in found_needles):
                continue
        rewrite = prepare_rewrite(path, drop)
        if rewrite is not None:
            prepared.append(rewrite)
    if prepared:
        records = [(r.path, r.sha256, r.size, r.mtime_us, r.kept, None, None, None, r.removed, "rewritten") for r in prepared]
        commit_after(prepared, lambda: record_landing_files(lakehouse, records, erasure_id, at, None))
    return {r.path: r.removed for r in prepared}, sessions


def forget(lakehouse: Lakehouse, user_id: str, reason: str = "", *, vacuum: bool = False) -> dict[str, Any]:
    erasure_id = uuid.uuid4().hex
    now = datetime.now(timezone.utc)
    # The tombstone first: from here on no ingest or lifecycle run brings the user back, even if
    # this erasure stops half way (run it again to finish).
    record_tombstones(lakehouse, "user", [user_id], erasure_id, now)
    tables = _erasable(lakehouse)
    known_sessions = {
        row["session_id"]
        for table in tables
        if {"user_id", "session_id"} <= set(table.column_names)
        for row in lakehouse.read(table).filter(F.col("user_id") == user_id).select("session_id").distinct().collect()
    }
    landing_removed, all_sessions = erase_landing(lakehouse, user_id, known_sessions, erasure_id, now)
    record_tombstones(lakehouse, "session", sorted(all_sessions), erasure_id, now)
    sessions = sorted(all_sessions)
    user = sql_literal(user_id)
    session_list = ", ".join(sql_literal(s) for s in sessions)
    deleted: dict[str, Any] = {}
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
            condition = f"instr(raw, {sql_literal(json.dumps(user_id))}) > 0"
            if sessions:
                # (no coalesce: Sail 0.7 fails on it in a DELETE condition)
                condition += (f" OR get_json_object(raw, '$.session_id') IN ({session_list})"
                              f" OR regexp_extract(raw, {sql_literal(_RAW_SESSION)}, 1) IN ({session_list})")
        else:
            continue
        before = lakehouse.read(table).count()
        version = lakehouse.version(table) if table.layer == "gold" else None
        lakehouse.delete(table, condition)
        deleted[table.name] = before - lakehouse.read(table).count()
        if version is not None and deleted[table.name]:
            # As training records it (MLflow `gold.uri`): a folder, or the catalog table's name.
            trained_on[lakehouse.address(table)] = version
    deleted["landing_files"] = landing_removed
    vacuumed = vacuum_tables(lakehouse, tables) if vacuum else {}
    record = {
        "erasure_id": erasure_id,
        "requested_at": now.replace(tzinfo=None),
        "subject_sha256": _sha256(user_id),
        "reason": reason,
        "rows_deleted": json.dumps(deleted, sort_keys=True),
        # What was done, not what was asked: true only if no table keeps an older version.
        "vacuumed": all_vacuumed(tables, vacuumed),
        "vacuumed_tables": json.dumps(vacuumed, sort_keys=True),
    }
    _ensure_audit_columns(lakehouse)
    lakehouse.append(ERASURES, lakehouse.spark.createDataFrame([record], ERASURES.schema))
    return {**record, "rows_deleted": deleted, "vacuumed_tables": vacuumed, "sessions": len(sessions),
            "gold_versions_with_user": trained_on}


def vacuum_tables(lakehouse: Lakehouse, tables: list[TableDef]) -> dict[str, int]:
    """Remove every older version of the tables now; returns table name -> files removed, for the
    tables really vacuumed (`Lakehouse.vacuum`: a lakehouse of folders is, a catalog's tables are
    not, their `delta.deletedFileRetentionDuration` applies)."""
    if lakehouse.uses_catalog:
        print("echo-spark forget: --vacuum vacuums a local lakehouse only; on a catalog the older "
              "versions stay until VACUUM after the tables' retention (recorded: vacuumed false)",
              file=sys.stderr)
    removed = {table.name: lakehouse.vacuum(table) for table in tables}
    return {name: files for name, files in removed.items() if files is not None}


def all_vacuumed(tables: list[TableDef], vacuumed: dict[str, int]) -> bool:
    return bool(tables) and all(table.name in vacuumed for table in tables)


def _ensure_audit_columns(lakehouse: Lakehouse) -> None:
    """An `erasures` table written before `vacuumed_tables` existed gains the column (null in
    its old rows), so appending the new record does not fail on the schema."""
    lakehouse.add_missing_columns(ERASURES)
