"""`echo-spark evaluate` end to end with an untrained tiny model: arms, MLflow runs, report, the
model resolution and the held-out leak check."""

import json
import shutil

import pyarrow as pa
import pytest
from mlflow import MlflowClient

from echo_spark.cli import main
from echo_spark.config import load_config
from echo_spark.errors import UsageError
from echo_spark.evaluate.heldout import heldout_users
from echo_spark.evaluate.job import parse_arms, tracking
from echo_spark.evaluate.models import heldout_in_training, resolve
from echo_spark.lakehouse import Lakehouse


@pytest.fixture(scope="module")
def mlflow_dir(tmp_path_factory):
    """One tracking database for the module (creating one takes seconds)."""
    return tmp_path_factory.mktemp("mlruns")


@pytest.fixture
def settings(tmp_path, sim, mlflow_dir) -> list[str]:
    return [
        f"lakehouse.root={tmp_path / 'lakehouse'}",
        f"train.mlflow_dir={mlflow_dir}",
        f"train.runs_dir={tmp_path / 'runs'}",
        f"evaluate.simulation_dir={sim[0]}",
        f"evaluate.holdout_users={sim[0] / 'heldout_users.txt'}",  # as the simulation wrote it
        "evaluate.max_requests=12",
        "evaluate.max_new_tokens=6",
        "evaluate.bootstrap_resamples=100",
        "evaluate.benchmark_tasks=1",
        "evaluate.benchmark_max_new_tokens=6",
    ]


def settings_sim(settings: list[str]) -> str:
    return next(s.split("=", 1)[1] for s in settings if s.startswith("evaluate.simulation_dir="))


@pytest.fixture
def config(settings):
    return load_config(None, settings)


def test_parse_arms():
    assert parse_arms(["base=models/tiny-base", "runs/sft-1/model/"]) == [("base", "models/tiny-base"), ("model", "runs/sft-1/model/")]
    with pytest.raises(UsageError, match="same name"):
        parse_arms(["a=x", "a=y"])
    with pytest.raises(UsageError, match="ARM=RUN_OR_PATH"):
        parse_arms(["a="])


def test_a_training_run_resolves_to_its_model_and_table(config, tmp_path, untrained_model, sim):
    uri, _ = tracking(config)
    folder = tmp_path / "runs" / "sft-v1-abc" / "model"
    shutil.copytree(untrained_model, folder)
    cohort = heldout_users(sim[0])
    from deltalake import write_deltalake

    table = tmp_path / "gold"
    write_deltalake(str(table), pa.table({"user_id": [cohort[0], "u-someone-else"]}))
    client = MlflowClient(uri)
    experiment = client.create_experiment("echo-fim-sft-resolve-test")
    run = client.create_run(experiment, tags={"echo.run_name": "sft-v1-abc"})
    client.log_param(run.info.run_id, "gold.uri", str(table))
    client.log_param(run.info.run_id, "gold.version", 0)

    by_id, by_name = resolve(run.info.run_id, config, uri), resolve("sft-v1-abc", config, uri)
    assert by_id.path == by_name.path == folder.resolve()
    assert by_id.training_table == str(table) and by_id.training_version == 0
    # The training table is read through the table layer, by the address the run recorded (a
    # folder here: read with delta-rs, no engine started).
    lakehouse = Lakehouse(None, config.lakehouse, connect=lambda: pytest.fail("a folder needs no engine"))
    assert heldout_in_training(by_id, cohort, lakehouse) == 1
    assert heldout_in_training(resolve(str(untrained_model), config, uri), cohort, lakehouse) is None
    with pytest.raises(UsageError, match="not a model folder"):
        resolve("no-such-run", config, uri)


