"""The Databricks bundle (databricks.yml and resources/) checked without a workspace.

What `databricks bundle validate` would catch offline, and what it would not: the YAML parses; every
resource validates against the typed models of the `databricks-bundles` package; every `${...}`
reference resolves in every target; every task calls an entry point the wheel really has, with
options its job accepts and settings (`ECHO__*` in the clusters' environment) the configuration
knows; each task installs the extras its stage needs. tests/bundle.py loads the bundle as the CLI
does; tests/test_bundle_workflow.py runs echo_workflow's tasks on a local lakehouse.
"""

from __future__ import annotations

import configparser
import importlib
import re
import subprocess
import sys
import zipfile
from typing import Any, Callable

import pytest
from databricks.bundles.jobs import Job

import jobs
from echo_spark.cli import build_parser, effective_config
from echo_spark.config import env_overrides, load_config

from .bundle import (
    BUNDLE, DYNAMIC, JOB_PARAMETER, RESOURCES_DIR, RUN_VALUES, TARGETS, TYPED_MODELS, cluster_env, references,
    resolved, strings, task_argv, wheel_tasks,
)
from .conftest import REPO


def console_scripts() -> dict[str, str]:
    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    lines = setup["options.entry_points"]["console_scripts"].strip().splitlines()
    return dict(tuple(part.strip() for part in line.split("=", 1)) for line in lines)


def extras() -> dict[str, list[str]]:
    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg")
    return {name: [line.strip() for line in value.strip().splitlines() if line.strip() and not line.strip().startswith("#")]
            for name, value in setup["options.extras_require"].items()}


def entry_point(name: str) -> Callable[[], None]:
    module, _, function = console_scripts()[name].partition(":")
    return getattr(importlib.import_module(module), function)


# Packages each stage's runtime brings: a standard runtime nothing of the extras; the ML runtimes
# torch, transformers and the rest of the ML stack (Databricks Runtime for Machine Learning).
ML_RUNTIME = {"torch", "ray", "transformers", "tokenizers", "mlflow", "matplotlib"}
# The extras of setup.cfg each console script needs, and what its cluster's runtime already has.
STAGE_EXTRAS = {
    "echo-spark-ingest": ([], set()),
    "echo-spark-lifecycle": ([], set()),
    "echo-spark-simulate": ([], set()),
    "echo-spark-curate": (["curate"], ML_RUNTIME),
    "echo-spark-train-ray-on-spark": (["train"], ML_RUNTIME),
    "echo-spark-evaluate": (["train"], ML_RUNTIME),
    "echo-spark-build-base-model": (["train"], ML_RUNTIME),
}
WHEEL = {"whl": "../dist/*.whl"}


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~ ]", requirement, maxsplit=1)[0].lower()


def test_yaml_parses_into_a_bundle_in_the_template_shape():
    assert set(BUNDLE) <= {"bundle", "variables", "artifacts", "resources", "targets", "workspace", "include", "sync", "permissions", "run_as", "presets"}
    assert BUNDLE["bundle"]["name"] == "echo-spark"
    assert BUNDLE["artifacts"]["echo_spark_wheel"]["type"] == "whl"
    assert BUNDLE["include"] == ["resources/*.yml"]
    # One resources file per job, named after it.
    for job_key in BUNDLE["resources"]["jobs"]:
        assert (RESOURCES_DIR / f"{job_key}.job.yml").is_file(), job_key
        assert set(yaml_of(f"{job_key}.job.yml")["resources"]["jobs"]) == {job_key}


def yaml_of(name: str) -> dict[str, Any]:
    import yaml

    return yaml.safe_load((RESOURCES_DIR / name).read_text(encoding="utf-8"))


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


def test_tasks_depend_on_tasks_and_clusters_of_their_job_and_install_the_built_wheel():
    for job_key, job in BUNDLE["resources"]["jobs"].items():
        task_keys = [task["task_key"] for task in job["tasks"]]
        clusters = {cluster["job_cluster_key"] for cluster in job.get("job_clusters", [])}
        assert len(task_keys) == len(set(task_keys)), job_key
        for task in job["tasks"]:
            assert {dep["task_key"] for dep in task.get("depends_on", [])} <= set(task_keys), job_key
            assert task["job_cluster_key"] in clusters, f"{job_key}.{task['task_key']}"
            # The path is relative to the resources file: the wheel the artifact builds in dist/.
            assert task["libraries"][0] == WHEEL and (RESOURCES_DIR / "../dist").resolve() == REPO / "dist"


def test_each_task_installs_the_extras_its_stage_needs_and_no_more():
    """Per-task libraries: the extras of setup.cfg the stage imports, less what its runtime brings."""
    known = extras()
    for where, task, job in wheel_tasks():
        needed, runtime = STAGE_EXTRAS[task["python_wheel_task"]["entry_point"]]
        want = sorted(r for extra in needed for r in known[extra] if _name(r) not in runtime)
        got = sorted(library["pypi"]["package"] for library in task["libraries"][1:])
        assert got == want, where
        clusters = {c["job_cluster_key"]: c["new_cluster"] for c in job["job_clusters"]}
        uses_ml_runtime = clusters[task["job_cluster_key"]] in ("${var.ml_cpu_cluster}", "${var.gpu_ml_cluster}")
        assert uses_ml_runtime == bool(runtime), f"{where}: an ML runtime for the stages that count on its packages"


