"""Logs people already have, end to end: Continue and Tabby fixtures imported, ingested, tracked.
The lifecycle extracts C_N where a later request's window shows what the user kept."""

from pathlib import Path

import pytest

from echo_spark.cli import main
from echo_spark.config import EchoConfig, LakehouseConfig
from echo_spark.lakehouse import Lakehouse
from echo_spark.tables import COMPLETIONS, EVENTS

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "importers"


def _silver(spark, root) -> dict[str, dict]:
    lakehouse = Lakehouse(spark, EchoConfig(lakehouse=LakehouseConfig(root=str(root))).lakehouse)
    assert lakehouse.read(EVENTS).count() > 0
    return {r["request_id"]: r.asDict() for r in lakehouse.read(COMPLETIONS).collect()}


@pytest.mark.sail_only
def test_continue_logs_ingest_and_yield_c_n(spark, tmp_path):
    root = tmp_path / "lh"
    assert main(["ingest", "--format", "continue", "--landing", str(FIXTURES / "continue"),
                 "--lakehouse", str(root), "--quiet"]) == 0
    assert (root / "_imported" / "continue" / "_quarantine").is_dir()  # the unreadable line is kept there
    assert main(["lifecycle", "--lakehouse", str(root), "--quiet"]) == 0
    silver = _silver(spark, root)
    first = silver["0f6c9a52-3d1e-4b7a-9e61-2a8d5c0b7f11"]
    assert (first["outcome"], first["proposal"], first["tracking_mode"]) == ("accepted", "return a + b", "requests")
    # The later window shows the accepted line edited (a comment added) and kept.
    assert first["committed"].startswith("return a + b  # sum\n")


@pytest.mark.sail_only
def test_tabby_logs_ingest_and_yield_c_n(spark, tmp_path):
    landing = tmp_path / "landing"
    assert main(["import", "--from", "tabby", str(FIXTURES / "tabby"), "--out", str(landing), "--quiet"]) == 0
    root = tmp_path / "lh"
    assert main(["ingest", "--landing", str(landing), "--lakehouse", str(root), "--quiet"]) == 0
    assert main(["lifecycle", "--lakehouse", str(root), "--quiet"]) == 0
    partial = _silver(spark, root)["cmpl-3b1f8e2a-6c0d-4e57-9a14-d2f7c8b05e91"]
    assert partial["outcome"] == "partial"
    # The user took the first line of the proposal and replaced its body.
    assert partial["committed"].startswith('if not xs:\n        raise ValueError("empty")')
