"""End to end: gold table -> Ray Train (2 DDP workers on gloo, a killed run, a resume) -> MLflow.

One training run, shared by the tests of this module (it is the slow part of the suite).
"""

from __future__ import annotations

import argparse
import shutil

import mlflow
import pandas as pd
import pytest
from deltalake import DeltaTable
from mlflow import MlflowClient

from echo_spark.config import EchoConfig, TrainConfig
from echo_spark.errors import UsageError
from echo_spark.train import job
from training.data import READ_COLUMNS, FimFormat, gold_data, tokenize_rows
from training.inference import load_model
from training.model_io import ModelSpec, load_tokenizer
from training.session import LocalSession
from training.sft import derived_run_name, run_training
from training.train_loop import LoopSettings, fit

from .conftest import gold_rows, gold_source, write_gold


def _config(tmp, tiny_base, **overrides) -> TrainConfig:
    settings = dict(
        base_model=str(tiny_base),
        context_length=128,
        epochs=2,
        batch_size=4,
        learning_rate=5e-4,
        warmup_steps=2,
        checkpoint_every_steps=10,
        eval_every_steps=10,
        log_every_steps=5,
        num_workers=2,
        cpus_per_worker=1.0,
        runs_dir=str(tmp / "runs"),
        mlflow_dir=str(tmp / "mlruns"),
        system_metrics=False,
    )
    return TrainConfig(**{**settings, **overrides})


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_base, ray_local):
    """A run whose workers die after step 10 (no retry: the job fails, as if killed), then the same
    command again: it resumes from the step-10 checkpoint into the same MLflow run. The second call
    is made inside a caller's own MLflow run, as the evaluation makes it. Gold version 0 holds two
    rows that are not samples; version 1 (appended) is not read."""
    tmp = tmp_path_factory.mktemp("train")
    rows = gold_rows(100)
    rows[3]["middle"] = None      # never observed
    rows[4]["split"] = "holdout"  # neither split
    write_gold(tmp / "lakehouse" / "sft_samples", rows)
    write_gold(tmp / "lakehouse" / "sft_samples", gold_rows(5, seed=9), mode="append")
    config = _config(tmp, tiny_base, gold_version=0, fail_at_step=10, max_failures=0)
    with pytest.raises(Exception, match="simulated worker failure"):
        run_training(config, gold_source(tmp / "lakehouse"))
    mlflow.set_tracking_uri(f"sqlite:///{tmp / 'mlruns' / 'mlflow.db'}")
    with mlflow.start_run(experiment_id=mlflow.create_experiment("caller", (tmp / "caller").as_uri())) as caller:
        metrics = run_training(config.model_copy(update={"fail_at_step": None}), gold_source(tmp / "lakehouse"))
        assert mlflow.active_run().info.run_id == caller.info.run_id
    return tmp, config, metrics


def test_killed_two_worker_run_resumes_and_beats_the_base_model(trained):
    _, _, metrics = trained
    assert metrics["gold_version"] == 0
    assert (metrics["train_samples"], metrics["validation_samples"], metrics["skipped_rows"]) == (78, 20, 2)
    assert metrics["resumed"] is True
    assert metrics["steps"] == 20 and metrics["resumed_from"] == 10
    assert metrics["val_loss"] < metrics["base_val_loss"]


def test_killed_ddp_run_ends_where_an_uninterrupted_single_process_run_ends(trained, tiny_base, tmp_path):
    """Two workers with batch b, killed and resumed = one uninterrupted process with batch 2b:
    the same global batches, and the loss is normalized by the global token count. The examples
    come from a direct read of version 0, so this also checks what Ray Data read."""
    tmp, config, metrics = trained
    fim = FimFormat(str(tiny_base), "auto", "psm", 128)
    rows = DeltaTable(str(tmp / "lakehouse" / "sft_samples"), version=0).to_pyarrow_table(columns=READ_COLUMNS)
    gold = gold_data("gold", 0, [tokenize_rows(rows, fim)], config.eval_max_samples)
    settings = LoopSettings(
        model=ModelSpec(str(tiny_base)),
        pad_id=load_tokenizer(tiny_base).pad_token_id,
        total_steps=20,
        batch_size=8,
        learning_rate=5e-4,
        warmup_steps=2,
        checkpoint_every=20,
        eval_every=10,
        log_every=10,
    )
    state = fit(settings, gold.train, gold.validation, LocalSession(tmp_path))
    assert state.base_val_loss == pytest.approx(metrics["base_val_loss"], rel=1e-5)
    assert state.val_loss == pytest.approx(metrics["val_loss"], rel=1e-3)


