"""Run one console script the way a Databricks `python_wheel_task` does: look its entry point up in
the installed distribution's metadata, set sys.argv to the script's name and the task's
parameters, and call it in this process (an exception fails the task).

    python tests/wheel_task.py echo-spark-ingest --landing /path

With ECHO_TEST_RAY_ON_SPARK_STANDIN=DIR, `ray.util.spark.setup_ray_cluster` (what a Databricks
cluster provides to `echo-spark-train-ray-on-spark`) starts a local Ray head node instead, with its
files under DIR, and `shutdown_ray_cluster` stops that node only. Nothing else is replaced.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, where tests/training would shadow the
# installed `training` package; a wheel task sees only what is installed.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def install_ray_standin(temp_dir: str) -> None:
    import ray.util.spark

    head: dict[str, subprocess.Popen] = {}

    def setup_ray_cluster(*, max_worker_nodes: int, num_gpus_worker_node: int = 0, collect_log_to_path: str | None = None,
                          **_: object) -> tuple[str, None]:
        if num_gpus_worker_node:
            raise RuntimeError("the local stand-in for Ray on Spark has no GPU: deploy with --var gpus_per_node=0")
        port = _free_port()
        # A private node for this run: no token from ~/.ray (another Ray on this machine may use one).
        os.environ["RAY_AUTH_MODE"] = "disabled"
        ray_cli = Path(sys.executable).with_name("ray")
        head["node"] = subprocess.Popen(
            [str(ray_cli), "start", "--head", "--block", f"--port={port}", f"--num-cpus={1 + max_worker_nodes}",
             "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp_dir}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if head["node"].poll() is not None:
                raise RuntimeError("the local Ray head node exited at start")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.5)
        else:
            raise RuntimeError("the local Ray head node did not start in 120 s")
        if collect_log_to_path:
            Path(collect_log_to_path).mkdir(parents=True, exist_ok=True)
        return f"127.0.0.1:{port}", None

    def shutdown_ray_cluster() -> None:
        node = head.pop("node", None)
        if node is not None:
            node.send_signal(signal.SIGTERM)  # `ray start --block` stops the processes it started
            try:
                node.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(node.pid, signal.SIGKILL)

    ray.util.spark.setup_ray_cluster = setup_ray_cluster
    ray.util.spark.shutdown_ray_cluster = shutdown_ray_cluster


def main() -> None:
    script, *argv = sys.argv[1:]
    if os.environ.get("ECHO_TEST_RAY_ON_SPARK_STANDIN"):
        install_ray_standin(os.environ["ECHO_TEST_RAY_ON_SPARK_STANDIN"])
    [entry] = entry_points(group="console_scripts", name=script)
    sys.argv = [script, *argv]
    entry.load()()


if __name__ == "__main__":
    main()
