"""The curate job on the embedded engine: gold and drops from silver, secrets never in gold,
every completion accounted for, deterministic reruns."""

import re
from datetime import datetime, timezone

import pytest
from pyspark.sql import functions as F

from echo_spark.config import CurateConfig
from echo_spark.curate.job import curate, verify_gaps
from echo_spark.ingest.job import ingest
from echo_spark.lifecycle.job import lifecycle
from echo_spark.tables import COMPLETIONS, CURATION_DROPS, SFT_SAMPLES

from ..checksums import table_checksums
from ..curate.planted import placements, planted_secrets

CLEAN = [
    ("python", "def area(width, height):\n    ", "\n\nprint(area(2, 3))\n", "return width * height"),
    ("python", "import math\n\n\ndef hypot(x, y):\n    ", "\n", "return math.sqrt(x * x + y * y)"),
    ("python", "items = [3, 1, 2]\nitems.sort()\nfor item in items:\n    ", "\n", "print(item)"),
    ("javascript", "function greet(name) {\n  ", "\n}\n", "return `Hello, ${name}!`;"),
    ("python", "class Counter:\n    def __init__(self):\n        self.count = 0\n\n    def bump(self):\n        ", "\n", ""),
]


def _silver_row(request_id: str, user: str, language: str, prefix: str, suffix: str | None, committed: str | None,
                proposal: str | None = None) -> dict:
    return {
        "request_id": request_id, "session_id": f"s-{user}", "user_id": user, "doc_id": "d", "language": language,
        "request_ts": datetime(2026, 1, 1, tzinfo=timezone.utc), "prefix": prefix, "suffix": suffix,
        "proposal": proposal, "outcome": "rejected", "committed": committed,
        "is_void": committed == "" if committed is not None else None, "finalize_reason": "left_region",
        "tracking_mode": "edits", "request_event_id": f"e-{request_id}", "event_ids": [f"e-{request_id}"],
    }


def _silver(spark, lakehouse) -> list[dict]:
    rows = []
    for i, planted in enumerate(planted_secrets()):
        for where, gap in placements(planted).items():
            rows.append(_silver_row(f"p{i}-{where}", f"u{i % 7}", gap.language, gap.prefix, gap.suffix, gap.committed,
                                    gap.proposal))
    for i, (language, prefix, suffix, committed) in enumerate(CLEAN):
        rows.append(_silver_row(f"c{i}", f"u{i}", language, prefix, suffix, committed))
    rows.append(_silver_row("unknown", "u1", "python", "x = ", None, None))
    lakehouse.append(COMPLETIONS, spark.createDataFrame(rows, COMPLETIONS.schema))
    return rows


@pytest.mark.sail_only
def test_planted_secrets_never_reach_gold_and_every_completion_is_accounted_for(spark, lakehouse, config, tmp_path):
    rows = _silver(spark, lakehouse)
    metrics = curate(spark, lakehouse, config, report_dir=tmp_path / "report")

    gold = lakehouse.read(SFT_SAMPLES).collect()
    drops = lakehouse.read(CURATION_DROPS).collect()
    gold_ids = {r["request_id"] for r in gold}
    drop_ids = {r["request_id"] for r in drops}
    assert gold_ids.isdisjoint(drop_ids)
    assert gold_ids | drop_ids == {r["request_id"] for r in rows}
    assert all(r["stage"] and r["reason"] for r in drops)
    assert metrics["gold"] + metrics["dropped"] == metrics["silver"] == len(rows)

    text = "\n".join("\n".join(filter(None, (r["prefix"], r["suffix"], r["middle"], r["proposal"]))) for r in gold)
    for planted in planted_secrets():
        pieces = [planted.value] + [p for p in re.split(r"\s|\\n", planted.value) if len(p) >= 12 and "PRIVATE" not in p]
        assert not any(piece in text for piece in pieces), planted.kind
    # Secrets in the context were redacted, not dropped: those samples are in gold with placeholders.
    assert metrics["gold_redacted"] > 0
    assert {r["request_id"] for r in gold} >= {"c0", "c1", "c3"}
    assert next(r for r in drops if r["request_id"] == "unknown")["reason"] == "committed_unknown"
    assert (tmp_path / "report" / "report.md").is_file() and (tmp_path / "report" / "report.png").is_file()


@pytest.mark.sail_only
def test_rerun_gives_the_same_gold_and_split_is_by_user(spark, lakehouse, config):
    _silver(spark, lakehouse)
    curate(spark, lakehouse, config)
    first = table_checksums(lakehouse, [SFT_SAMPLES, CURATION_DROPS])
    curate(spark, lakehouse, config)
    assert table_checksums(lakehouse, [SFT_SAMPLES, CURATION_DROPS]) == first
    splits = lakehouse.read(SFT_SAMPLES).groupBy("user_id").agg(F.countDistinct("split").alias("n")).collect()
    assert splits and all(r["n"] == 1 for r in splits)


