"""`--model RUN_OR_PATH`: which model folder an arm evaluates, and what trained it.

Accepted, in this order: a Hugging Face model folder; a training run's name (its exported model
under `train.runs_dir`); an MLflow run id of a training run (its `echo.run_name` tag leads to the
same folder, or the logged model is downloaded when that folder is not on this machine); a
`runs:/` or `models:/` URI of a logged model. The training run, when there is one, names the table
and version it trained on, which is how the evaluation checks that no held-out developer was in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import EchoConfig
from ..errors import UsageError

RUN_NAME_TAG = "echo.run_name"  # as training/mlflow_tracking.py tags a training run
# Where the pyfunc model keeps the Hugging Face folder (training/mlflow_tracking.log_model).
LOGGED_FOLDER = "model/artifacts/model"


@dataclass(frozen=True)
class ResolvedModel:
    spec: str  # as given
    path: Path  # the Hugging Face folder
    training_run_id: str | None = None
    training_table: str | None = None  # the Delta table (URI) and version it trained on
    training_version: int | None = None


def is_model_folder(path: Path) -> bool:
    return (path / "config.json").is_file()


def resolve(spec: str, config: EchoConfig, tracking_uri: str) -> ResolvedModel:
    path = Path(spec).expanduser()
    if is_model_folder(path):
        return ResolvedModel(spec, path.resolve())
    if spec.startswith(("runs:/", "models:/")):
        return ResolvedModel(spec, _download(spec, tracking_uri))
    named = Path(config.train.runs_dir) / spec / "model"
    run = _training_run(spec, tracking_uri)
    if run is None:
        if is_model_folder(named):
            return ResolvedModel(spec, named.resolve())
        raise UsageError(f"--model {spec}: not a model folder, a training run name under {config.train.runs_dir} or an MLflow run")
    name = run.data.tags.get(RUN_NAME_TAG, "")
    folder = Path(config.train.runs_dir) / name / "model"
    if not (name and is_model_folder(folder)):
        folder = _download(f"runs:/{run.info.run_id}/{LOGGED_FOLDER}", tracking_uri)
    version = run.data.params.get("gold.version")
    return ResolvedModel(spec, folder.resolve(), run.info.run_id, run.data.params.get("gold.uri"),
                         int(version) if version is not None else None)


def _training_run(spec: str, tracking_uri: str):
    """The MLflow run with this id, or the newest run tagged with this training run name."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri)
    try:
        return client.get_run(spec)
    except MlflowException:
        pass
    experiments = [e.experiment_id for e in client.search_experiments()]
    if "'" in spec or not experiments:
        return None
    found = client.search_runs(experiments, filter_string=f"tags.`{RUN_NAME_TAG}` = '{spec}'",
                               order_by=["attributes.start_time DESC"], max_results=1)
    return found[0] if found else None


def _download(uri: str, tracking_uri: str) -> Path:
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    found = next((p.parent for p in sorted(local.rglob("config.json")) if is_model_folder(p.parent)), None)
    if found is None:
        raise UsageError(f"--model {uri}: no Hugging Face model folder in the logged artifacts")
    return found


def heldout_in_training(model: ResolvedModel, heldout_users: list[str]) -> int | None:
    """How many held-out developers appear in the table the model was trained on (None: unknown,
    e.g. a model given as a folder). Anything but 0 means the replay measures memory, not skill."""
    if model.training_table is None or model.training_version is None:
        return None
    from deltalake import DeltaTable

    users = DeltaTable(model.training_table, version=model.training_version).to_pyarrow_table(columns=["user_id"])
    return len(set(users["user_id"].to_pylist()) & set(heldout_users))
