"""Lifecycle throughput: the Spark job against the pure tracker on one thread, same events.

    python bench/lifecycle.py [--events 1000000] [--work DIR]

Simulates telemetry (both modes), ingests it into bronze (Sail), then times in separate processes:
  * pure   : the tracker alone, single-threaded in one process, on the bronze rows held in memory
             (grouping by session and document included, reading excluded): the limit the Spark
             wiring should approach;
  * sail   : the whole `echo-spark lifecycle` job (read bronze, join session facts, group,
             applyInArrow, stage, MERGE into silver, summarize);
  * jvm    : the same tracking transformation on local JVM Spark, from a Parquet copy of bronze to
             Parquet (no Delta jars here, so no MERGE).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def prepare(work: Path, events: int) -> int:
    from echo_spark.config import EchoConfig, LakehouseConfig
    from echo_spark.engine import get_spark
    from echo_spark.ingest.job import ingest
    from echo_spark.lakehouse import Lakehouse
    from echo_spark.simulate.job import simulate

    config = EchoConfig(lakehouse=LakehouseConfig(root=str(work / "lakehouse")))
    config.simulate.events, config.simulate.mode = events, "both"
    simulate(config.simulate, config, work / "sim", overwrite=True)
    spark = get_spark(config.engine)
    metrics = ingest(spark, Lakehouse(spark, config.lakehouse), config, str(work / "sim" / "landing"))
    from deltalake import DeltaTable

    import pyarrow.parquet as pq

    pq.write_table(DeltaTable(str(work / "lakehouse" / "events")).to_pyarrow_table(), work / "bronze.parquet")
    return metrics["inserted"]


def measure_pure(work: Path) -> float:
    import pyarrow.parquet as pq

    from echo_spark.config import LifecycleConfig
    from echo_spark.lifecycle.job import TRACKER_COLUMNS
    from echo_spark.lifecycle.spark_rows import staged_rows

    rows = pq.read_table(work / "bronze.parquet", columns=list(TRACKER_COLUMNS) + ["position_encoding"]).to_pylist()
    start = time.perf_counter()
    facts: dict[str, dict] = {}
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        fact = facts.setdefault(row["session_id"], {"session_position_encoding": None, "session_end_ts": None,
                                                     "session_user_id": None})
        if row["type"] == "session_start":
            fact["session_position_encoding"] = row["position_encoding"]
        elif row["type"] == "session_end":
            fact["session_end_ts"] = row["ts"]
        fact["session_user_id"] = fact["session_user_id"] or row["user_id"]
        if row["doc_id"] is not None:
            groups.setdefault((row["session_id"], row["doc_id"]), []).append(row)
    config = LifecycleConfig()
    produced = 0
    for (session, _doc), group in groups.items():
        for row in group:
            row.update(facts[session])
        produced += sum(1 for _ in staged_rows(group, config))
    return time.perf_counter() - start


def measure_spark(work: Path, engine: str) -> float:
    from echo_spark.config import EchoConfig, EngineConfig, LakehouseConfig
    from echo_spark.engine import get_spark

    if engine == "sail":
        from echo_spark.lakehouse import Lakehouse
        from echo_spark.lifecycle.job import lifecycle

        config = EchoConfig(lakehouse=LakehouseConfig(root=str(work / "lakehouse")))
        spark = get_spark(config.engine)
        start = time.perf_counter()
        lifecycle(spark, Lakehouse(spark, config.lakehouse), config, full=True)
        return time.perf_counter() - start
    from echo_spark.config import LifecycleConfig
    from echo_spark.lifecycle.job import track_documents

    spark = get_spark(EngineConfig(kind="spark-local", spark_conf={"spark.driver.memory": "6g"}), need_delta=False)
    start = time.perf_counter()
    bronze = spark.read.parquet(str(work / "bronze.parquet"))
    track_documents(bronze, LifecycleConfig()).write.mode("overwrite").parquet(str(work / "silver-jvm"))
    spark.read.parquet(str(work / "silver-jvm")).count()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--work", default="out/bench-lifecycle")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = Path(args.work).resolve()
    if args.measure:
        seconds = measure_pure(work) if args.measure == "pure" else measure_spark(work, args.measure)
        print(json.dumps({"seconds": seconds}))
        return
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    t0 = time.perf_counter()
    bronze = prepare(work, args.events)
    print(f"bronze: {bronze:,} events (simulated and ingested in {time.perf_counter() - t0:.0f}s)", flush=True)
    results = {}
    for what in ("pure", "sail", "jvm"):
        proc = subprocess.run([sys.executable, __file__, "--work", str(work), "--measure", what],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{what}: failed\n{proc.stderr[-2000:]}", flush=True)
            continue
        results[what] = json.loads(proc.stdout.strip().splitlines()[-1])["seconds"]
        print(f"{what:5} {results[what]:7.1f}s {bronze / results[what]:10,.0f} events/s", flush=True)
    print("\n| run | seconds | events/s | vs pure tracker |\n|---|---:|---:|---:|")
    for what, seconds in results.items():
        ratio = results["pure"] / seconds if "pure" in results else float("nan")
        print(f"| {what} | {seconds:.1f} | {bronze / seconds:,.0f} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