def test_evaluate_two_arms(config, settings, tmp_path, untrained_model, capsys):
    argv = ["evaluate", "--quiet", "--model", f"base={untrained_model}", "--model", f"echo={untrained_model}",
            "--report-dir", str(tmp_path / "report"), "--metrics-json", str(tmp_path / "m.json")]
    for setting in settings:
        argv += ["--set", setting]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "| base |" in out and "| echo |" in out and "Target NOT MET" in out  # the same model twice: ratio 1
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["requests"] == 12 and metrics["benchmark_tasks"] == 3
    assert metrics["ratios_to_base"]["echo"]["acceptance_per_request"][0] in (1.0, None)
    assert (tmp_path / "report" / "report.md").is_file() and (tmp_path / "report" / "report.png").is_file()
    # How each arm's proposals fared, and the real Copilot suggestions replayed through every arm.
    report = (tmp_path / "report" / "report.md").read_text()
    assert "How the proposals fared" in report and "Real Copilot telemetry (CUPS study)" in report
    for arm in ("base", "echo"):
        assert sum(metrics["arms"][arm]["how"].values()) == 12
        assert metrics["arms"][arm]["real_copilot"]["suggestions"] > 300
    uri, _ = tracking(config)
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("echo-evaluate")
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.data.tags["echo.arm"] for r in runs) == ["base", "echo"]
    assert len({r.data.tags["echo.comparison"] for r in runs}) == 1
    # The experiment opens on MLflow's GenAI overview.
    assert experiment.tags["mlflow.experimentKind"] == "genai_development"
    for run in runs:
        assert {"acceptance_per_request", "exact_match", "fim.all.exact_match", "real_copilot.right_start"} <= set(run.data.metrics)
        assert run.data.params["heldout.requests"] == "12"
        # Opened around the arm's work: the run lasts at least as long as the arm's stages took.
        arm = run.data.tags["echo.arm"]
        worked = sum(v for k, v in metrics["stage_seconds"].items() if k.startswith(f"{arm}:"))
        assert run.info.status == "FINISHED" and (run.info.end_time - run.info.start_time) / 1000 >= worked - 0.5
        # What it ran on, as datasets: the held-out requests (sourced from the simulation) and the tasks.
        inputs = {d.dataset.name: d for d in run.inputs.dataset_inputs}
        assert set(inputs) == {"heldout_requests", "fim_benchmark_tasks"}
        assert json.loads(inputs["heldout_requests"].dataset.profile)["num_rows"] == 12
        assert json.loads(inputs["heldout_requests"].dataset.source)["uri"] == str(settings_sim(settings))
        assert {t.key: t.value for t in inputs["heldout_requests"].tags}["mlflow.data.context"] == "evaluation"
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)} | {
            a.path for a in client.list_artifacts(run.info.run_id, "report")}
        assert {"replay.jsonl", "report/report.md", "report/report.png"} <= artifacts


def test_a_simulation_without_ground_truth_is_a_usage_error(tmp_path, untrained_model, mlflow_dir, capsys):
    argv = ["evaluate", "--quiet", "--model", str(untrained_model), "--sim", str(tmp_path / "nothing"),
            "--set", f"train.mlflow_dir={mlflow_dir}", "--set", "evaluate.benchmarks_enabled=false"]
    assert main(argv) == 2
    assert "no simulator ground truth" in capsys.readouterr().err


def test_evaluate_scores_the_benchmarks_of_the_one_setting(settings, tmp_path, untrained_model, capsys):
    """`benchmarks.dir` (what curate decontaminates against) is also what evaluate scores."""
    import gzip

    folder = tmp_path / "benchmarks"
    folder.mkdir()
    task = {"task_id": "Mine/0", "prompt": "def add(a, b):\n", "suffix": "", "canonical_solution": "    return a + b\n",
            "test": "def check(candidate):\n    assert candidate(2, 3) == 5\n", "entry_point": "add"}
    with gzip.open(folder / "he_Mine.jsonl.gz", "wt") as out:
        out.write(json.dumps(task) + "\n")
    argv = ["evaluate", "--quiet", "--model", f"base={untrained_model}", "--metrics-json", str(tmp_path / "m.json"),
            "--set", f"benchmarks.dir={folder}", "--set", "evaluate.real_copilot_enabled=false"]
    for setting in settings:
        argv += ["--set", setting]
    assert main(argv) == 0
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["benchmark_tasks"] == 1 and set(metrics["arms"]["base"]["benchmarks"]) == {"he_Mine", "all"}
    argv[argv.index(f"benchmarks.dir={folder}")] = f"benchmarks.dir={tmp_path / 'none'}"
    assert main(argv) == 2
    assert "benchmarks.dir: no benchmark files" in capsys.readouterr().err
