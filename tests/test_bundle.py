"""The Databricks bundle (databricks.yml) checked without a workspace.

What `databricks bundle validate` would catch offline, and what it would not: the YAML parses; every
resource validates against the typed models of the `databricks-bundles` package; every `${...}`
reference resolves in every target; every task calls an entry point the wheel really has, with
options its job accepts and `--set` keys the configuration knows.
"""

from __future__ import annotations

import configparser
import importlib
import re
import subprocess
import sys
import zipfile
from typing import Any, Callable, Iterator

import pytest
import yaml
from databricks.bundles.experiments import MlflowExperiment
from databricks.bundles.jobs import Job

import jobs
from echo_spark.cli import build_parser, effective_config

from .conftest import REPO

BUNDLE = yaml.safe_load((REPO / "databricks.yml").read_text(encoding="utf-8"))
TARGETS = sorted(BUNDLE["targets"])
TYPED_MODELS: dict[str, Callable[[dict], Any]] = {"jobs": Job.from_dict, "experiments": MlflowExperiment.from_dict}

REFERENCE = re.compile(r"\$\{([^}]+)\}")
DYNAMIC = re.compile(r"\{\{([^}]+)\}\}")
JOB_PARAMETER = re.compile(r"\{\{job\.parameters\.([^}]+)\}\}")
# The dynamic value references, other than job parameters, that tasks may use; a run's values.
RUN_VALUES = {"job.run_id": "1234"}
# What the CLI knows of the workspace at deploy time, as a deployment by someone@example.com would see it.
WORKSPACE = {
    "workspace.file_path": str(REPO),
    "workspace.current_user.userName": "someone@example.com",
    "workspace.current_user.short_name": "someone",
}


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def references(node: Any, prefix: str) -> set[str]:
    return {ref.removeprefix(prefix) for text in strings(node) for ref in REFERENCE.findall(text) if ref.startswith(prefix)}


def substitute(node: Any, context: dict[str, Any]) -> Any:
    """Every `${name}` replaced from context; a string that is one reference takes the value's type."""
    if isinstance(node, dict):
        return {key: substitute(value, context) for key, value in node.items()}
    if isinstance(node, list):
        return [substitute(value, context) for value in node]
    if not isinstance(node, str):
        return node
    whole = REFERENCE.fullmatch(node)
    if whole:
        return context[whole.group(1)]
    return REFERENCE.sub(lambda match: str(context[match.group(1)]), node)


def resolved(target: str) -> dict[str, Any]:
    """The bundle as the CLI deploys it to a target: variables from the target over the defaults,
    references between variables followed, then every reference in the resources replaced."""
    context: dict[str, Any] = {**WORKSPACE, "bundle.name": BUNDLE["bundle"]["name"], "bundle.target": target}
    values = {name: spec.get("default") for name, spec in BUNDLE["variables"].items()}
    values.update(BUNDLE["targets"][target].get("variables", {}))
    for _ in range(len(values)):
        values = {name: substitute(value, {**context, **{f"var.{k}": v for k, v in values.items()}}) for name, value in values.items()}
    context.update({f"var.{name}": value for name, value in values.items()})
    assert not references(values, ""), f"{target}: variables refer to each other in a cycle"
    for kind, group in BUNDLE["resources"].items():
        for key, spec in group.items():
            context[f"resources.{kind}.{key}.name"] = substitute(spec["name"], context)
    return {"resources": substitute(BUNDLE["resources"], context), "variables": values}


def wheel_tasks() -> Iterator[tuple[str, dict[str, Any]]]:
    for job_key, job in BUNDLE["resources"]["jobs"].items():
        for task in job["tasks"]:
            if "python_wheel_task" in task:
                yield f"{job_key}.{task['task_key']}", task


def console_scripts() -> dict[str, str]:
    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    lines = setup["options.entry_points"]["console_scripts"].strip().splitlines()
    return dict(tuple(part.strip() for part in line.split("=", 1)) for line in lines)


