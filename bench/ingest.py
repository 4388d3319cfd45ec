"""Ingest throughput: events/s from gzip JSON Lines, Sail against local JVM Spark.

    python bench/ingest.py [--events 1000000] [--files 20] [--work DIR]

Writes a deterministic synthetic landing (both telemetry modes, 1% redeliveries), then times in
separate processes (PySpark picks Connect or classic per process):
  * sail  full   : the whole ingest job into a fresh Delta lakehouse (parse, stage, dedup, MERGE),
  * sail  rerun  : the same files again, forced with --reprocess (everything is a duplicate, nothing
                   is written),
  * sail  new-file : one new file of --new-lines lines added to the landing folder, then a plain run:
                   only that file is read (the others are recorded in landing_files),
  * sail  parse  : parse + first-delivery dedup, written as Parquet (the portable part),
  * jvm   parse  : the same on local JVM Spark (it has no Delta jars here, so no MERGE).
`--phases` picks some of them (full must come before rerun and new-file).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

WORDS = "def class return self value result items index data name path open read write None True".split()


def _code(rng: random.Random, chars: int) -> str:
    out, size = [], 0
    while size < chars:
        line = "    " * rng.randint(0, 2) + " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 8))) + "\n"
        out.append(line)
        size += len(line)
    return "".join(out)[:chars]


def synthesize(landing: Path, events: int, files: int, seed: int = 11, prefix: str = "") -> int:
    """Deterministic landing files; returns the number of lines written."""
    rng = random.Random(seed)
    landing.mkdir(parents=True, exist_ok=True)
    per_file = events // files
    written = 0
    base_ms = 1_750_000_000_000
    for f in range(files):
        lines: list[str] = []
        session = f"{prefix}s{f:04d}"
        seq = 0
        while len(lines) < per_file:
            seq += 1
            ts = base_ms + seq * 700
            common = {"session_id": session, "seq": seq, "user_id": f"u{f % 97}", "ts": ts}
            kind = rng.random()
            if seq == 1:
                event = {"type": "session_start", "client": {"name": "bench", "version": "1"}, "position_encoding": "utf-16"}
            elif kind < 0.45:
                event = {"type": "doc_change", "doc_id": "d1", "version": seq,
                         "changes": [{"offset": rng.randint(0, 4000), "length": rng.randint(0, 2), "text": rng.choice(WORDS)}]}
            elif kind < 0.75:
                event = {"type": "cursor", "doc_id": "d1", "offset": rng.randint(0, 4000)}
            elif kind < 0.85:
                event = {"type": "completion_request", "doc_id": "d1", "request_id": f"{session}-r{seq}",
                         "offset": rng.randint(0, 4000), "prefix": _code(rng, 1500), "suffix": _code(rng, 500), "trigger": "auto"}
            elif kind < 0.95:
                event = {"type": "completion_shown", "doc_id": "d1", "request_id": f"{session}-r{seq - 1}",
                         "text": _code(rng, 60), "model": "bench"}
            else:
                event = {"type": rng.choice(["completion_accept", "completion_reject"]), "doc_id": "d1",
                         "request_id": f"{session}-r{seq - 2}"}
            event.update(common, event_id=f"{session}-e{seq}")
            line = json.dumps(event)
            lines.append(line)
            if rng.random() < 0.01:
                lines.append(line)  # at-least-once delivery
        with gzip.open(landing / f"part-{f:04d}.jsonl.gz", "wt", encoding="utf-8", compresslevel=6) as fh:
            fh.write("\n".join(lines) + "\n")
        written += len(lines)
    return written


def _measure(engine: str, phase: str, landing: Path, work: Path) -> dict:
    from datetime import datetime, timezone

    from echo_spark.config import EchoConfig, EngineConfig, LakehouseConfig
    from echo_spark.engine import get_spark

    config = EchoConfig(
        engine=EngineConfig(kind="sail" if engine == "sail" else "spark-local",
                            spark_conf={} if engine == "sail" else {"spark.driver.memory": "6g"}),
        lakehouse=LakehouseConfig(root=str(work / f"lakehouse-{engine}")),
    )
    spark = get_spark(config.engine, need_delta=engine == "sail")
    start = time.perf_counter()
    if phase == "parse":
        from echo_spark.ingest.job import bronze_rows, read_landing
        from echo_spark.telemetry.parse import ParseLimits

        now = datetime.now(timezone.utc)
        limits = ParseLimits.for_run(64, config.ingest.min_ts, 168, now)
        staged = read_landing(spark, str(landing), config.ingest.file_patterns, limits)
        bronze_rows(staged, now).write.mode("overwrite").parquet(str(work / f"parsed-{engine}"))
        rows = spark.read.parquet(str(work / f"parsed-{engine}")).count()
        return {"seconds": time.perf_counter() - start, "rows": rows}
    from echo_spark.ingest.job import ingest
    from echo_spark.lakehouse import Lakehouse

    metrics = ingest(spark, Lakehouse(spark, config.lakehouse), config, str(landing),
                     reprocess="*" if phase == "rerun" else None)
    return {"seconds": time.perf_counter() - start, "rows": metrics["inserted"], "lines": metrics["lines_read"],
            "files_read": metrics["files_read"], "files_skipped": metrics["files_skipped"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--work", default="out/bench-ingest")
    parser.add_argument("--new-lines", type=int, default=10_000, help="lines of the new file of the new-file phase")
    parser.add_argument("--phases", default="full,rerun,new-file,parse,jvm-parse")
    parser.add_argument("--measure", nargs=2, metavar=("ENGINE", "PHASE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = Path(args.work).resolve()
    landing = work / "landing"
    if args.measure:
        print(json.dumps(_measure(args.measure[0], args.measure[1], landing, work)))
        return

    import shutil

    shutil.rmtree(work, ignore_errors=True)
    t0 = time.perf_counter()
    lines = synthesize(landing, args.events, args.files)
    size = sum(p.stat().st_size for p in landing.iterdir())
    print(f"landing: {lines:,} lines in {args.files} gzip files, {size / 2**20:.0f} MiB, made in {time.perf_counter() - t0:.0f}s",
          flush=True)
    results = []
    wanted = args.phases.split(",")
    for engine, phase in (("sail", "full"), ("sail", "rerun"), ("sail", "new-file"), ("sail", "parse"), ("jvm", "parse")):
        if (phase if engine == "sail" else f"{engine}-{phase}") not in wanted:
            continue
        if phase == "new-file":
            synthesize(landing / "new", args.new_lines, 1, seed=12, prefix="new-")
        proc = subprocess.run([sys.executable, __file__, "--work", str(work), "--measure", engine, phase],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{engine} {phase}: failed\n{proc.stderr[-2000:]}", flush=True)
            continue
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append((engine, phase, result))
        read = result.get("lines", lines)
        print(f"{engine:5} {phase:8} {result['seconds']:8.1f}s {read:>10,} lines read {read / result['seconds']:12,.0f} lines/s"
              + (f"  files read {result['files_read']}, skipped {result['files_skipped']}" if "files_read" in result else ""),
              flush=True)

    print("\n| engine | phase | seconds | lines read | lines/s |\n|---|---|---:|---:|---:|")
    for engine, phase, result in results:
        read = result.get("lines", lines)
        print(f"| {engine} | {phase} | {result['seconds']:.1f} | {read:,} | {read / result['seconds']:,.0f} |")


if __name__ == "__main__":
    main()