@pytest.mark.sail_only
def test_real_logs_curate_into_gold_and_drops(spark, lakehouse, config, real_data):
    ingest(spark, lakehouse, config, str(real_data))
    lifecycle(spark, lakehouse, config)
    metrics = curate(spark, lakehouse, config)
    assert metrics["gold"] > 0 and metrics["gold"] + metrics["dropped"] == metrics["silver"]
    assert "committed_unknown" in metrics["dropped_by_stage"]["input"]


def test_per_gap_stages_on_every_backend(spark):
    rows = [_silver_row(f"c{i}", "u", lang, p, s, c) for i, (lang, p, s, c) in enumerate(CLEAN)]
    rows.append(_silver_row("dup", "u", "python", "total = 0\n", "\ntotal = compute_total(items)\n",
                            "total = compute_total(items)"))
    staged = {r["request_id"]: r for r in verify_gaps(spark.createDataFrame(rows, COMPLETIONS.schema), CurateConfig()).collect()}
    assert staged["c0"]["kept"] and staged["c0"]["middle"] == "return width * height"
    assert staged["c4"]["kept"] and staged["c4"]["middle"] == ""  # void: silence was right
    assert (staged["dup"]["drop_stage"], staged["dup"]["drop_reason"]) == ("boundary", "repeats_suffix")


@pytest.mark.sail_only
def test_a_tracked_run_logs_counts_and_the_report_to_mlflow(spark, lakehouse, config, tmp_path):
    from mlflow import MlflowClient

    lakehouse.append(COMPLETIONS, spark.createDataFrame(
        [_silver_row(f"c{i}", f"u{i}", *clean) for i, clean in enumerate(CLEAN)], COMPLETIONS.schema))
    config.curate.mlflow_experiment = "curation"
    config.train.mlflow_dir = str(tmp_path / "mlruns")
    metrics = curate(spark, lakehouse, config, report_dir=tmp_path / "report")

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    run = client.get_run(metrics["mlflow_run_id"])
    assert run.data.metrics["gold"] == metrics["gold"] and run.data.metrics["silver"] == len(CLEAN)
    assert run.data.tags["gold.uri"] == lakehouse.address(SFT_SAMPLES)
    assert run.data.tags["gold.version"] == str(metrics["gold_version"]) == str(lakehouse.version(SFT_SAMPLES))
    # The gold commit's own metrics, as Delta recorded them.
    assert run.data.metrics["gold.commit.numOutputRows"] == metrics["gold"]
    assert {a.path for a in client.list_artifacts(run.info.run_id, "curation_report")} == {
        "curation_report/report.md", "curation_report/report.json", "curation_report/report.png"}


@pytest.mark.sail_only
def test_curate_reads_the_configured_lifecycle_bound(spark, lakehouse, config):
    """The job passes `config.lifecycle` (not its defaults) to the teacher, and silver's
    finalize_reason reaches it: a suffix-less C_N with one line break under a one-line proposal
    was cut at a line end by the default bound (kept whole); under a bound allowing two line
    breaks it was not (dropped, unit_cut)."""
    cut = _silver_row("cut", "u9", "python", "import os\n\npath = '/tmp/data.txt'\n", "",
                      "\nname = os.path.basename(path)", proposal="name = path")
    lakehouse.append(COMPLETIONS, spark.createDataFrame(
        [_silver_row(f"c{i}", f"u{i}", *clean) for i, clean in enumerate(CLEAN)] + [cut], COMPLETIONS.schema))
    curate(spark, lakehouse, config)
    assert lakehouse.read(SFT_SAMPLES).filter(F.col("request_id") == "cut").count() == 1
    config.lifecycle.no_suffix_line_factor = 3
    curate(spark, lakehouse, config)
    assert lakehouse.read(SFT_SAMPLES).filter(F.col("request_id") == "cut").count() == 0
    [drop] = lakehouse.read(CURATION_DROPS).filter(F.col("request_id") == "cut").collect()
    assert (drop["stage"], drop["reason"]) == ("teacher", "unit_cut")


@pytest.mark.sail_only
def test_a_benchmarks_folder_without_benchmarks_stops_curate_before_any_work(spark, lakehouse, config, tmp_path):
    """On a cluster the installed wheel has no ../shared: `benchmarks.dir` must say where they are."""
    import pytest

    from echo_spark.errors import UsageError

    _silver(spark, lakehouse)
    config.benchmarks.dir = str(tmp_path / "no-benchmarks")
    with pytest.raises(UsageError, match="benchmarks.dir"):
        curate(spark, lakehouse, config)
    assert not (tmp_path / "lakehouse" / SFT_SAMPLES.name).exists()
