"""MLflow layout of an evaluation: one experiment (`evaluate.mlflow_experiment`), one run per arm,
on the training runs' tracking server (`train.mlflow_tracking_uri`, local SQLite by default).

  params    arm, model folder, training run, held-out sample and replay settings
  tags      echo.arm, echo.comparison (shared by the arms evaluated together), echo.training_run_id
  metrics   each overall metric with `_low`/`_high` (the interval); acceptance per slice
            (`acceptance.trigger.dot`, ...); benchmark exact match and pass@1 (`fim.<file>.pass_at_1`);
            heldout_users_in_training when the arm's training table is known
  artifacts replay.jsonl (per request: outcome, how, chars saved, the proposal) and the comparison
            report (report.md, report.json, report.png)
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .metrics import ArmScores
from .replay import Replayed

_UNSAFE = re.compile(r"[^A-Za-z0-9_\-. /]")


def metric_key(text: str) -> str:
    """A slice value as an MLflow metric name part ("<=16" -> "le16", ">1024" -> "gt1024")."""
    return _UNSAFE.sub("_", text.replace("<=", "le").replace(">", "gt"))


def flat_metrics(scores: ArmScores, benchmarks: dict[str, dict[str, Any]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, e in scores.overall.items():
        if e.value is not None:
            out[name] = e.value
            out[f"{name}_low"], out[f"{name}_high"] = e.low, e.high
    for slice_name, values in scores.slices.items():
        for value, metrics in values.items():
            if metrics["acceptance"].value is not None:
                out[f"acceptance.{slice_name}.{metric_key(value)}"] = metrics["acceptance"].value
    for bench, summary in benchmarks.items():
        for key in ("exact_match", "pass_at_1"):
            if summary.get(key) is not None:
                out[f"fim.{metric_key(bench)}.{key}"] = summary[key]
    return out


def experiment_id(tracking_uri: str, experiment: str, artifact_root: Path) -> str:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri)
    found = client.get_experiment_by_name(experiment)
    return found.experiment_id if found else client.create_experiment(experiment, artifact_location=artifact_root.resolve().as_uri())


def log_arm(
    tracking_uri: str,
    experiment: str,
    artifact_root: Path,
    arm: str,
    comparison_id: str,
    params: dict[str, Any],
    metrics: dict[str, float],
    rows: list[Replayed],
    training_run_id: str | None,
) -> str:
    """One finished MLflow run for the arm; returns its id."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    client = MlflowClient(tracking_uri)
    tags = {"echo.arm": arm, "echo.comparison": comparison_id}
    if training_run_id:
        tags["echo.training_run_id"] = training_run_id
    run = client.create_run(experiment_id(tracking_uri, experiment, artifact_root), run_name=f"eval-{arm}", tags=tags)
    run_id = run.info.run_id
    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric(k, float(v), now, 0) for k, v in sorted(metrics.items())],
        params=[Param(k, str(v)[:6000]) for k, v in sorted(params.items())],
        tags=[RunTag(k, v) for k, v in tags.items()],
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "replay.jsonl"
        path.write_text("".join(json.dumps(asdict(r)) + "\n" for r in rows), encoding="utf-8")
        client.log_artifact(run_id, str(path))
    client.set_terminated(run_id)
    return run_id


def log_report(tracking_uri: str, run_ids: list[str], report_dir: Path) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri)
    for run_id in run_ids:
        for name in ("report.md", "report.json", "report.png"):
            client.log_artifact(run_id, str(report_dir / name), artifact_path="report")
