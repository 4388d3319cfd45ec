"""The analyst notebooks run end to end as plain Python over the tables of a small demo run.

Each runs in its own process, as an analyst would run it (`python notebooks/<name>.py`), and must
leave its figure; the numbers of the tables it writes beside the figure are checked against the
lakehouse tables, read here through the DataFrame API rather than the notebooks' SQL.
"""

from __future__ import annotations

import ast
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import pandas as pd
import pytest
from pyspark.sql import functions as F

from echo_spark.cli import main
from echo_spark.config import LakehouseConfig
from echo_spark.lakehouse import Lakehouse
from echo_spark.tables import ALL_TABLES

from .conftest import REPO

NOTEBOOKS = REPO / "notebooks"


@pytest.fixture(scope="session")
def demo_lakehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tables the demo's data stages write (simulate, ingest, lifecycle, curate), at a small
    size, shared by every notebook test. Perplexity scoring is off: no model is needed for them."""
    root = tmp_path_factory.mktemp("demo")
    lakehouse = ["--lakehouse", str(root / "lakehouse"), "--quiet", "--set", "curate.perplexity_enabled=false"]
    assert main(["simulate", "--events", "6000", "--out", str(root / "out"), "--overwrite", "--quiet"]) == 0
    assert main(["ingest", "--landing", str(root / "out" / "landing"), *lakehouse]) == 0
    assert main(["lifecycle", *lakehouse]) == 0
    assert main(["curate", *lakehouse]) == 0
    return root / "lakehouse"


@pytest.fixture(scope="session")
def tables(spark, demo_lakehouse):
    lakehouse = Lakehouse(spark, LakehouseConfig(root=str(demo_lakehouse)))
    return lambda name: lakehouse.read(ALL_TABLES[name])


def run_notebook(name: str, lakehouse: Path, out: Path) -> dict[str, pd.DataFrame]:
    """Run notebooks/<name>.py in a fresh process; its figure must exist; returns its tables."""
    env = {**os.environ, "ECHO_LAKEHOUSE": str(lakehouse), "ECHO_NOTEBOOK_OUT": str(out)}
    done = subprocess.run(
        [sys.executable, str(NOTEBOOKS / f"{name}.py")], cwd=out.parent, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figure = matplotlib.image.imread(out / f"{name}.png")
    assert figure.shape[0] > 300 and figure.shape[1] > 600
    return {path.stem: pd.read_csv(path) for path in out.glob("*.csv")}


def test_every_notebook_is_a_databricks_source_notebook_and_tested_here():
    notebooks = sorted(path.stem for path in NOTEBOOKS.glob("*.py") if path.read_text().startswith("# Databricks notebook source\n"))
    assert notebooks == ["acceptance_rate", "edit_patterns", "funnel", "retention"]
    tested = {name[len("test_") : -len("_notebook")] for name in globals() if name.startswith("test_") and name.endswith("_notebook")}
    assert tested == set(notebooks)
    for name in notebooks:
        cells = (NOTEBOOKS / f"{name}.py").read_text().split("\n# COMMAND ----------\n")
        assert len(cells) > 2, name
        assert cells[0].splitlines()[1] == "# MAGIC %md", f"{name} opens with a title cell"


@pytest.mark.sail_only
def test_acceptance_rate_notebook(demo_lakehouse, tables, tmp_path):
    out = run_notebook("acceptance_rate", demo_lakehouse, tmp_path / "out")
    shown = tables("completions").where(F.col("proposal").isNotNull())
    taken = shown.where(F.col("outcome").isin("accepted", "partial")).count()
    over_time, by_group = out["acceptance_over_time"], out["acceptance_by_model_language"]
    assert len(over_time) >= 6
    for frame in (over_time, by_group):
        assert (frame["shown"].sum(), frame["taken"].sum()) == (shown.count(), taken)
        assert frame["acceptance_rate"].between(0, 1).all()
    assert set(by_group["model"]) == {row.model for row in shown.select("model").distinct().collect()}


@pytest.mark.sail_only
def test_funnel_notebook(demo_lakehouse, tables, tmp_path):
    out = run_notebook("funnel", demo_lakehouse, tmp_path / "out")
    funnel = out["funnel"].set_index("step")["completions"]
    requests = tables("events").where(F.col("type") == "completion_request").select("session_id", "request_id").distinct()
    assert funnel["requested"] == requests.count()
    assert funnel["tracked in silver"] == tables("completions").count()
    assert funnel["after proportion"] == tables("sft_samples").count() > 0
    assert funnel.is_monotonic_decreasing
    drops = out["curation_drops_by_reason"]
    assert drops["completions"].sum() == tables("curation_drops").count() > 0
    expected = {(row.stage, row.reason): row["count"] for row in tables("curation_drops").groupBy("stage", "reason").count().collect()}
    assert dict(zip(zip(drops["stage"], drops["reason"]), drops["completions"])) == expected


def test_funnel_notebook_orders_the_stages_as_curation_does():
    from echo_spark.curate.pipeline import GLOBAL_STAGES, ROW_STAGES

    tree = ast.parse((NOTEBOOKS / "funnel.py").read_text())
    [stages] = [
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and [ast.unparse(target) for target in node.targets] == ["CURATION_STAGES"]
    ]
    assert stages == ROW_STAGES + GLOBAL_STAGES


@pytest.mark.sail_only
def test_edit_patterns_notebook(demo_lakehouse, tables, tmp_path):
    out = run_notebook("edit_patterns", demo_lakehouse, tmp_path / "out")
    patterns = out["edit_patterns"]
    known = tables("completions").where(F.col("proposal").isNotNull() & F.col("committed").isNotNull())
    assert patterns["completions"].sum() == known.count()
    kept = patterns[patterns["pattern"] == "kept as is"]["completions"].sum()
    assert kept == known.where(F.col("committed") == F.col("proposal")).count()
    emptied = patterns[patterns["pattern"] == "left empty"]["completions"].sum()
    assert emptied == known.where((F.col("committed") == "") & (F.col("proposal") != "")).count()
    for outcome, shares in patterns.groupby("outcome")["share_of_outcome"]:
        assert shares.sum() == pytest.approx(1), outcome
    accepted = tables("completions").where(F.col("outcome").isin("accepted", "partial") & F.col("c1_survival").isNotNull())
    assert out["accepted_token_survival"]["completions"].sum() == accepted.count()


@pytest.mark.sail_only
def test_retention_notebook(demo_lakehouse, tables, tmp_path):
    out = run_notebook("retention", demo_lakehouse, tmp_path / "out")
    accepted = tables("completions").where(F.col("outcome").isin("accepted", "partial"))
    for frame in (out["retention_by_model"], out["retention_by_language"]):
        observed = frame.groupby("age_minutes")["observed"].sum()
        assert observed[0.5] == accepted.where(F.col("retention_30s").isNotNull()).count() > 0
        assert observed[10] == accepted.where(F.col("retention_10m").isNotNull()).count()
        assert frame["mean_retention"].dropna().between(0, 1).all()


def documented_sql_examples() -> list[list[str]]:
    """The `echo-spark sql` command lines of the README's Analysts section, as argument lists."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("\n## Analysts\n") :].split("\n## ", 2)[1]
    return [shlex.split(line.strip())[1:] for line in section.splitlines() if line.strip().startswith("echo-spark sql ")]


def test_documented_sql_examples_answer(demo_lakehouse, tmp_path, monkeypatch):
    examples = documented_sql_examples()
    assert len(examples) >= 3
    monkeypatch.chdir(tmp_path)
    for argv in examples:
        metrics = tmp_path / "metrics.json"
        assert main([*argv, "--lakehouse", str(demo_lakehouse), "--quiet", "--metrics-json", str(metrics)]) == 0, argv
        answered = json.loads(metrics.read_text())
        assert answered.get("rows_shown", answered.get("rows")) > 0, argv
        if "--output" in argv:
            assert len(pd.read_parquet(answered["output"])) == answered["rows"], argv
