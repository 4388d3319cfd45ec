"""MLflow layout of a training run.

One experiment (`train.mlflow_experiment`); one MLflow run per training run, found again by its
`echo.run_name` tag, so a killed run that is resumed keeps logging into the same MLflow run:
  params   the effective `train` section (flattened), the pinned gold version, sample counts
  inputs   the gold table as a dataset (source: the Delta path, or the catalog table's name, and version)
  metrics  loss, tokens_per_s, learning_rate every log step; val_loss every eval step (step 0 is
           the base model); system/* (CPU, memory) when system_metrics is on
  model    `model/`: a pyfunc FIM completer (`serving.py`; the merged Hugging Face folder and its
           tokenizer as an artifact, this package as code), registered as a new version of
           `train.registered_model`, which gets the alias `challenger` (the candidate;
           `evaluate --promote` moves `champion` to it when it wins)
  summary  `summary.json`: what the run returned (losses, sample counts, model folder and URI),
           returned again when the same run is asked for after it finished

The store (tracking URI, artifact root) is `mlflow_store.py`'s, shared with the other stages.
Compare runs with `mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import RunStatus

from . import mlflow_store

RUN_NAME_TAG = "echo.run_name"
# The alias a newly registered version gets: the candidate, until `evaluate --promote` makes it the
# `champion` (echo_spark/evaluate/promotion.py).
CHALLENGER_ALIAS = "challenger"
# Logged last with the parameters: its presence says the parameters are all there.
PARAMS_MARKER = "total_steps"
# What `run_training` returned, kept with the run so that rerunning a finished run returns it again.
SUMMARY_FILE = "summary.json"
TRAINING_PACKAGE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class RunHandle:
    run_id: str
    # "new" (just created), "unfinished" (a killed run being resumed) or "finished".
    state: str
    # Whether an earlier attempt got as far as logging the parameters and the dataset (one killed
    # while reading the table did not).
    params_logged: bool = False


def open_run(uri: str, experiment: str, artifact_root: Path | None, run_name: str) -> RunHandle:
    """The MLflow run of this training run: the existing one (by tag) or a new one.

    `artifact_root` places a new experiment's artifacts (the local store); None leaves it to the
    tracking server (Databricks chooses its own)."""
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    experiment_id = mlflow_store.experiment_id(uri, experiment, artifact_root)
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`{RUN_NAME_TAG}` = '{run_name}'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if runs:
        finished = runs[0].info.status == RunStatus.to_string(RunStatus.FINISHED)
        logged = PARAMS_MARKER in runs[0].data.params
        return RunHandle(runs[0].info.run_id, "finished" if finished else "unfinished", logged)
    run = client.create_run(experiment_id, run_name=run_name, tags={RUN_NAME_TAG: run_name})
    return RunHandle(run.info.run_id, "new")


def flatten(prefix: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, child in value.items():
            out.update(flatten(f"{prefix}.{key}" if prefix else key, child))
        return out
    return {prefix: value}


def log_dataset(uri: str, version: int, train_rows: int, validation_rows: int) -> None:
    from mlflow.data.delta_dataset_source import DeltaDatasetSource
    from mlflow.data.meta_dataset import MetaDataset

    # A folder or URI by path, a Unity Catalog table by name (catalog.schema.table).
    by_path = "/" in uri or "\\" in uri
    source = DeltaDatasetSource(path=uri, delta_table_version=version) if by_path else \
        DeltaDatasetSource(delta_table_name=uri, delta_table_version=version)
    name = Path(uri).name if by_path else uri.rsplit(".", 1)[-1]
    mlflow.log_input(MetaDataset(source, name=f"{name}@v{version}", digest=f"v{version}"), context="training")
    mlflow.log_params({"gold.uri": uri, "gold.version": version, "gold.train_samples": train_rows, "gold.validation_samples": validation_rows})


def log_summary(summary: dict[str, Any]) -> None:
    mlflow.log_dict(summary, SUMMARY_FILE)


def load_summary(run_id: str) -> dict[str, Any]:
    return mlflow.artifacts.load_dict(f"runs:/{run_id}/{SUMMARY_FILE}")


def download_model_folder(run_id: str, out_dir: Path) -> Path:
    """The Hugging Face folder logged inside the run's MLflow model (its `model` artifact), into `out_dir`."""
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory(dir=out_dir.parent) as tmp:
        folder = mlflow.artifacts.download_artifacts(artifact_uri=f"runs:/{run_id}/model/artifacts/model", dst_path=tmp)
        shutil.rmtree(out_dir, ignore_errors=True)
        Path(folder).rename(out_dir)
    return out_dir


def log_model(model_dir: Path, registered_model: str) -> dict[str, Any]:
    """Log the merged model folder as a pyfunc under the active run and register a new version."""
    from importlib.metadata import version

    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

    signature = ModelSignature(
        inputs=Schema([ColSpec("string", "prefix"), ColSpec("string", "suffix", required=False)]),
        outputs=Schema([ColSpec("string")]),
        params=ParamSchema([ParamSpec("max_new_tokens", "long", 64)]),
    )
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=str(TRAINING_PACKAGE / "serving.py"),
        artifacts={"model": str(model_dir)},
        # Logging runs this example through the model once: a model that cannot load or complete
        # fails here, not at serving time.
        input_example=pd.DataFrame({"prefix": ["def add(a, b):\n    return "], "suffix": ["\n"]}),
        code_paths=[str(TRAINING_PACKAGE)],
        signature=signature,
        # Pinned to what trained it; listed, not inferred (inference would import and probe).
        pip_requirements=[f"{p}=={version(p)}" for p in ("torch", "transformers", "tokenizers", "numpy", "pandas")],
        registered_model_name=registered_model,
    )
    MlflowClient().set_registered_model_alias(registered_model, CHALLENGER_ALIAS, str(info.registered_model_version))
    return {"model_uri": info.model_uri, "registered_model": registered_model, "model_version": info.registered_model_version}
