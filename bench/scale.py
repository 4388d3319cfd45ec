"""Scale: ingest, lifecycle and curate on simulated telemetry of growing size, on this machine.

    python bench/scale.py [--sizes 1000000 10000000] [--work DIR] [--copies K] [--daily-share 0.01]

For each size the simulator writes landing files (not timed), then each job runs in a fresh
process on the embedded engine; the script prints per job its wall time, input events/s and the
peak resident memory of the whole process tree (the job, the Sail server threads inside it and
the Python UDF workers it forks), sampled every 0.2 s, and the CPU seconds of those processes. Targets (issue: scale): cost grows
linearly, the largest size within 12x the time of one tenth of it, and peak memory under 8 GB.
Ingest reads a backlog in passes (ingest.bytes_per_pass), which bound its memory; `--ingest-memory-gb`
(engine.sail_memory_gb) sets the embedded engine's memory budget for it, unbounded by default (a
1.5 GB budget failed the second pass at 10M events).
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
JOBS = ("ingest", "lifecycle", "curate")


def simulate(out: Path, events: int, seed_offset: int = 0) -> None:
    from echo_spark.config import EchoConfig
    from echo_spark.simulate.job import simulate as run_simulation

    config = EchoConfig()
    config.simulate.events = events
    config.simulate.seed += seed_offset
    run_simulation(config.simulate, config, out, overwrite=True)


_COPIED_IDS = ("event_id", "session_id", "user_id", "request_id", "doc_id")


def land_copies(base: Path, landing: Path, copies: int) -> None:
    """`copies` copies of a simulated landing folder, each with its own developers, sessions,
    documents and event ids (`~k` appended), so that the jobs see `copies` times the telemetry
    without simulating it again. A line that is not a JSON object (a fault the simulator planted)
    is copied as it is, and stays one bad line per copy."""
    for k in range(copies):
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            target = landing / f"copy-{k}" / path.relative_to(base)
            target.parent.mkdir(parents=True, exist_ok=True)
            out = []
            for line in gzip.decompress(path.read_bytes()).splitlines(keepends=True):
                try:
                    event = json.loads(line)
                except ValueError:
                    out.append(line)
                    continue
                if isinstance(event, dict):
                    for key in _COPIED_IDS:
                        if isinstance(event.get(key), str):
                            event[key] = f"{event[key]}~{k}"
                    line = json.dumps(event, ensure_ascii=False).encode() + b"\n"
                out.append(line)
            target.write_bytes(gzip.compress(b"".join(out), compresslevel=1, mtime=0))


def land_next_day(work: Path, events: int) -> None:
    """A day's new telemetry beside what is already landed: another seed, so other developers,
    sessions and event ids, and landing paths (`<day>/<client>/...`) that do not collide."""
    simulate(work / "next-day", events, seed_offset=1)
    source = work / "next-day" / "landing"
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        target = work / "sim" / "landing" / path.relative_to(source)
        if target.exists():
            raise SystemExit(f"next day's file would overwrite {target}")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


def tree_rss(process: psutil.Process) -> int:
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_job(job: str, work: Path, overrides: list[str], options: tuple[str, ...] = ()) -> dict[str, float]:
    """One job as its own CLI process (`options`: more of its command-line options); peak memory of
    its process tree."""
    args = [sys.executable, "-m", "echo_spark.cli", job, "--quiet", "--lakehouse", str(work / "lakehouse"), *options]
    args += [arg for override in overrides for arg in ("--set", override)]
    if job == "ingest":
        args += ["--landing", str(work / "sim" / "landing")]
    start = time.perf_counter()
    cpu_before = _children_cpu_s()
    child = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        process = psutil.Process(child.pid)
        while not done.is_set():
            peak = max(peak, tree_rss(process))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = child.communicate()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    if child.returncode != 0:
        raise SystemExit(f"{job} failed with exit code {child.returncode}:\n{out[-2000:]}")
    return {"seconds": seconds, "cpu_s": _children_cpu_s() - cpu_before, "peak_gb": peak / 1e9}


def _children_cpu_s() -> float:
    """CPU seconds of the finished job processes and everything they waited for (UDF workers): the
    figure that other load on the machine does not inflate, unlike the wall time."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--work", default="out/bench-scale")
    parser.add_argument("--ingest-memory-gb", type=float, default=0,
                        help="engine.sail_memory_gb for ingest (0: Sail's unbounded pool)")
    parser.add_argument("--copies", type=int, default=1,
                        help="simulate size/COPIES events once and land that many copies with their own ids "
                             "(simulating 10M events takes about 45 minutes here; copying 1M ten times, minutes)")
    parser.add_argument("--daily-share", type=float, default=0.01,
                        help="after the first runs, land this share of new events and run the jobs again (0: skip)")
    parser.add_argument("--perplexity", action="store_true",
                        help="run curate's perplexity stage (off by default: scoring is a once-per-sample model cost, "
                             "measured by bench/curate.py, and it would hide what the pipeline itself costs)")
    args = parser.parse_args()
    results: dict[int, dict[str, dict[str, float]]] = {}
    for events in args.sizes:
        work = Path(args.work).resolve() / str(events)
        shutil.rmtree(work, ignore_errors=True)
        if args.copies > 1:
            base = Path(args.work).resolve() / f"base-{events // args.copies}"
            if not (base / "complete").exists():
                print(f"simulating {events // args.copies:,} events ...", flush=True)
                simulate(base, events // args.copies)
                (base / "complete").touch()
            print(f"landing {args.copies} copies of them ...", flush=True)
            land_copies(base / "landing", work / "sim" / "landing", args.copies)
        else:
            print(f"simulating {events:,} events ...", flush=True)
            simulate(work / "sim", events)
        results[events] = {}
        runs = [("", events)]
        if args.daily_share:
            runs.append(("daily ", round(events * args.daily_share)))
        for label, new_events in runs:
            if label:
                print(f"landing a day of {new_events:,} new events ...", flush=True)
                land_next_day(work, new_events)
            for job in JOBS:
                overrides = [f"engine.sail_memory_gb={args.ingest_memory_gb}"] if job == "ingest" else []
                if job == "curate" and not args.perplexity:
                    overrides.append("curate.perplexity_enabled=false")
                figures = run_job(job, work, overrides)
                figures["events_per_s"] = new_events / figures["seconds"]
                results[events][label + job] = figures
                print(f"{events:>12,} {label + job:<16} {figures['seconds']:8.1f} s (CPU {figures['cpu_s']:8.1f} s) "
                      f"{figures['events_per_s']:10,.0f} new events/s peak {figures['peak_gb']:5.2f} GB", flush=True)
    print("\n| events | job | seconds | CPU seconds | new events/s | peak memory (GB) |\n|---:|---|---:|---:|---:|---:|")
    for events, jobs in results.items():
        for job, f in jobs.items():
            print(f"| {events:,} | {job} | {f['seconds']:.1f} | {f['cpu_s']:.1f} | {f['events_per_s']:,.0f} | {f['peak_gb']:.2f} |")
    sizes = sorted(results)
    for events, jobs in results.items():
        daily = sum(f["seconds"] for job, f in jobs.items() if job.startswith("daily "))
        if daily:
            print(f"{events:,} events: the daily run ({args.daily_share:.0%} new) took {daily:.1f} s, all three jobs")
    for small, large in zip(sizes, sizes[1:]):
        ratio = sum(results[large][j]["seconds"] for j in JOBS) / sum(results[small][j]["seconds"] for j in JOBS)
        print(f"{large:,} events took {ratio:.1f}x the time of {small:,} ({large / small:.0f}x the events)")
    print(json.dumps({str(k): v for k, v in results.items()}))


if __name__ == "__main__":
    main()