def test_run_and_model_are_in_mlflow(trained):
    tmp, config, metrics = trained
    client = MlflowClient(f"sqlite:///{tmp / 'mlruns' / 'mlflow.db'}")
    run = client.get_run(metrics["mlflow_run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.params["gold.version"] == "0" and run.data.params["train.num_workers"] == "2"
    assert run.data.tags["echo.run_name"] == metrics["run_name"]
    assert [d.dataset.digest for d in run.inputs.dataset_inputs] == ["v0"]
    val = {m.step: m.value for m in client.get_metric_history(run.info.run_id, "val_loss")}
    assert sorted(val) == [0, 10, 20] and val[0] == pytest.approx(metrics["base_val_loss"])
    assert [m.step for m in client.get_metric_history(run.info.run_id, "loss")] == [5, 10, 15, 20]
    assert client.get_metric_history(run.info.run_id, "tokens_per_s")[-1].value > 0
    version = client.get_model_version(config.registered_model, str(metrics["model_version"]))
    assert version.run_id == run.info.run_id
    # The new version is the candidate: `evaluate --promote` may make it the champion.
    assert str(client.get_model_version_by_alias(config.registered_model, "challenger").version) == str(metrics["model_version"])

    mlflow.set_tracking_uri(client.tracking_uri)
    served = mlflow.pyfunc.load_model(f"models:/{config.registered_model}/{metrics['model_version']}")
    out = served.predict(pd.DataFrame({"prefix": ["def f(x):\n    return "], "suffix": ["\n"]}), params={"max_new_tokens": 4})
    assert len(out) == 1 and isinstance(out[0], str)


def test_run_returns_the_exported_model_folder_that_inference_loads(trained):
    _, _, metrics = trained
    model = load_model(metrics["model_dir"], device="cpu")
    assert (model.tokens.family, model.order) == ("echo", "psm")  # the layout it was trained in
    assert isinstance(model.complete("def f(x):\n    return ", "\n", max_new_tokens=4), str)


def test_rerunning_a_finished_run_returns_its_summary_without_training_again(trained):
    """Even when the runs folder lost the model: it comes back from MLflow."""
    tmp, config, metrics = trained
    shutil.rmtree(metrics["model_dir"])
    again = run_training(config, gold_source(tmp / "lakehouse"))
    assert again.pop("already_finished") is True
    assert again == metrics
    assert load_model(again["model_dir"], device="cpu").order == "psm"


def _args(**values) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    job.add_arguments(parser)
    return parser.parse_args([a for k, v in values.items() for a in (f"--{k.replace('_', '-')}", str(v))])


def test_job_reports_bad_input_as_usage_errors(tmp_path, tiny_base):
    config = EchoConfig.model_validate(
        {"lakehouse": {"root": str(tmp_path)}, "train": {"mlflow_dir": str(tmp_path / "m"), "base": {"dir": str(tmp_path / "no-base")}}}
    )
    with pytest.raises(UsageError, match="build-base-model"):
        job.run(config, _args())
    with pytest.raises(UsageError, match="no Delta table"):
        job.run(config, _args(base_model=tiny_base))
    with pytest.raises(UsageError, match="num_workers"):
        job.run(config, _args(base_model=tiny_base, workers=0))


def test_run_name_follows_what_changes_the_result(tmp_path, tiny_base):
    """The same command after a kill must find its run again; other data, settings or a rebuilt
    base model must not."""
    config = _config(tmp_path, tiny_base)
    name = derived_run_name(config, "/lake/sft_samples", 3, tiny_base)
    same = [
        config.model_copy(update={"gold_version": 3, "fail_at_step": 10, "max_failures": 0, "runs_dir": "/elsewhere"}),
        config.model_copy(update={"gold_table": "/lake/sft_samples", "system_metrics": True}),
    ]
    assert all(derived_run_name(c, "/lake/sft_samples", 3, tiny_base) == name for c in same)
    assert derived_run_name(config, "/lake/sft_samples", 4, tiny_base) != name
    assert derived_run_name(config, "/lake/sft_accepted_only", 3, tiny_base) != name
    assert derived_run_name(config.model_copy(update={"learning_rate": 1e-3}), "/lake/sft_samples", 3, tiny_base) != name
    model = tmp_path / "model"
    shutil.copytree(tiny_base, model)
    before = derived_run_name(config, "/lake/sft_samples", 3, model)
    (model / "model.safetensors").write_bytes((model / "model.safetensors").read_bytes() + b" ")  # rebuilt in place
    assert derived_run_name(config, "/lake/sft_samples", 3, model) != before


@pytest.mark.parametrize("first_error", [
    RuntimeError("Timed out waiting for file /tmp/ray/session_x/gcs_server_port_abc"),
    Exception("The current node timed out during startup. This could happen because some of the raylet failed"),
], ids=["gcs port file", "node startup"])
def test_a_local_ray_slow_to_start_is_started_again(monkeypatch, capsys, first_error):
    """Ray's local head is sometimes slow to come up on a loaded machine (its GCS port file, or
    the node's startup, times out): one more start; any other failure, or a second timeout, still
    stops the run."""
    import ray

    from training.sft import start_ray

    calls: list[int] = []

    def flaky_init(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise first_error

    monkeypatch.setattr(ray, "init", flaky_init)
    monkeypatch.setattr(ray, "shutdown", lambda: None)
    start_ray(TrainConfig())
    assert len(calls) == 2 and "starting it again" in capsys.readouterr().err

    def broken_init(**kwargs):
        raise RuntimeError("Timed out waiting for file /tmp/ray/session_y/gcs_server_port_def")

    monkeypatch.setattr(ray, "init", broken_init)
    with pytest.raises(RuntimeError, match="Timed out"):
        start_ray(TrainConfig())

    calls.clear()

    def misconfigured(**kwargs):
        calls.append(1)
        raise ValueError("num_cpus must be positive")

    monkeypatch.setattr(ray, "init", misconfigured)
    with pytest.raises(ValueError):
        start_ray(TrainConfig())
    assert len(calls) == 1
