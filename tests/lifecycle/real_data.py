"""Read the real telemetry files the way ingest would hand them to the tracker (bronze-like rows)."""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from echo_spark.config import LifecycleConfig
from echo_spark.lifecycle import DocumentResult, SessionFacts, track_document
from echo_spark.lifecycle.events import to_epoch_us

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"
TASKTRACKER = REAL / "tasktracker-cpp-telemetry.jsonl.gz"
CUPS = REAL / "cups-copilot-telemetry.jsonl.gz"


def bronze_rows(path: Path) -> list[dict[str, Any]]:
    """Raw v1 lines with `ts` as epoch microseconds (raw ints are epoch milliseconds)."""
    rows = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            ts = row["ts"]
            row["ts"] = ts * 1000 if isinstance(ts, int) else to_epoch_us(ts)
            rows.append(row)
    return rows


def track_file(path: Path, config: LifecycleConfig | None = None) -> tuple[list[dict[str, Any]], list[DocumentResult]]:
    """Group by (session, document) as the Spark job does and track each group."""
    rows = bronze_rows(path)
    facts: dict[str, dict[str, Any]] = defaultdict(dict)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["type"] == "session_start":
            facts[row["session_id"]].update(user_id=row.get("user_id"), encoding=row.get("position_encoding", "utf-16"))
        elif row["type"] == "session_end":
            facts[row["session_id"]]["end"] = row["ts"]
        elif row.get("doc_id") is not None:
            groups[(row["session_id"], row["doc_id"])].append(row)
    results = []
    for (session_id, _doc), events in sorted(groups.items()):
        fact = facts[session_id]
        session = SessionFacts(session_id, fact.get("user_id"), fact.get("encoding", "utf-16"), fact.get("end"))
        results.append(track_document(events, session, config or LifecycleConfig()))
    return rows, results