def entry_point(name: str) -> Callable[[], None]:
    module, _, function = console_scripts()[name].partition(":")
    return getattr(importlib.import_module(module), function)


def test_yaml_parses_into_a_bundle():
    assert set(BUNDLE) <= {"bundle", "variables", "artifacts", "resources", "targets", "workspace", "include", "sync", "permissions", "run_as", "presets"}
    assert BUNDLE["bundle"]["name"] == "echo-spark"
    assert BUNDLE["artifacts"]["echo_spark_wheel"]["type"] == "whl"


@pytest.mark.parametrize("target", TARGETS)
def test_resources_validate_against_the_typed_models(target):
    for kind, group in resolved(target)["resources"].items():
        assert kind in TYPED_MODELS, f"no typed model checks resources.{kind}"
        for key, spec in group.items():
            model = TYPED_MODELS[kind](spec)
            assert model.as_dict()["name"] == spec["name"], f"resources.{kind}.{key}"


def test_resources_with_unresolved_variables_validate_too():
    """The form the CLI reads before it substitutes: `${var.x}` in an int or enum field is a Variable."""
    for kind, group in BUNDLE["resources"].items():
        for spec in group.values():
            TYPED_MODELS[kind](spec)


def test_a_misspelt_field_fails_the_typed_models():
    """The typed models reject what they do not know, so validating against them means something."""
    job = dict(BUNDLE["resources"]["jobs"]["echo_ingest"], max_concurent_runs=1)
    with pytest.raises(ValueError, match="max_concurent_runs"):
        Job.from_dict(job)


def test_every_variable_used_is_declared_and_every_declared_one_is_used():
    declared = set(BUNDLE["variables"])
    used = references({k: v for k, v in BUNDLE.items() if k != "variables"}, "var.") | references(BUNDLE["variables"], "var.")
    assert used - declared == set(), "used but not declared"
    assert declared - used == set(), "declared but never used"
    for target, spec in BUNDLE["targets"].items():
        assert set(spec.get("variables", {})) <= declared, f"target {target} sets undeclared variables"


def test_every_reference_resolves_in_every_target():
    namespaces = {ref.split(".")[0] for ref in references(BUNDLE, "")}
    assert namespaces <= {"var", "bundle", "workspace", "resources"}
    for target in TARGETS:
        assert not references(resolved(target), ""), target


def test_every_job_parameter_used_is_declared_by_its_job():
    for job_key, job in BUNDLE["resources"]["jobs"].items():
        declared = {parameter["name"] for parameter in job.get("parameters", [])}
        used = {name for text in strings(job["tasks"]) for name in JOB_PARAMETER.findall(text)}
        assert used <= declared, job_key
        assert declared <= used, f"{job_key} declares parameters no task reads"
        dynamic = {ref for text in strings(job["tasks"]) for ref in DYNAMIC.findall(text)}
        assert dynamic <= {f"job.parameters.{name}" for name in declared} | set(RUN_VALUES), job_key


def test_tasks_depend_on_tasks_and_clusters_of_their_job():
    for job_key, job in BUNDLE["resources"]["jobs"].items():
        task_keys = [task["task_key"] for task in job["tasks"]]
        clusters = {cluster["job_cluster_key"] for cluster in job.get("job_clusters", [])}
        assert len(task_keys) == len(set(task_keys)), job_key
        for task in job["tasks"]:
            assert {dep["task_key"] for dep in task.get("depends_on", [])} <= set(task_keys), job_key
            assert task["job_cluster_key"] in clusters, f"{job_key}.{task['task_key']}"
            assert task["libraries"] == [{"whl": "./dist/*.whl"}], "the wheel the artifact builds"


def test_workflow_chains_the_stages_in_order():
    tasks = BUNDLE["resources"]["jobs"]["echo_workflow"]["tasks"]
    assert [task["task_key"] for task in tasks] == ["ingest", "lifecycle", "curate", "train", "evaluate"]
    for before, task in zip(tasks, tasks[1:]):
        assert task["depends_on"] == [{"task_key": before["task_key"]}]


