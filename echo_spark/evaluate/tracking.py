"""MLflow layout of an evaluation: one experiment (`evaluate.mlflow_experiment`), one run per arm,
on the training runs' tracking server (`train.mlflow_tracking_uri`, local SQLite by default).

  experiment  tagged `mlflow.experimentKind: genai_development`, so the MLflow UI opens it on the
            GenAI overview (evaluation runs, datasets, models) rather than the runs table
  run       opened before the arm's work and closed after it (its duration is the arm's evaluation;
            FAILED if the work raised)
  inputs    the held-out requests (ids and slices, no code; source: the silver table at its version,
            or the simulation folder) and the benchmark tasks (source: the benchmarks folder), as
            datasets; the model version evaluated as a model input, when the arm is a registered one
  params    arm, model folder, training run, held-out sample and replay settings
  tags      echo.arm, echo.comparison (shared by the arms evaluated together), echo.training_run_id,
            echo.model.name / echo.model.version (the registered model version evaluated)
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
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator

from training.mlflow_store import experiment_id as store_experiment

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


# The experiment kind the MLflow UI (3.x) reads to open an experiment on its GenAI overview.
EXPERIMENT_KIND_TAG, GENAI_KIND = "mlflow.experimentKind", "genai_development"


@dataclass(frozen=True)
class ModelLink:
    """The registered model version an arm evaluates (None fields: not a registered model)."""

    name: str | None = None
    version: str | None = None
    model_id: str | None = None  # the MLflow 3 logged model behind the version


@contextmanager
def arm_run(tracking_uri: str, experiment: str, artifact_root: Path | None, arm: str, comparison_id: str,
            training_run_id: str | None, model: ModelLink) -> Iterator[str]:
    """The arm's MLflow run, open for as long as the arm is evaluated: FINISHED when the block
    ends, FAILED if it raises. Yields the run id."""
    from mlflow import MlflowClient
    from mlflow.entities import LoggedModelInput

    client = MlflowClient(tracking_uri)
    tags = {"echo.arm": arm, "echo.comparison": comparison_id}
    if training_run_id:
        tags["echo.training_run_id"] = training_run_id
    if model.name and model.version:
        tags.update({"echo.model.name": model.name, "echo.model.version": str(model.version)})
    # Of the GenAI kind: an existing experiment without a kind gets it, one set to another keeps it.
    experiment_id = store_experiment(tracking_uri, experiment, artifact_root, {EXPERIMENT_KIND_TAG: GENAI_KIND})
    run = client.create_run(experiment_id, run_name=f"eval-{arm}", tags=tags)
    run_id = run.info.run_id
    try:
        if model.model_id:
            client.log_inputs(run_id, models=[LoggedModelInput(model.model_id)])
        yield run_id
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id, "FINISHED")


def log_inputs(tracking_uri: str, run_id: str, datasets: list[Any]) -> None:
    """Datasets (mlflow.data) as the run's evaluation inputs: the UI's Dataset column."""
    from mlflow import MlflowClient
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    MlflowClient(tracking_uri).log_inputs(run_id, datasets=[
        DatasetInput(d._to_mlflow_entity(), tags=[InputTag(MLFLOW_DATASET_CONTEXT, "evaluation")]) for d in datasets
    ])


def log_results(tracking_uri: str, run_id: str, params: dict[str, Any], metrics: dict[str, float],
                rows: list[Replayed]) -> None:
    """What the arm measured, into its open run."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    client = MlflowClient(tracking_uri)
    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric(k, float(v), now, 0) for k, v in sorted(metrics.items())],
        params=[Param(k, str(v)[:6000]) for k, v in sorted(params.items())],
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "replay.jsonl"
        path.write_text("".join(json.dumps(asdict(r)) + "\n" for r in rows), encoding="utf-8")
        client.log_artifact(run_id, str(path))


def log_report(tracking_uri: str, run_ids: list[str], report_dir: Path) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri)
    for run_id in run_ids:
        for name in ("report.md", "report.json", "report.png"):
            client.log_artifact(run_id, str(report_dir / name), artifact_path="report")