def test_the_options_every_task_shares_are_said_once():
    """engine.kind, catalog, schema, the configuration file: in the clusters' environment, never in a task."""
    env = BUNDLE["variables"]["echo_env"]["default"]
    assert {"ECHO_CONF", "ECHO__ENGINE__KIND", "ECHO__LAKEHOUSE__CATALOG", "ECHO__LAKEHOUSE__SCHEMA_NAME"} <= set(env)
    for name in ("etl_cluster", "ml_cpu_cluster", "gpu_ml_cluster"):
        assert BUNDLE["variables"][name]["default"]["spark_env_vars"] == "${var.echo_env}", name
    for where, task, job in wheel_tasks():
        text = " ".join(map(str, task["python_wheel_task"].get("parameters", [])))
        for shared in ("--conf", "--lakehouse", "engine.kind", "lakehouse.", "--set"):
            assert shared not in text, f"{where} repeats {shared}"
    for target in TARGETS:
        resolved_env = resolved(target)["variables"]["echo_env"]
        config = load_config(None, [], environ=resolved_env)
        assert config.engine.kind == "cluster" and config.lakehouse.catalog == resolved(target)["variables"]["catalog"]
        assert config.lakehouse.schema_name == resolved(target)["resources"]["schemas"]["echo"]["name"]


def test_schema_and_volume_are_resources_and_the_files_live_in_that_volume():
    bundle = resolved("prod")
    schema, volume = bundle["resources"]["schemas"]["echo"], bundle["resources"]["volumes"]["files"]
    assert (volume["catalog_name"], volume["schema_name"]) == (schema["catalog_name"], schema["name"])
    root = f"/Volumes/{volume['catalog_name']}/{volume['schema_name']}/{volume['name']}"
    variables = bundle["variables"]
    assert variables["volume_root"] == root and variables["landing"].startswith(root + "/")
    env = variables["echo_env"]
    # The one benchmarks setting (curate's decontamination and evaluate) points at the Volume.
    for key in ("ECHO__BENCHMARKS__DIR", "ECHO__LAKEHOUSE__ROOT", "ECHO__TRAIN__BASE__DIR", "ECHO__TRAIN__RUNS_DIR"):
        assert env[key].startswith(root + "/"), key


def test_prod_runs_as_a_service_principal_with_permissions_and_dev_as_the_developer():
    prod = resolved("prod")
    principal = prod["variables"]["service_principal"]
    assert principal and prod["run_as"] == {"service_principal_name": principal}
    levels = {(p.get("service_principal_name") or p.get("group_name") or p.get("user_name")): p["level"] for p in prod["permissions"]}
    assert levels[principal] == "CAN_MANAGE" and set(levels.values()) <= {"CAN_VIEW", "CAN_RUN", "CAN_MANAGE"}
    assert "run_as" not in BUNDLE["targets"]["dev"] and "run_as" not in BUNDLE


def test_new_landing_files_can_trigger_ingest_beside_the_daily_schedule():
    for target in TARGETS:
        bundle = resolved(target)
        trigger = bundle["resources"]["jobs"]["echo_ingest"]["trigger"]
        assert trigger["file_arrival"]["url"].rstrip("/") == bundle["variables"]["landing"]
        assert trigger["pause_status"] == bundle["variables"]["file_arrival_pause_status"] == "PAUSED"
        assert bundle["resources"]["jobs"]["echo_workflow"]["schedule"]["quartz_cron_expression"]


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
    for where, task, _ in wheel_tasks():
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
    for where, task, _ in wheel_tasks():
        target = scripts[task["python_wheel_task"]["entry_point"]]
        assert target.partition(":")[0].replace(".", "/") + ".py" in names, where


def test_every_notebook_task_runs_a_source_notebook():
    for job in BUNDLE["resources"]["jobs"].values():
        for task in job["tasks"]:
            if "notebook_task" in task:
                path = (RESOURCES_DIR / task["notebook_task"]["notebook_path"]).resolve()
                assert path.read_text(encoding="utf-8").startswith("# Databricks notebook source\n"), path


def test_clusters_etl_autoscales_and_training_runs_ray_on_a_gpu_ml_runtime():
    job = resolved("prod")["resources"]["jobs"]["echo_workflow"]
    clusters = {c["job_cluster_key"]: c["new_cluster"] for c in job["job_clusters"]}
    assert clusters["etl"]["autoscale"]["min_workers"] < clusters["etl"]["autoscale"]["max_workers"]
    assert "-cpu-ml-" in clusters["ml_cpu"]["spark_version"] and "-gpu-ml-" in clusters["gpu_ml"]["spark_version"]
    tasks = {t["task_key"]: t for t in job["tasks"]}
    assert {tasks[k]["job_cluster_key"] for k in ("ingest", "lifecycle")} == {"etl"}
    assert tasks["curate"]["job_cluster_key"] == "ml_cpu"
    assert tasks["train"]["job_cluster_key"] == tasks["evaluate"]["job_cluster_key"] == "gpu_ml"
    assert tasks["train"]["python_wheel_task"]["entry_point"] == "echo-spark-train-ray-on-spark"