def test_every_task_entry_point_is_a_console_script_of_the_wheel():
    scripts = console_scripts()
    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    distribution = re.sub(r"[-_.]+", "_", setup["metadata"]["name"])
    for where, task in wheel_tasks():
        wheel_task = task["python_wheel_task"]
        assert wheel_task["package_name"] == distribution, where
        assert wheel_task["entry_point"] in scripts, where
        assert callable(entry_point(wheel_task["entry_point"])), where


def test_the_built_wheel_carries_every_entry_point_the_tasks_call(tmp_path):
    """What Databricks installs is the wheel, not this checkout: its metadata and modules count."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", str(tmp_path), str(REPO)],
        check=True, timeout=300,
    )
    [wheel] = tmp_path.glob("echo_spark-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        [entry_points] = [name for name in names if name.endswith(".dist-info/entry_points.txt")]
        metadata = configparser.ConfigParser()
        metadata.read_string(archive.read(entry_points).decode())
    scripts = dict(metadata["console_scripts"])
    for where, task in wheel_tasks():
        target = scripts[task["python_wheel_task"]["entry_point"]]
        assert target.partition(":")[0].replace(".", "/") + ".py" in names, where


def test_every_notebook_task_runs_a_source_notebook():
    for job in BUNDLE["resources"]["jobs"].values():
        for task in job["tasks"]:
            if "notebook_task" in task:
                path = REPO / task["notebook_task"]["notebook_path"]
                assert path.read_text(encoding="utf-8").startswith("# Databricks notebook source\n"), path


def test_clusters_etl_autoscales_and_training_runs_ray_on_a_gpu_ml_runtime():
    clusters = {c["job_cluster_key"]: c["new_cluster"] for c in resolved("prod")["resources"]["jobs"]["echo_workflow"]["job_clusters"]}
    assert clusters["etl"]["autoscale"]["min_workers"] < clusters["etl"]["autoscale"]["max_workers"]
    assert "-gpu-ml-" in clusters["gpu_ml"]["spark_version"]
    tasks = {t["task_key"]: t for t in BUNDLE["resources"]["jobs"]["echo_workflow"]["tasks"]}
    assert {tasks[k]["job_cluster_key"] for k in ("ingest", "lifecycle", "curate")} == {"etl"}
    assert tasks["train"]["job_cluster_key"] == "gpu_ml"
    assert tasks["train"]["python_wheel_task"]["entry_point"] == "echo-spark-train-ray-on-spark"


def test_targets_dev_is_development_with_paused_schedules_and_prod_runs_them():
    assert BUNDLE["targets"]["dev"]["mode"] == "development"
    assert BUNDLE["targets"]["prod"]["mode"] == "production"
    for target, expected in (("dev", "PAUSED"), ("prod", "UNPAUSED")):
        scheduled = [job for job in resolved(target)["resources"]["jobs"].values() if "schedule" in job]
        assert scheduled and {job["schedule"]["pause_status"] for job in scheduled} == {expected}, target


def test_training_and_evaluation_log_to_the_experiments_of_the_bundle():
    for where, task in wheel_tasks():
        parameters = task["python_wheel_task"]["parameters"]
        if task["task_key"] == "train":
            assert "train.mlflow_experiment=${resources.experiments.echo_fim_sft.name}" in parameters, where
        if task["task_key"] == "evaluate":
            assert "evaluate.mlflow_experiment=${resources.experiments.echo_evaluation.name}" in parameters, where
        if task["task_key"] in ("train", "evaluate"):
            assert "train.mlflow_tracking_uri=databricks" in parameters, where


def test_the_workflow_evaluates_the_model_it_trained():
    tasks = {t["task_key"]: t["python_wheel_task"]["parameters"] for t in BUNDLE["resources"]["jobs"]["echo_workflow"]["tasks"]}
    run_name = tasks["train"][tasks["train"].index("--run-name") + 1]
    assert "{{job.run_id}}" in run_name
    assert f"echo={run_name}" in tasks["evaluate"]


def _calls_of(task: dict[str, Any], job: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str]]]:
    """The `echo-spark` jobs the task's entry point runs, with their arguments, on a stand-in Ray."""
    import ray.util.spark

    calls: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(jobs, "run_job", lambda name, argv: calls.append((name, list(argv))) or 0)
    monkeypatch.setattr(ray.util.spark, "setup_ray_cluster", lambda **_: ("10.0.0.1:6379", "ray://10.0.0.1:10001"))
    monkeypatch.setattr(ray.util.spark, "shutdown_ray_cluster", lambda: None)
    run = {**RUN_VALUES, **{f"job.parameters.{p['name']}": p["default"] for p in job.get("parameters", [])}}
    argv = [DYNAMIC.sub(lambda match: run[match.group(1)], str(arg)) for arg in task["python_wheel_task"]["parameters"]]
    monkeypatch.setattr(sys, "argv", [task["python_wheel_task"]["entry_point"], *argv])
    entry_point(task["python_wheel_task"]["entry_point"])()
    return calls


