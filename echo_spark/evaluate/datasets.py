"""What an evaluation ran on, as MLflow datasets (the Dataset column of its runs).

The held-out requests are logged by their ids and slices (request, language, trigger, length of
the target, void or not), never their code: a dataset's profile and digest say which requests
were replayed and let two runs be compared on the same ones; the code stays in the tables. Its
source is where they came from: the silver table at its version (by path, or by name on a catalog)
or the simulation's folder. The benchmark tasks are logged by file and task id, sourced from the
benchmarks folder.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..lakehouse import is_path
from .benchmarks import Task
from .heldout import HeldoutRequest


@dataclass(frozen=True)
class HeldoutSource:
    label: str  # as params and the report show it
    table: str | None = None  # silver's address (a folder or a catalog name) and version
    version: int | None = None
    folder: str | None = None  # a simulation's folder


def _folder_source(folder: str) -> Any:
    """A local (or Volume) folder as a dataset source. MLflow registers its local artifact source
    twice and warns that the path is ambiguous between the two copies of one class: not said."""
    from mlflow.data.dataset_source_registry import resolve_dataset_source

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted in multiple ways")
        return resolve_dataset_source(folder)


def _source(source: HeldoutSource) -> Any:
    from mlflow.data.delta_dataset_source import DeltaDatasetSource

    if source.table is None:
        return _folder_source(str(source.folder))
    if is_path(source.table):
        return DeltaDatasetSource(path=source.table, delta_table_version=source.version)
    return DeltaDatasetSource(delta_table_name=source.table, delta_table_version=source.version)


def requests_dataset(requests: list[HeldoutRequest], source: HeldoutSource) -> Any:
    import mlflow.data
    import pandas as pd

    frame = pd.DataFrame({
        "request_id": [r.request_id for r in requests],
        "language": [r.language for r in requests],
        "trigger": [r.trigger for r in requests],
        "length_bucket": [r.length_bucket for r in requests],
        "is_void": [r.is_void for r in requests],
    })
    return mlflow.data.from_pandas(frame, source=_source(source), name="heldout_requests")


def tasks_dataset(tasks: list[Task], folder: Path) -> Any:
    import mlflow.data
    import pandas as pd

    frame = pd.DataFrame({"benchmark": [t.benchmark for t in tasks], "task_id": [t.task_id for t in tasks]})
    return mlflow.data.from_pandas(frame, source=_folder_source(str(Path(folder).resolve())), name="fim_benchmark_tasks")
