"""Hypothesis-generated sessions, as raw JSON lines, through the ingest and lifecycle jobs: no job
crashes, every line lands in bronze, quarantine or the duplicate count, and every request and
every verdict event in bronze ends in silver completions or orphans."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import functions as F

from echo_spark.config import EchoConfig, LakehouseConfig
from echo_spark.ingest.job import ingest
from echo_spark.lakehouse import Lakehouse
from echo_spark.lifecycle.job import lifecycle
from echo_spark.tables import COMPLETIONS, EVENTS, ORPHANS, QUARANTINE

from .lifecycle.test_generated_events import document_events

VERDICTS = ("completion_shown", "completion_accept", "completion_reject")


@st.composite
def sessions(draw) -> list[bytes]:
    lines: list[bytes] = []
    for s in range(draw(st.integers(1, 3))):
        for event in draw(document_events()):
            event = dict(event, session_id=f"s{s}", event_id=f"s{s}-{event['event_id']}")
            event["ts"] //= 1000  # raw telemetry stamps epoch milliseconds
            if event["seq"] is None:
                del event["seq"]
            lines.append(json.dumps(event, ensure_ascii=False).encode())
    # A cut line and a line that is not JSON at all, as uploads produce them.
    return lines + [lines[0][: len(lines[0]) // 2], b"\xff\xfe not json"]


@pytest.mark.sail_only
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(lines=sessions())
def test_generated_telemetry_is_accounted_for(spark, tmp_path_factory, lines) -> None:
    root = tmp_path_factory.mktemp("generated")
    (root / "landing").mkdir()
    (root / "landing" / "events.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    config = EchoConfig(lakehouse=LakehouseConfig(root=str(root / "lakehouse")))
    lakehouse = Lakehouse(spark, config.lakehouse)

    ingested = ingest(spark, lakehouse, config, str(root / "landing"))
    assert ingested["lines_read"] == len(lines)
    assert lakehouse.read(EVENTS).count() + lakehouse.read(QUARANTINE).count() + ingested["duplicates"] == len(lines)

    tracked = lifecycle(spark, lakehouse, config)
    assert tracked["requests_unaccounted"] == 0
    bronze = lakehouse.read(EVENTS)
    requests = {r["request_id"] for r in bronze.filter(F.col("type") == "completion_request").collect()}
    assert {r["request_id"] for r in lakehouse.read(COMPLETIONS).collect()} == requests
    orphaned = {r["event_id"] for r in lakehouse.read(ORPHANS).collect()}
    for row in bronze.filter(F.col("type").isin(*VERDICTS)).collect():
        assert row["request_id"] in requests or row["event_id"] in orphaned
