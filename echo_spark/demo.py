"""`echo-spark demo`: the loop end to end on the embedded defaults, in one command.

Simulated developers write real code (the Python standard library) with a completion service in
the loop; their telemetry is ingested, every completion is followed to what the user committed,
and the result is curated into the gold training table. Each stage prints its progress; the end
shows the time of each stage and where the tables and the report are.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from .config import EchoConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="./out/demo", metavar="DIR", help="simulated telemetry and ground truth (replaced)")
    parser.add_argument("--events", type=int, default=60_000, metavar="N", help="simulated events (default 60,000)")


def run(config: EchoConfig, args: argparse.Namespace) -> dict[str, Any]:
    from rich.console import Console
    from rich.table import Table

    from .curate.job import curate, print_summary as curate_summary
    from .engine import get_spark
    from .ingest.job import ingest, print_summary as ingest_summary
    from .lakehouse import Lakehouse
    from .lifecycle.job import lifecycle, print_summary as lifecycle_summary
    from .simulate.job import simulate

    out = Path(args.out).expanduser()
    timings: dict[str, float] = {}
    metrics: dict[str, Any] = {}

    def stage(name: str, fn, *fn_args, **fn_kwargs):
        print(f"\n=== demo: {name} ===", flush=True)
        start = time.perf_counter()
        result = fn(*fn_args, **fn_kwargs)
        timings[name] = time.perf_counter() - start
        metrics[name] = result
        return result

    sim = config.simulate.model_copy(update={"events": args.events})
    sim_metrics = stage("simulate", simulate, sim, config, out, overwrite=True)
    print(f"{sim_metrics['events']:,} events, {sim_metrics['requests']:,} requests in {out / 'landing'}")
    spark = get_spark(config.engine)
    lakehouse = Lakehouse(spark, config.lakehouse)
    ingest_summary(stage("ingest", ingest, spark, lakehouse, config, str(out / "landing")))
    lifecycle_summary(stage("lifecycle", lifecycle, spark, lakehouse, config))
    report_dir = Path(config.lakehouse.root) / "reports" / "curate"
    curate_summary(stage("curate", curate, spark, lakehouse, config, report_dir=report_dir))

    table = Table(title="demo: time per stage")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for name, seconds in timings.items():
        table.add_row(name, f"{seconds:.1f}")
    table.add_row("total", f"{sum(timings.values()):.1f}")
    Console().print(table)
    root = Path(config.lakehouse.root).resolve()
    print(f"tables: {root}/{{events,quarantine,completions,orphans,sft_samples,curation_drops}}")
    print(f"curation report: {report_dir.resolve() / 'report.md'}")
    print(f"query: echo-spark sql --lakehouse {root} \"SELECT outcome, count(*) FROM completions GROUP BY outcome\"")
    return {"stage_seconds": {k: round(v, 1) for k, v in timings.items()}, **{k: v for k, v in metrics.items() if k != "simulate"}}
