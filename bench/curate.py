"""Curation throughput: samples/s per stage on >= 100k silver rows.

    python bench/curate.py [--rows 100000] [--work DIR]

Silver rows are windows cut deterministically from the local Python standard library (the code
before a cut, a few lines as C_N, the code after; one in five void). It prints:
  * each per-gap stage alone, single-threaded in one process, on a 2,000-row sample;
  * the curate job's own stages on every row (Sail, this machine's cores): a first run;
  * a second run after `--new-share` more silver rows (1% by default) arrived, on the same lakehouse.
`--no-per-stage` skips the single-threaded part.
"""

from __future__ import annotations

import argparse
import random
import sys
import sysconfig
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def silver_rows(count: int, seed: int = 5) -> list[dict]:
    root = Path(sysconfig.get_paths()["stdlib"])
    skip = {"test", "tests", "idle_test", "site-packages", "__pycache__"}
    files = sorted(p for p in root.rglob("*.py") if not skip & set(p.relative_to(root).parts))
    rng = random.Random(seed)
    texts: dict[Path, list[str]] = {}
    rows = []
    for i in range(count):
        path = files[rng.randrange(len(files))]
        lines = texts.setdefault(path, path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True))
        cut = rng.randrange(max(1, len(lines) - 4))
        span = 0 if rng.random() < 0.2 else rng.randint(1, 4)
        prefix, middle = "".join(lines[max(0, cut - 40):cut]), "".join(lines[cut:cut + span])
        suffix = "".join(lines[cut + span:cut + span + 12])
        user = f"u{rng.randrange(400)}"
        rows.append({
            "request_id": f"r{i}", "session_id": f"s-{user}", "user_id": user, "doc_id": path.name,
            "language": "python", "request_ts": datetime(2026, 1, 1, tzinfo=timezone.utc), "prefix": prefix,
            "suffix": suffix, "proposal": None, "outcome": "rejected", "committed": middle, "is_void": middle == "",
            "finalize_reason": "left_region", "tracking_mode": "edits", "request_event_id": f"e{i}", "event_ids": [f"e{i}"],
        })
    return rows


def per_stage(rows: list[dict]) -> list[tuple[str, float]]:
    from echo_spark.config import BenchmarksConfig, CurateConfig
    from echo_spark.curate.records import Gap
    from echo_spark.curate.syntax_teacher import SyntaxTeacher
    from echo_spark.curate.verifiers.boundary import check_boundary
    from echo_spark.curate.verifiers.decontam import benchmark_index, check_decontamination
    from echo_spark.curate.verifiers.identifiers import check_identifiers
    from echo_spark.curate.verifiers.secrets import check_secrets, shared_scanner
    from echo_spark.curate.verifiers.syntax import check_syntax

    c = CurateConfig()
    gaps = [Gap(r["request_id"], r["prefix"], r["suffix"], r["committed"], r["language"]) for r in rows]
    teacher, scanner = SyntaxTeacher(), shared_scanner(c.secrets_min_score, c.secrets_min_entropy)
    index = benchmark_index(BenchmarksConfig(), c.decontam_ngram)
    scanner.find("warm up")
    stages = [
        ("teacher (syntax)", teacher.truncate),
        ("boundary", lambda g: check_boundary(g, min_chars=c.boundary_min_chars)),
        ("syntax", check_syntax),
        ("identifiers", lambda g: check_identifiers(g, strictness=c.identifier_strictness,
                                                    max_unknown_ratio=c.identifier_max_unknown_ratio)),
        ("secrets (presidio)", lambda g: check_secrets(g, scanner)),
        ("decontam", lambda g: check_decontamination(g, [index])),
    ]
    out = []
    for name, fn in stages:
        start = time.perf_counter()
        for gap in gaps:
            fn(gap)
        out.append((name, len(gaps) / (time.perf_counter() - start)))
    return out


def _stage_table(title: str, stage_seconds: dict[str, float], rows: int) -> None:
    print(f"\n| {title} | seconds | samples/s |\n|---|---:|---:|")
    for name, seconds in stage_seconds.items():
        print(f"| {name} | {seconds:.1f} | {rows / max(seconds, 1e-9):,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--work", default="out/bench-curate")
    parser.add_argument("--new-share", type=float, default=0.01, help="silver rows added before the second run, as a share of --rows (0: no second run)")
    parser.add_argument("--no-per-stage", action="store_true", help="skip the single-threaded per-stage rates")
    args = parser.parse_args()

    import shutil

    from echo_spark.config import EchoConfig, LakehouseConfig
    from echo_spark.curate.job import curate
    from echo_spark.engine import get_spark
    from echo_spark.lakehouse import Lakehouse
    from echo_spark.tables import COMPLETIONS

    added = round(args.rows * args.new_share)
    # The first --rows rows of a longer draw are the same rows: the second run's silver grows by `added`.
    every = silver_rows(args.rows + added)
    rows, new_rows = every[:args.rows], every[args.rows:]
    print(f"{len(rows):,} silver rows from the standard library", flush=True)
    if not args.no_per_stage:
        print("\n| per-gap stage, one thread | samples/s |\n|---|---:|")
        for name, rate in per_stage(rows[:2000]):
            print(f"| {name} | {rate:,.0f} |", flush=True)

    work = Path(args.work).resolve()
    shutil.rmtree(work, ignore_errors=True)
    config = EchoConfig(lakehouse=LakehouseConfig(root=str(work / "lakehouse")))
    config.curate.perplexity_enabled = False
    spark = get_spark(config.engine)
    lakehouse = Lakehouse(spark, config.lakehouse)
    batch = 20_000
    for start in range(0, len(rows), batch):
        lakehouse.append(COMPLETIONS, spark.createDataFrame(rows[start:start + batch], COMPLETIONS.schema))
    began = time.perf_counter()
    metrics = curate(spark, lakehouse, config)
    total = time.perf_counter() - began
    print(f"\ncurate job on {len(rows):,} rows: {total:.0f}s, {len(rows) / total:,.0f} samples/s overall; "
          f"gold {metrics['gold']:,}, dropped {metrics['dropped']:,}")
    _stage_table("job stage (Sail, all cores)", metrics["stage_seconds"], len(rows))
    if not new_rows:
        return
    lakehouse.append(COMPLETIONS, spark.createDataFrame(new_rows, COMPLETIONS.schema))
    began = time.perf_counter()
    second = curate(spark, lakehouse, config)
    again = time.perf_counter() - began
    print(f"\nsecond run after {len(new_rows):,} new silver rows ({len(rows) + len(new_rows):,} in all): {again:.0f}s "
          f"({total / again:.1f}x faster than the first); gold {second['gold']:,}, dropped {second['dropped']:,}")
    _stage_table("job stage, second run", second["stage_seconds"], len(rows) + len(new_rows))
    print(f"\nfirst run {total:.1f}s, second run {again:.1f}s", flush=True)


if __name__ == "__main__":
    main()
