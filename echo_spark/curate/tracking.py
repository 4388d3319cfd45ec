"""A curate run as an MLflow run: what went in, what came out, and why the rest was dropped.

Runs sit beside the training runs (same tracking store), so a model's lineage reads back from its
training run's gold version to the curation run that wrote that version: both record the table's
address and version as the lakehouse gives them (a folder, or a Unity Catalog name).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import EchoConfig
from ..lakehouse import Lakehouse
from ..tables import COMPLETIONS, SFT_SAMPLES


def log_curation_run(config: EchoConfig, lakehouse: Lakehouse, metrics: dict[str, Any], report_dir: Path | None) -> str:
    import mlflow

    from training.mlflow_store import artifact_root, experiment_id, tracking_uri

    train = config.train
    uri = tracking_uri(train.mlflow_tracking_uri, train.mlflow_dir)
    mlflow.set_tracking_uri(uri)
    # Created as training's and evaluate's are: artifacts beside theirs, not in the working directory.
    mlflow.set_experiment(experiment_id=experiment_id(
        uri, config.curate.mlflow_experiment, artifact_root(train.mlflow_tracking_uri, train.mlflow_dir)))
    with mlflow.start_run(run_name="curate") as run:
        mlflow.log_params({f"curate.{k}": v for k, v in config.curate.model_dump().items()})
        # Addresses as training records its `gold.uri` (a folder, or the catalog table's name).
        mlflow.set_tags({
            "silver.uri": lakehouse.address(COMPLETIONS), "silver.version": lakehouse.version(COMPLETIONS),
            "gold.uri": lakehouse.address(SFT_SAMPLES), "gold.version": lakehouse.version(SFT_SAMPLES),
        })
        counts = {k: metrics[k] for k in ("silver", "gold", "dropped", "gold_void", "gold_redacted")}
        # The gold commit as Delta recorded it (rows and files written, ...), whichever the engine.
        commit = lakehouse.commit_metrics(SFT_SAMPLES)
        counts.update({f"gold.commit.{k}": float(v) for k, v in commit.items()
                       if k != "version" and isinstance(v, (int, float)) and not isinstance(v, bool)})
        if commit.get("operation"):
            mlflow.set_tag("gold.commit.operation", str(commit["operation"]))
        for stage, reasons in metrics["dropped_by_stage"].items():
            for reason, count in reasons.items():
                counts[f"dropped.{stage}.{reason}".replace(":", "_")] = count
        mlflow.log_metrics(counts)
        if report_dir is not None and (report_dir / "report.md").is_file():
            for name in ("report.md", "report.json", "report.png"):
                mlflow.log_artifact(str(report_dir / name), artifact_path="curation_report")
        return run.info.run_id
