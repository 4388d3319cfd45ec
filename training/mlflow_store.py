"""Where every stage's MLflow runs live: training's, curate's, evaluate's, and the ones forget tags.

One tracking URI and one artifact root, both from the `train` settings (`mlflow_tracking_uri`,
`mlflow_dir`), so a curation run sits beside the training run that read its gold version and an
evaluation finds the models training registered. A configured URI (a tracking server, or
`databricks`) is used as given and places artifacts itself; otherwise the store is local:
`sqlite:///<mlflow_dir>/mlflow.db`, artifacts under `<mlflow_dir>/artifacts`.

No mlflow import here: forget runs on the base install and asks whether there is a store at all
before anything imports mlflow.
"""

from __future__ import annotations

from pathlib import Path

DB_FILE = "mlflow.db"


def _local_uri(mlflow_dir: str) -> str:
    return f"sqlite:///{Path(mlflow_dir).resolve() / DB_FILE}"


def tracking_uri(configured: str | None, mlflow_dir: str) -> str:
    """The store to log to; a local one's folder is created."""
    if configured:
        return configured
    Path(mlflow_dir).resolve().mkdir(parents=True, exist_ok=True)
    return _local_uri(mlflow_dir)


def existing_tracking_uri(configured: str | None, mlflow_dir: str) -> str | None:
    """The store runs were logged to; None when nothing was ever tracked locally (nothing is created)."""
    if configured:
        return configured
    return _local_uri(mlflow_dir) if (Path(mlflow_dir) / DB_FILE).is_file() else None


def artifact_root(configured: str | None, mlflow_dir: str) -> Path | None:
    """Where a new experiment keeps its artifacts: None leaves it to a configured tracking server."""
    return None if configured else Path(mlflow_dir) / "artifacts"


def experiment_id(uri: str, name: str, artifact_root: Path | None, tags: dict[str, str] | None = None) -> str:
    """The experiment `name` on the store at `uri`, created if missing (artifacts under
    `artifact_root`, or where the server puts them when None). `tags` go on a new experiment, and
    on an existing one that lacks them (one a person tagged otherwise keeps theirs)."""
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    found = client.get_experiment_by_name(name)
    if found is None:
        location = artifact_root.resolve().as_uri() if artifact_root is not None else None
        return client.create_experiment(name, artifact_location=location, tags=tags)
    for key, value in (tags or {}).items():
        if key not in found.tags:
            client.set_experiment_tag(found.experiment_id, key, value)
    return found.experiment_id
