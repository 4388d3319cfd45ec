"""Simulator throughput: events/s for a whole `echo-spark simulate` run (default 1M events).

    python bench/simulate.py [--events 1000000] [--seed 7] [--mode both] [--work DIR] [--keep]

Runs the job in this process (pure Python, no Spark) into a temporary folder, then prints the
events, the time, events/s, the output sizes and the peak memory (RSS) of the process.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from echo_spark.config import load_config  # noqa: E402
from echo_spark.simulate.job import run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mode", choices=["edits", "requests", "both"], default="both")
    parser.add_argument("--work", type=Path, help="output folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the output")
    opts = parser.parse_args()
    work = opts.work or Path(tempfile.mkdtemp(prefix="echo-sim-bench-"))
    args = argparse.Namespace(
        out=str(work), events=opts.events, seed=opts.seed, mode=opts.mode, corpus=None, users=None, overwrite=True
    )
    began = time.perf_counter()
    metrics = run(load_config(None), args)
    wall = time.perf_counter() - began
    landing = sum(p.stat().st_size for p in (work / "landing").rglob("*") if p.is_file())
    truth = {p.name: p.stat().st_size for p in work.glob("*.parquet")}
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"events          {metrics['events']:,}")
    print(f"wall            {wall:.1f} s")
    print(f"events/s        {metrics['events'] / wall:,.0f}")
    print(f"requests        {metrics['requests']:,}")
    print(f"landing         {metrics['landing_files']:,} files, {landing / 2**20:.1f} MiB")
    for name, size in sorted(truth.items()):
        print(f"{name:<34}{size / 2**20:.1f} MiB")
    print(f"peak RSS        {peak_mib:.0f} MiB")
    if not opts.keep and opts.work is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