def test_targets_dev_is_development_with_paused_schedules_and_prod_runs_them():
    assert BUNDLE["targets"]["dev"]["mode"] == "development"
    assert BUNDLE["targets"]["prod"]["mode"] == "production"
    for target, expected in (("dev", "PAUSED"), ("prod", "UNPAUSED")):
        scheduled = [job for job in resolved(target)["resources"]["jobs"].values() if "schedule" in job]
        assert scheduled and {job["schedule"]["pause_status"] for job in scheduled} == {expected}, target


@pytest.mark.parametrize("target", TARGETS)
def test_training_and_evaluation_log_to_the_experiments_of_the_bundle(target, monkeypatch):
    bundle = resolved(target)
    experiments = bundle["resources"]["experiments"]
    for where, task, job in wheel_tasks(bundle):
        config = load_config(None, [], environ=cluster_env(job, task))
        assert config.train.mlflow_experiment == experiments["echo_fim_sft"]["name"], where
        assert config.evaluate.mlflow_experiment == experiments["echo_evaluation"]["name"], where
        assert config.train.mlflow_tracking_uri == "databricks", where


def test_the_workflow_evaluates_the_model_it_trained_on_the_held_out_users():
    tasks = {t["task_key"]: t["python_wheel_task"].get("parameters", []) for t in BUNDLE["resources"]["jobs"]["echo_workflow"]["tasks"]}
    run_name = tasks["train"][tasks["train"].index("--run-name") + 1]
    assert "{{job.run_id}}" in run_name
    assert f"echo={run_name}" in tasks["evaluate"]
    assert "--sim" not in tasks["evaluate"]  # silver's held-out users (evaluate.holdout_*), not a simulation


def _calls_of(task: dict[str, Any], job: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str]]]:
    """The `echo-spark` jobs the task's entry point runs, with their arguments, on a stand-in Ray."""
    import ray.util.spark

    calls: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(jobs, "run_job", lambda name, argv: calls.append((name, list(argv))) or 0)
    monkeypatch.setattr(ray.util.spark, "setup_ray_cluster", lambda **_: ("10.0.0.1:6379", "ray://10.0.0.1:10001"))
    monkeypatch.setattr(ray.util.spark, "shutdown_ray_cluster", lambda: None)
    monkeypatch.setattr(sys, "argv", [task["python_wheel_task"]["entry_point"], *task_argv(task, job)])
    entry_point(task["python_wheel_task"]["entry_point"])()
    return calls


@pytest.mark.parametrize("target", TARGETS)
def test_every_task_passes_options_its_job_accepts(target, monkeypatch):
    """Each task's command line parses with its job's parser, and with its cluster's environment
    the configuration validates: the catalog, schema and engine every task shares."""
    parser = build_parser()
    bundle = resolved(target)
    for where, task, job in wheel_tasks(bundle):
        env = cluster_env(job, task)
        assert all(line.partition("=")[0] for line in env_overrides(env))
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        calls = _calls_of(task, job, monkeypatch)
        assert len(calls) == 1, where
        name, argv = calls[0]
        config = effective_config(parser.parse_args([name, *argv]))
        expected = (bundle["variables"]["catalog"], bundle["resources"]["schemas"]["echo"]["name"], "cluster")
        assert (config.lakehouse.catalog, config.lakehouse.schema_name, config.engine.kind) == expected, where


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


def test_settings_from_the_environment_sit_between_the_file_and_the_command_line(tmp_path):
    conf = tmp_path / "echo.yaml"
    conf.write_text("lifecycle:\n  anchor_chars: 40\n", encoding="utf-8")
    env = {"ECHO_CONF": str(conf), "ECHO__LIFECYCLE__ANCHOR_CHARS": "48", "ECHO__TRAIN__BASE__DIR": "/v/base",
           "ECHO__LAKEHOUSE__CATALOG": "main", "OTHER": "x"}
    assert load_config(None, [], environ={"ECHO_CONF": str(conf)}).lifecycle.anchor_chars == 40
    config = load_config(None, [], environ=env)
    assert (config.lifecycle.anchor_chars, config.train.base.dir, config.lakehouse.catalog) == (48, "/v/base", "main")
    assert load_config(None, ["lifecycle.anchor_chars=50"], environ=env).lifecycle.anchor_chars == 50
    from echo_spark.config import ConfigError

    with pytest.raises(ConfigError, match="lifecycle.no_such"):
        load_config(None, [], environ={"ECHO__LIFECYCLE__NO_SUCH": "1"})
