"""Training on a Databricks GPU cluster: start Ray on Spark, run the train job on it, stop Ray.

Ray Train needs a Ray cluster, and on Databricks the Spark cluster's workers host it
(`ray.util.spark.setup_ray_cluster`): one Ray worker node per Spark worker, each with all of its
node's GPUs. The train job joins that cluster by its address with one training worker per GPU.
The Ray cluster lives only as long as this process, so it is stopped however training ends
(console script `echo-spark-train-ray-on-spark`, the train task of the bundle's jobs).

    echo-spark-train-ray-on-spark --ray-worker-nodes 2 --ray-gpus-per-node 4 -- [train options]
"""

from __future__ import annotations

import argparse
import sys

from jobs import run_stage


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """This wrapper's options, and the rest: the train job's own options, passed on unchanged."""
    parser = argparse.ArgumentParser(
        prog="echo-spark-train-ray-on-spark", description=__doc__.split("\n\n")[0], allow_abbrev=False
    )
    parser.add_argument("--ray-worker-nodes", type=int, required=True, metavar="N", help="Ray worker nodes, one per Spark worker")
    parser.add_argument("--ray-gpus-per-node", type=int, default=0, metavar="N", help="GPUs of each worker node (0: CPU training)")
    parser.add_argument("--ray-log-dir", metavar="DIR", help="where Ray's logs are collected (a Volume), kept after Ray stops")
    options, rest = parser.parse_known_args(argv)
    return options, [arg for arg in rest if arg != "--"]


def train_argv(options: argparse.Namespace, ray_address: str, rest: list[str]) -> list[str]:
    """The train job's arguments: the Ray cluster and one GPU worker per GPU first, so that an
    explicit `--workers` among the given options (the last occurrence wins) still overrides."""
    derived = ["--ray-address", ray_address]
    if options.ray_gpus_per_node:
        derived += ["--gpu", "--workers", str(options.ray_worker_nodes * options.ray_gpus_per_node)]
    return [*derived, *rest]


def main(argv: list[str] | None = None) -> None:
    from ray.util.spark import setup_ray_cluster, shutdown_ray_cluster

    options, rest = parse(sys.argv[1:] if argv is None else argv)
    ray_address, _ = setup_ray_cluster(
        min_worker_nodes=options.ray_worker_nodes,
        max_worker_nodes=options.ray_worker_nodes,
        num_gpus_worker_node=options.ray_gpus_per_node,
        collect_log_to_path=options.ray_log_dir,
    )
    try:
        run_stage("train", train_argv(options, ray_address, rest))
    finally:
        shutdown_ray_cluster()


if __name__ == "__main__":
    main()
