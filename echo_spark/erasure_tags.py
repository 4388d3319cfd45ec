"""Mark the MLflow runs that trained on an erased user's data.

Erasure removes the user's rows from the current table versions, but a model already trained on
them keeps what it learned: such runs are tagged, so whoever promotes or serves a model can see
that it predates an erasure and retrain. A training run records the gold table it read as the
params `gold.uri` (the table's address in the lakehouse: a folder, or a Unity Catalog name) and
`gold.version` (training/mlflow_tracking.py); every run that read a table
which held the user's rows at a version up to the one the erasure started from is tagged. That
is conservative: a run on a version before the user's rows arrived is tagged too.
"""

from __future__ import annotations

from .lakehouse import same_table

ERASED_TAG = "echo.trained_on_erased_data"


def tag_runs(tracking_uri: str, table_versions: dict[str, int], erasure_id: str) -> list[str]:
    """Tag runs whose `gold.uri` is a key of `table_versions` at a version up to its value."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    tagged: list[str] = []
    for run in client.search_runs(experiments, filter_string="params.`gold.uri` != ''", max_results=50_000) if experiments else []:
        uri, version = run.data.params.get("gold.uri"), run.data.params.get("gold.version")
        if uri is None or version is None:
            continue
        if any(same_table(uri, table) and int(version) <= upto for table, upto in table_versions.items()):
            client.set_tag(run.info.run_id, ERASED_TAG, "true")
            client.set_tag(run.info.run_id, f"echo.erasure.{erasure_id}", "trained on data of an erased user")
            tagged.append(run.info.run_id)
    return tagged
