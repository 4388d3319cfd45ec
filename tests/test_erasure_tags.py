"""Runs trained on a gold table that held an erased user's rows are tagged; others are not."""

from mlflow import MlflowClient

from echo_spark.erasure_tags import ERASED_TAG, tag_runs


def test_runs_on_the_table_at_or_before_the_erased_version_are_tagged(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment = client.create_experiment("sft", artifact_location=(tmp_path / "artifacts").as_uri())
    gold, other = str(tmp_path / "lakehouse" / "sft_samples"), str(tmp_path / "lakehouse" / "sft_other")

    def run(table: str | None, version: int | None) -> str:
        run_id = client.create_run(experiment).info.run_id
        if table is not None:
            client.log_param(run_id, "gold.uri", table)
            client.log_param(run_id, "gold.version", version)
        return run_id

    on_v2, on_v5, on_v6 = run(gold, 2), run(gold, 5), run(gold, 6)
    elsewhere, untracked = run(other, 1), run(None, None)

    # The spelling of the path differs (a `..` in it): the same folder is the same table.
    tagged = tag_runs(uri, {str(tmp_path / "lakehouse" / ".." / "lakehouse" / "sft_samples"): 5}, "e1")

    assert sorted(tagged) == sorted([on_v2, on_v5])
    for run_id in (on_v2, on_v5):
        tags = client.get_run(run_id).data.tags
        assert tags[ERASED_TAG] == "true" and "echo.erasure.e1" in tags
    for run_id in (on_v6, elsewhere, untracked):
        assert ERASED_TAG not in client.get_run(run_id).data.tags


def test_on_a_catalog_runs_are_matched_by_the_table_name(tmp_path):
    """On Unity Catalog training records the gold table's name (Lakehouse.address), and forget
    names the same table: the run is tagged; a run on a folder of the same table name is not."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment = client.create_experiment("sft", artifact_location=(tmp_path / "artifacts").as_uri())
    runs = {}
    for key, table in (("catalog", "main.echo.sft_samples"), ("folder", str(tmp_path / "sft_samples"))):
        runs[key] = client.create_run(experiment).info.run_id
        client.log_param(runs[key], "gold.uri", table)
        client.log_param(runs[key], "gold.version", 3)

    assert tag_runs(uri, {"main.echo.sft_samples": 4}, "e2") == [runs["catalog"]]
    assert ERASED_TAG not in client.get_run(runs["folder"]).data.tags
