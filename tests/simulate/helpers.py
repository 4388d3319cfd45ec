"""Running the simulator small, and reading its output back the way the pipeline does."""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from echo_spark.config import EchoConfig, load_config
from echo_spark.simulate.job import run
from echo_spark.telemetry.landing import iter_lines
from echo_spark.telemetry.parse import ParseLimits, Quarantined, parse_line

LIMITS = ParseLimits(max_json_depth=64, min_ts_ms=946_684_800_000, max_ts_ms=4_102_444_800_000)


def simulate(out: Path, events: int, seed: int = 7, overrides: list[str] | None = None, **options: Any) -> dict[str, Any]:
    config = load_config(None, [f"simulate.{o}" for o in overrides or []])
    args = argparse.Namespace(out=str(out), events=events, seed=seed, corpus=None, mode=None, users=None, overwrite=False)
    for key, value in options.items():
        setattr(args, key, value)
    return run(config, args)


@dataclass
class Landing:
    files: list[Path]
    events: dict[str, dict[str, Any]] = field(default_factory=dict)  # event_id -> event (first copy)
    copies: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    quarantined: list[tuple[Path, int, bool, Quarantined]] = field(default_factory=list)
    file_of: dict[str, list[Path]] = field(default_factory=lambda: defaultdict(list))


def read_landing(out: Path) -> Landing:
    """Every line through the project's own reader and parser."""
    landing = Landing(sorted((out / "landing").rglob("*.jsonl.gz")))
    for path in landing.files:
        lines = list(iter_lines(path.read_bytes()))
        for line in lines:
            parsed = parse_line(line.data, line.complete, LIMITS)
            if isinstance(parsed, Quarantined):
                landing.quarantined.append((path, line.number, line.number == len(lines) and not line.complete, parsed))
                continue
            event = json.loads(line.data)
            first = landing.events.setdefault(event["event_id"], event)
            assert first == event, "two copies of one event_id differ"
            landing.copies[event["event_id"]] += 1
            landing.file_of[event["event_id"]].append(path)
    return landing


def truth(out: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    requests = pq.read_table(out / "ground_truth.parquet").to_pylist()
    documents = pq.read_table(out / "ground_truth_documents.parquet").to_pylist()
    return requests, documents


def by_document(events: dict[str, dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    docs: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for event in events.values():
        if "doc_id" in event:
            docs[(event["session_id"], event["doc_id"])].append(event)
    for evs in docs.values():
        evs.sort(key=lambda e: e["seq"])
    return docs


def replay(events: list[dict[str, Any]], up_to_seq: int | None = None) -> str | None:
    """The document after the edit events, by UTF-16 code units, independent of the simulator's code."""
    units: bytes | None = None
    for event in events:
        if up_to_seq is not None and event["seq"] > up_to_seq:
            break
        if event["type"] == "doc_open":
            units = event["text"].encode("utf-16-le")
        elif event["type"] == "doc_change":
            assert units is not None
            for change in event["changes"]:
                start, stop = change["offset"] * 2, (change["offset"] + change["length"]) * 2
                assert stop <= len(units)
                units = units[:start] + change["text"].encode("utf-16-le") + units[stop:]
    return None if units is None else units.decode("utf-16-le")


def anchor_chars() -> int:
    return EchoConfig().lifecycle.anchor_chars
