"""Registered model versions as arms, the arms' links to them, the champion/challenger aliases and
`evaluate --promote`, on a local SQLite tracking store in tmp_path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import write_deltalake
from mlflow import MlflowClient

from echo_spark.cli import main
from echo_spark.config import load_config
from echo_spark.errors import UsageError
from echo_spark.evaluate.bootstrap import Estimate
from echo_spark.evaluate.job import tracking
from echo_spark.evaluate.metrics import ArmScores
from echo_spark.evaluate.models import resolve
from echo_spark.evaluate.promotion import CHAMPION_ALIAS, Plan, decide, plan
from echo_spark.evaluate.report import ArmResult
from training.mlflow_tracking import CHALLENGER_ALIAS

MODEL = "echo-fim"


@pytest.fixture
def settings(tmp_path, sim) -> list[str]:
    return [
        f"lakehouse.root={tmp_path / 'lakehouse'}",
        f"train.mlflow_dir={tmp_path / 'mlruns'}",
        f"train.runs_dir={tmp_path / 'runs'}",
        f"evaluate.simulation_dir={sim[0]}",
        f"evaluate.holdout_users={sim[0] / 'heldout_users.txt'}",
        "evaluate.max_requests=8",
        "evaluate.max_new_tokens=4",
        "evaluate.bootstrap_resamples=100",
        "evaluate.benchmarks_enabled=false",
        "evaluate.real_copilot_enabled=false",
    ]


@pytest.fixture
def registry(settings, untrained_model):
    """Two registered versions of the model, each from a training run (as `echo-spark train`
    registers them, with an MLflow 3 logged model behind each): v1 under @champion, v2 under
    @challenger."""
    import mlflow

    config = load_config(None, settings)
    uri, root = tracking(config)
    mlflow.set_tracking_uri(uri)  # the registry resolves a `models:/<model id>` source on the global store
    client = MlflowClient(uri)
    experiment = client.create_experiment("echo-fim-sft", artifact_location=root.resolve().as_uri())
    client.create_registered_model(MODEL)
    gold = str(Path(config.lakehouse.root).resolve() / "sft_samples")
    write_deltalake(gold, pa.table({"user_id": ["u-trained"]}))
    runs, models = [], []
    for i in (1, 2):
        run = client.create_run(experiment, tags={"echo.run_name": f"sft-{i}"})
        shutil.copytree(untrained_model, Path(config.train.runs_dir) / f"sft-{i}" / "model")  # its exported folder
        client.log_param(run.info.run_id, "gold.uri", gold)
        client.log_param(run.info.run_id, "gold.version", 0)
        logged = client.create_logged_model(experiment, name="model", source_run_id=run.info.run_id)
        client.log_model_artifacts(logged.model_id, str(untrained_model))
        client.create_model_version(MODEL, f"models:/{logged.model_id}", run_id=run.info.run_id, model_id=logged.model_id)
        runs.append(run.info.run_id)
        models.append(logged.model_id)
    client.set_registered_model_alias(MODEL, CHAMPION_ALIAS, "1")
    client.set_registered_model_alias(MODEL, CHALLENGER_ALIAS, "2")
    return config, uri, client, runs, models


def test_an_alias_resolves_to_its_version_its_training_run_and_its_table(registry):
    config, uri, _, runs, models = registry
    challenger = resolve("@challenger", config, uri)
    assert (challenger.link.name, challenger.link.version, challenger.link.model_id) == (MODEL, "2", models[1])
    gold = str(Path(config.lakehouse.root).resolve() / "sft_samples")
    assert (challenger.training_run_id, challenger.training_table, challenger.training_version) == (runs[1], gold, 0)
    assert resolve(f"models:/{MODEL}/1", config, uri).link.version == "1"
    # A training run given by id links to the version it registered.
    assert resolve(runs[0], config, uri).link.version == "1"
    with pytest.raises(UsageError, match="no such registered model version"):
        resolve("@nobody", config, uri)


def test_each_arm_run_links_to_the_model_version_it_evaluated(registry, tmp_path):
    config, uri, client, _, models = registry
    argv = ["evaluate", "--quiet", "--model", "champion=@champion", "--model", "challenger=@challenger",
            "--metrics-json", str(tmp_path / "m.json")] + [a for s in _settings(config) for a in ("--set", s)]
    assert main(argv) == 0
    metrics = json.loads((tmp_path / "m.json").read_text())
    for arm, version, model_id in (("champion", "1", models[0]), ("challenger", "2", models[1])):
        run = client.get_run(metrics["arms"][arm]["mlflow_run_id"])
        assert (run.data.tags["echo.model.name"], run.data.tags["echo.model.version"]) == (MODEL, version)
        assert [m.model_id for m in run.inputs.model_inputs] == [model_id]
    assert metrics["promotion"] is None  # not asked


def _settings(config) -> list[str]:
    e = config.evaluate
    return [f"lakehouse.root={config.lakehouse.root}", f"train.mlflow_dir={config.train.mlflow_dir}",
            f"train.runs_dir={config.train.runs_dir}", f"evaluate.simulation_dir={e.simulation_dir}",
            f"evaluate.holdout_users={e.holdout_users}", "evaluate.max_requests=8", "evaluate.max_new_tokens=4",
            "evaluate.bootstrap_resamples=100", "evaluate.benchmarks_enabled=false", "evaluate.real_copilot_enabled=false"]


def test_promote_adds_the_champion_arm_and_keeps_it_when_the_challenger_does_not_win(registry, untrained_model, tmp_path, capsys):
    """The same weights under both aliases: no win, @champion stays at v1."""
    config, uri, client, _, _ = registry
    argv = ["evaluate", "--quiet", "--model", f"base={untrained_model}", "--model", "echo=@challenger", "--promote",
            "--metrics-json", str(tmp_path / "m.json")] + [a for s in _settings(config) for a in ("--set", s)]
    assert main(argv) == 0
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert set(metrics["arms"]) == {"base", "echo", "champion"}  # the champion's arm, added
    promotion = metrics["promotion"]
    assert (promotion["candidate_arm"], promotion["incumbent_arm"], promotion["promoted"]) == ("echo", "champion", False)
    assert str(client.get_model_version_by_alias(MODEL, CHAMPION_ALIAS).version) == "1"
    assert "not promoted" in capsys.readouterr().out


def test_promote_needs_an_arm_on_the_challenger_and_something_to_beat(registry, untrained_model):
    config, uri, client, _, _ = registry
    resolved = {"base": resolve(str(untrained_model), config, uri)}
    with pytest.raises(UsageError, match="no arm evaluates echo-fim version 2"):
        plan(resolved, config, uri)
    client.delete_registered_model_alias(MODEL, CHAMPION_ALIAS)
    resolved["echo"] = resolve("@challenger", config, uri)
    _, chosen = plan(resolved, config, uri)
    assert (chosen.candidate, chosen.incumbent, chosen.champion) == ("echo", "base", None)  # no champion yet: base
    with pytest.raises(UsageError, match="no base arm"):
        plan({"echo": resolved["echo"]}, config, uri)


def _result(arm: str, value: float, low: float, high: float, run_id: str | None = None) -> ArmResult:
    scores = ArmScores(100, {"acceptance": Estimate(value, low, high, 100)}, {})
    return ArmResult(arm, "folder", scores, None, {}, mlflow_run_id=run_id)


def test_the_challenger_is_promoted_only_when_higher_with_separate_intervals(registry):
    config, uri, client, runs, _ = registry
    chosen = Plan("echo", "champion", MODEL, "2", "1")
    eval_run = client.create_run(client.get_experiment_by_name("echo-fim-sft").experiment_id).info.run_id
    overlapping = [_result("echo", 0.30, 0.22, 0.38), _result("champion", 0.25, 0.18, 0.32)]
    assert decide(chosen, overlapping, uri)["promoted"] is False
    assert str(client.get_model_version_by_alias(MODEL, CHAMPION_ALIAS).version) == "1"
    separate = [_result("echo", 0.40, 0.35, 0.45, eval_run), _result("champion", 0.25, 0.20, 0.30)]
    outcome = decide(chosen, separate, uri)
    assert outcome["promoted"] is True
    assert str(client.get_model_version_by_alias(MODEL, CHAMPION_ALIAS).version) == "2"
    assert "echo.promoted" in client.get_run(eval_run).data.tags
    assert decide(Plan("echo", "echo", MODEL, "2", "2"), separate, uri)["why"] == "the challenger is already the champion"


def test_the_pyfunc_serves_a_batch_with_one_batched_generation():
    from training.serving import FimCompleter

    class Model:
        def __init__(self):
            self.calls = []

        def complete_batch(self, prefixes, suffixes, max_new_tokens=64, batch_size=16):
            self.calls.append((list(prefixes), list(suffixes), max_new_tokens))
            return [p[-1] for p in prefixes]

        def complete(self, *args, **kwargs):
            raise AssertionError("row by row")

    served = FimCompleter()
    served.model = Model()
    frame = pd.DataFrame({"prefix": ["a = 1", "b = 2", "c = 3"], "suffix": ["\n", None, "x"]})
    assert served.predict(None, frame, {"max_new_tokens": 5}) == ["1", "2", "3"]
    assert served.model.calls == [(["a = 1", "b = 2", "c = 3"], ["\n", None, "x"], 5)]
    assert served.predict(None, pd.DataFrame({"prefix": ["z"]})) == ["z"]
