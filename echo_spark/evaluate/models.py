"""`--model RUN_OR_PATH`: which model folder an arm evaluates, and what trained it.

Accepted, in this order: a Hugging Face model folder; `@ALIAS`, the registered model's version
under that alias (`@champion`, `@challenger`: `models:/<train.registered_model>@ALIAS`); a
`runs:/` or `models:/` URI of a logged model; a training run's name (its exported model under
`train.runs_dir`); an MLflow run id of a training run (its `echo.run_name` tag leads to the same
folder, or the logged model is downloaded when that folder is not on this machine). The training
run, when there is one (a registered version knows its run), names the table and version it
trained on, which is how the evaluation checks that no held-out developer was in it; the
registered model version, when there is one, is what the arm's MLflow run links to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import EchoConfig
from ..errors import UsageError
from .tracking import ModelLink

if TYPE_CHECKING:
    from ..lakehouse import Lakehouse

RUN_NAME_TAG = "echo.run_name"  # as training/mlflow_tracking.py tags a training run
# Where the pyfunc model keeps the Hugging Face folder (training/mlflow_tracking.log_model).
LOGGED_FOLDER = "model/artifacts/model"


@dataclass(frozen=True)
class ResolvedModel:
    spec: str  # as given
    path: Path  # the Hugging Face folder
    training_run_id: str | None = None
    training_table: str | None = None  # the table's address (folder or catalog name) and version it trained on
    training_version: int | None = None
    link: ModelLink = ModelLink()  # the registered model version, if it is one


def alias_uri(alias: str, config: EchoConfig) -> str:
    return f"models:/{config.train.registered_model}@{alias}"


def is_model_folder(path: Path) -> bool:
    return (path / "config.json").is_file()


def resolve(spec: str, config: EchoConfig, tracking_uri: str) -> ResolvedModel:
    path = Path(spec).expanduser()
    if is_model_folder(path):
        return ResolvedModel(spec, path.resolve())
    uri = alias_uri(spec[1:], config) if spec.startswith("@") else spec
    if uri.startswith("models:/"):
        link = registered_version(uri, tracking_uri)
        run = _training_run(link.run_id, tracking_uri) if link.run_id else None
        return ResolvedModel(spec, _download(uri, tracking_uri), *_trained_on(run), link=link.link)
    if uri.startswith("runs:/"):
        return ResolvedModel(spec, _download(uri, tracking_uri))
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
    return ResolvedModel(spec, folder.resolve(), *_trained_on(run),
                         link=_version_of_run(run.info.run_id, config.train.registered_model, tracking_uri))


def _trained_on(run) -> tuple[str | None, str | None, int | None]:
    """(training run id, table address, version) of a training run (all None: no run)."""
    if run is None:
        return None, None, None
    version = run.data.params.get("gold.version")
    return run.info.run_id, run.data.params.get("gold.uri"), int(version) if version is not None else None


@dataclass(frozen=True)
class RegisteredVersion:
    link: ModelLink
    run_id: str | None  # the training run that logged it


def registered_version(uri: str, tracking_uri: str) -> RegisteredVersion:
    """`models:/NAME/VERSION` or `models:/NAME@ALIAS` as its registered model version."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    rest = uri[len("models:/"):]
    name, at, alias = rest.partition("@")
    client = MlflowClient(tracking_uri)
    try:
        if at:
            found = client.get_model_version_by_alias(name, alias)
        else:
            name, _, version = rest.rpartition("/")
            found = client.get_model_version(name, version)
    except MlflowException as err:
        raise UsageError(f"--model {uri}: no such registered model version ({err.message})") from None
    return RegisteredVersion(ModelLink(found.name, str(found.version), _model_id(found)), found.run_id)


def _model_id(version) -> str | None:
    """The logged model behind a registered version: its `model_id`, or (a SQL store does not
    return it) its source, `models:/<model id>` for a version MLflow 3 registered from a run."""
    if getattr(version, "model_id", None):
        return version.model_id
    source = version.source or ""
    rest = source[len("models:/"):] if source.startswith("models:/") else ""
    return rest if rest.startswith("m-") and "/" not in rest and "@" not in rest else None


def _version_of_run(run_id: str, registered_model: str, tracking_uri: str) -> ModelLink:
    """The version of `registered_model` a training run registered (its newest), if any."""
    from mlflow import MlflowClient

    found = [v for v in MlflowClient(tracking_uri).search_model_versions(f"run_id = '{run_id}'")
             if v.name == registered_model]
    if not found:
        return ModelLink()
    newest = max(found, key=lambda v: int(v.version))
    return ModelLink(newest.name, str(newest.version), _model_id(newest))


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


def heldout_in_training(model: ResolvedModel, heldout_users: list[str], lakehouse: "Lakehouse") -> int | None:
    """How many held-out developers appear in the table the model was trained on (None: unknown,
    e.g. a model given as a folder). Anything but 0 means the replay measures memory, not skill.
    The table is read at that version by the address training recorded (a folder, or a catalog
    table's name), through the table layer."""
    if model.training_table is None or model.training_version is None:
        return None
    users = lakehouse.to_arrow(model.training_table, model.training_version, ["user_id"])
    return len(set(users["user_id"].to_pylist()) & set(heldout_users))
