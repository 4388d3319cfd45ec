"""The bundle's echo_workflow run as written, on a local lakehouse: every task, in dependency order,
with its exact console script and parameters, in its cluster's environment (tests/bundle.py reads
databricks.yml and resources/ as the CLI does), each in a fresh process as a Databricks wheel task.

What stands in for the workspace, and nothing else:
- the Volume is a local folder (every `/Volumes/<catalog>/<schema>/files` becomes it);
- the catalog and schema: Sail keeps no Unity Catalog, so tables are Delta folders under the
  Volume's lakehouse/ (lakehouse.root, which the bundle sets) - ECHO__LAKEHOUSE__CATALOG and
  SCHEMA_NAME are not passed on;
- the cluster's Spark session is the embedded engine (engine.kind=sail for `cluster`), MLflow a
  local store (train.mlflow_tracking_uri `databricks` is not passed on);
- Ray on Spark is a local Ray head node (tests/wheel_task.py), deployed with `--var
  gpus_per_node=0` since no GPU is here;
- what a workspace holds before the workflow's first run: landing files (the bundle's own
  echo_simulate task, small), the base model (the shipped one, copied where echo_build_base_model
  writes it) and the FIM benchmarks (copied to the Volume's benchmarks/);
- small sizes, as ECHO__* settings of the environment (events, steps, requests).

So a task that reads what no earlier task wrote fails here, not on a workspace.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from echo_spark.holdout import Holdout
from echo_spark.simulate.cohorts import make_users

from .bundle import cluster_env, resolved, task_argv, wheel_tasks
from .conftest import REPO, SHARED

TARGET = "dev"
LANDING_FROM_SIMULATION = "simulated/landing"
# Not passed on: Unity Catalog addressing and the Databricks MLflow store (see the docstring).
NOT_LOCAL = {"ECHO__LAKEHOUSE__CATALOG", "ECHO__LAKEHOUSE__SCHEMA_NAME", "ECHO__TRAIN__MLFLOW_TRACKING_URI"}
SMALL = {
    "ECHO__SIMULATE__EVENTS": "4000", "ECHO__SIMULATE__USERS": "4", "ECHO__SIMULATE__CORPUS_MAX_FILES": "100",
    # Of these 4 simulated developers the hash holds out 2 (checked below).
    "ECHO__EVALUATE__HOLDOUT_SHARE": "0.3",
    "ECHO__TRAIN__MAX_STEPS": "3", "ECHO__TRAIN__BATCH_SIZE": "4", "ECHO__TRAIN__NUM_WORKERS": "1",
    "ECHO__TRAIN__EVAL_MAX_SAMPLES": "8", "ECHO__TRAIN__CHECKPOINT_EVERY_STEPS": "3", "ECHO__TRAIN__EVAL_EVERY_STEPS": "3",
    "ECHO__TRAIN__SYSTEM_METRICS": "false",
    "ECHO__EVALUATE__MAX_REQUESTS": "8", "ECHO__EVALUATE__MAX_NEW_TOKENS": "8", "ECHO__EVALUATE__BOOTSTRAP_RESAMPLES": "100",
    "ECHO__EVALUATE__BENCHMARK_TASKS": "1", "ECHO__EVALUATE__BENCHMARK_MAX_NEW_TOKENS": "8",
    "ECHO__EVALUATE__REAL_COPILOT_ENABLED": "false",
}
BENCHMARKS = SHARED / "data" / "benchmarks"
BASE_MODEL = REPO / "models" / "echo-base"


def in_dependency_order(tasks: list[dict]) -> list[dict]:
    done: list[dict] = []
    waiting = list(tasks)
    while waiting:
        ready = [t for t in waiting if {d["task_key"] for d in t.get("depends_on", [])} <= {d["task_key"] for d in done}]
        assert ready, f"tasks that depend on each other in a cycle: {[t['task_key'] for t in waiting]}"
        done += ready
        waiting = [t for t in waiting if t not in ready]
    return done


def local(value: str, volume_root: str, volume: Path) -> str:
    return value.replace(volume_root, str(volume))


def run_task(where: str, script: str, argv: list[str], env: dict[str, str], log: Path) -> None:
    with log.open("w") as out:
        done = subprocess.run([sys.executable, str(REPO / "tests" / "wheel_task.py"), script, *argv], env=env, cwd=log.parent,
                              stdout=out, stderr=subprocess.STDOUT, timeout=600)
    if done.returncode:
        pytest.fail(f"task {where} ({script} {' '.join(argv)}) failed with exit code {done.returncode}:\n"
                    + log.read_text()[-4000:])


@pytest.mark.skipif(not BENCHMARKS.is_dir() or not (BASE_MODEL / "config.json").is_file(),
                    reason="needs ../shared/data/benchmarks and the shipped models/echo-base")
def test_echo_workflow_runs_as_the_bundle_defines_it(tmp_path):
    from deltalake import DeltaTable

    bundle = resolved(TARGET, {"gpus_per_node": 0})
    volume_root = bundle["variables"]["volume_root"]
    assert volume_root.startswith("/Volumes/")
    volume = tmp_path / "volume"
    users = make_users(4, 0.2, 7)
    held = [u.user_id for u in users if Holdout(0.3, 7).holds_out(u.user_id)]
    assert 0 < len(held) < len(users), "the small run needs held-out and trained developers"

    # What the workspace holds before the first run.
    shutil.copytree(BASE_MODEL, local(bundle["variables"]["echo_env"]["ECHO__TRAIN__BASE__DIR"], volume_root, volume))
    shutil.copytree(BENCHMARKS, local(bundle["variables"]["echo_env"]["ECHO__BENCHMARKS__DIR"], volume_root, volume))
    ray_dir = Path(tempfile.mkdtemp(prefix="rwf", dir="/tmp"))  # Ray's socket paths must stay short
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("ECHO_", "SPARK_REMOTE"))}
    base_env.update(SMALL, ECHO_TEST_RAY_ON_SPARK_STANDIN=str(ray_dir), ECHO__TRAIN__MLFLOW_DIR=str(tmp_path / "mlruns"))

    def environment(job: dict, task: dict) -> dict[str, str]:
        env = {k: local(v, volume_root, volume) for k, v in cluster_env(job, task).items() if k not in NOT_LOCAL}
        assert env.pop("ECHO__ENGINE__KIND") == "cluster"
        assert env["ECHO_CONF"] == str(REPO / "conf" / "echo.yaml")
        return {**base_env, **env, "ECHO__ENGINE__KIND": "sail"}

    tasks = {where: (task, job) for where, task, job in wheel_tasks(bundle)}
    try:
        # Landing files, from the bundle's own simulate job (as its resources file says to try the workflow).
        task, job = tasks["echo_simulate.simulate"]
        run_task("echo_simulate.simulate", task["python_wheel_task"]["entry_point"],
                 [local(a, volume_root, volume) for a in task_argv(task, job)], environment(job, task), tmp_path / "simulate.log")
        landing = volume / LANDING_FROM_SIMULATION
        assert any(landing.rglob("*.jsonl.gz"))

        workflow = bundle["resources"]["jobs"]["echo_workflow"]
        order = in_dependency_order(workflow["tasks"])
        assert [t["task_key"] for t in order] == ["ingest", "lifecycle", "curate", "train", "evaluate"]
        for task in order:
            argv = [local(a, volume_root, volume)
                    for a in task_argv(task, workflow, {"landing": f"{volume_root}/{LANDING_FROM_SIMULATION}"})]
            run_task(f"echo_workflow.{task['task_key']}", task["python_wheel_task"]["entry_point"], argv,
                     environment(workflow, task), tmp_path / f"{task['task_key']}.log")
    finally:
        shutil.rmtree(ray_dir, ignore_errors=True)

    # Each stage wrote what the next one read, where the bundle says.
    lakehouse = volume / "lakehouse"
    gold = DeltaTable(str(lakehouse / "sft_samples")).to_pyarrow_table(columns=["user_id"])
    silver = DeltaTable(str(lakehouse / "completions")).to_pyarrow_table(columns=["user_id"])
    assert gold.num_rows > 0 and set(held) & set(silver["user_id"].to_pylist())
    assert not set(held) & set(gold["user_id"].to_pylist()), "a held-out developer reached gold"
    assert (volume / "runs" / "echo-1234" / "model" / "config.json").is_file()
    assert (volume / "reports" / "evaluate" / "report.md").is_file()
    assert (volume / "ray-logs").is_dir()
    evaluation = (tmp_path / "evaluate.log").read_text()
    assert "| echo |" in evaluation and "| base |" in evaluation
    # --promote found the version training registered (@challenger) in the echo arm and, with no
    # champion yet, compared it with base.
    assert "(echo vs base)" in evaluation and "promotion of " in evaluation