@pytest.mark.parametrize("target", TARGETS)
def test_every_task_passes_options_its_job_accepts(target, monkeypatch):
    """Each task's command line parses with its job's parser, and its --set keys validate."""
    parser = build_parser()
    bundle = resolved(target)
    for job in bundle["resources"]["jobs"].values():
        for task in job["tasks"]:
            if "python_wheel_task" not in task:
                continue
            calls = _calls_of(task, job, monkeypatch)
            assert len(calls) == 1, task["task_key"]
            name, argv = calls[0]
            config = effective_config(parser.parse_args([name, *argv]))
            if "lakehouse.catalog" in " ".join(argv):
                expected = (bundle["variables"]["catalog"], bundle["variables"]["schema"])
                assert (config.lakehouse.catalog, config.lakehouse.schema_name) == expected, task["task_key"]


def test_ray_on_spark_gives_the_train_job_the_cluster_and_one_worker_per_gpu(monkeypatch):
    job = resolved("prod")["resources"]["jobs"]["echo_workflow"]
    [(name, argv)] = _calls_of(next(t for t in job["tasks"] if t["task_key"] == "train"), job, monkeypatch)
    assert name == "train"
    assert argv[:5] == ["--ray-address", "10.0.0.1:6379", "--gpu", "--workers", "8"]
    assert not any(arg.startswith(("--ray-worker", "--ray-gpus", "--ray-log")) for arg in argv)


def test_ray_on_spark_stops_ray_when_training_fails(monkeypatch):
    import ray.util.spark

    from jobs import ray_on_spark

    events: list[str] = []
    monkeypatch.setattr(ray.util.spark, "setup_ray_cluster", lambda **kw: events.append(f"start {kw['max_worker_nodes']}") or ("h:1", ""))
    monkeypatch.setattr(ray.util.spark, "shutdown_ray_cluster", lambda: events.append("stop"))
    monkeypatch.setattr(jobs, "run_job", lambda name, argv: events.append(name) or 1)
    with pytest.raises(SystemExit) as exit_info:
        ray_on_spark.main(["--ray-worker-nodes", "3", "--max-steps", "5"])
    assert exit_info.value.code == 1
    assert events == ["start 3", "train", "stop"]


def test_a_failing_stage_fails_its_databricks_task(monkeypatch, tmp_path, capsys):
    """An exception fails a Databricks wheel task, a returned exit code would not: it is raised."""
    monkeypatch.setattr(sys, "argv", ["echo-spark-lifecycle", "--conf", str(tmp_path / "missing.yaml"), "--quiet"])
    with pytest.raises(SystemExit) as exit_info:
        entry_point("echo-spark-lifecycle")()
    assert exit_info.value.code == 2
    assert "configuration file not found" in capsys.readouterr().err
