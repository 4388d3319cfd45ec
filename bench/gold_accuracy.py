"""How right the gold targets are: curated `middle` against the simulator's `intended_unit`.

    python bench/gold_accuracy.py [--events 20000] [--seeds 3001 3002] [--modes edits requests]
    python bench/gold_accuracy.py --truth-only ...   # teacher on the true C_N only (no Spark)

For each telemetry mode the simulator writes landing files and ground truth, the real ingest and
lifecycle jobs run on the embedded engine, and curate's per-gap stages (teacher, boundary, syntax,
identifiers, secrets, decontamination: `RowCurator`, the code the curate job runs per row) run over
silver. The global stages (dedup, perplexity, proportion) are left out: they choose among samples,
they do not change a target. Printed per mode, overall, by scenario and by finalize reason:

- exact: share of kept samples whose `middle` equals `intended_unit` (whitespace included);
- kept: share of the requests whose C_N is known (silver `committed` not null) that are kept;
- teacher on truth: the teacher applied to the simulator's true C_N (with the request's windows)
  equals `intended_unit`, over requests whose true C_N is known and which the teacher does not
  drop as a cut unit.

Also the drops per stage and reason. Seeds default to 3001 and 3002, run only for the README figures
(2001 and 2002 were used while developing the rules).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def simulate_only(mode: str, seed: int, events: int, work: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    from echo_spark.config import EchoConfig
    from echo_spark.simulate.job import simulate

    out = work / f"{mode}-{seed}"
    shutil.rmtree(out, ignore_errors=True)
    config = EchoConfig()
    config.simulate.seed, config.simulate.events, config.simulate.mode = seed, events, mode
    simulate(config.simulate, config, out / "sim", overwrite=True)
    return pq.read_table(out / "sim" / "ground_truth.parquet").to_pylist()


def silver_rows(mode: str, seed: int, events: int, work: Path) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Ground truth rows and silver rows (by request id) of one simulated run."""
    import pyarrow.parquet as pq

    from echo_spark.config import EchoConfig, LakehouseConfig
    from echo_spark.engine import get_spark
    from echo_spark.ingest.job import ingest
    from echo_spark.lakehouse import Lakehouse
    from echo_spark.lifecycle.job import lifecycle
    from echo_spark.simulate.job import simulate
    from echo_spark.tables import COMPLETIONS

    out = work / f"{mode}-{seed}"
    shutil.rmtree(out, ignore_errors=True)
    config = EchoConfig(lakehouse=LakehouseConfig(root=str(out / "lakehouse")))
    config.simulate.seed, config.simulate.events, config.simulate.mode = seed, events, mode
    simulate(config.simulate, config, out / "sim", overwrite=True)
    spark = get_spark(config.engine)
    lakehouse = Lakehouse(spark, config.lakehouse)
    ingest(spark, lakehouse, config, str(out / "sim" / "landing"))
    lifecycle(spark, lakehouse, config)
    silver = {r["request_id"]: r.asDict() for r in lakehouse.read(COMPLETIONS).collect()}
    truth = pq.read_table(out / "sim" / "ground_truth.parquet").to_pylist()
    return truth, silver


def teacher_on_truth(truth: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each request with a known true C_N, with the teacher's answer on it (None: dropped as cut)."""
    from echo_spark.curate.records import Gap
    from echo_spark.curate.syntax_teacher import SyntaxTeacher

    teacher = SyntaxTeacher()
    rows = []
    for t in truth:
        if t["true_committed"] is None:
            continue
        gap = Gap(t["request_id"], t["prefix"], t["suffix"], t["true_committed"], t["language"], proposal=t["proposal"])
        answer = teacher.answer(gap)
        rows.append(dict(t, teacher_middle=answer.text, teacher_drop=answer.drop_reason))
    return rows


def curated(truth: list[dict[str, Any]], silver: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Curate's per-gap stages over silver, joined to the truth."""
    from echo_spark.config import CurateConfig
    from echo_spark.curate.pipeline import RowCurator

    curator = RowCurator.build(CurateConfig())
    staged = {s["request_id"]: s for s in curator.curate(list(silver.values()))}
    rows = []
    for t in truth:
        s = staged.get(t["request_id"])
        row = silver.get(t["request_id"]) or {}
        rows.append(
            dict(
                t,
                silver_known=row.get("committed") is not None,
                silver_finalize=row.get("finalize_reason", "<missing>"),
                kept=bool(s and s["kept"]),
                middle=s["middle"] if s else None,
                drop=f"{s['drop_stage']}:{s['drop_reason']}" if s and not s["kept"] else None,
            )
        )
    return rows


def _share(part: int, whole: int) -> str:
    return f"{part / whole:7.2%} ({part:,}/{whole:,})" if whole else "      - (0/0)"


def report_truth(mode: str, rows: list[dict[str, Any]]) -> None:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups["all"].append(r)
        groups[f"scenario={r['scenario']}"].append(r)
        groups[f"finalize={r['finalize_reason']}"].append(r)
    print(f"\n## {mode}: teacher on the true C_N")
    print("| group | teacher = intended_unit (answered) | answered of known |\n|---|---:|---:|")
    for name in sorted(groups, key=lambda n: (n != "all", n)):
        group = groups[name]
        answered = [r for r in group if r["teacher_drop"] is None]
        exact = sum(r["teacher_middle"] == r["intended_unit"] for r in answered)
        print(f"| {name} | {_share(exact, len(answered))} | {_share(len(answered), len(group))} |")
    drops = Counter(r["teacher_drop"] for r in rows if r["teacher_drop"])
    print("teacher drops on truth:", dict(drops.most_common()))


def report_curated(mode: str, rows: list[dict[str, Any]]) -> None:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups["all"].append(r)
        groups[f"scenario={r['scenario']}"].append(r)
        groups[f"finalize={r['silver_finalize']}"].append(r)
    print(f"\n## {mode}: curated middle against intended_unit")
    print("| group | middle = intended_unit (of kept) | kept (of C_N known) |\n|---|---:|---:|")
    for name in sorted(groups, key=lambda n: (n != "all", n)):
        group = groups[name]
        kept = [r for r in group if r["kept"]]
        known = [r for r in group if r["silver_known"]]
        exact = sum(r["middle"] == r["intended_unit"] for r in kept)
        kept_known = sum(r["kept"] for r in known)
        print(f"| {name} | {_share(exact, len(kept))} | {_share(kept_known, len(known))} |")
    drops = Counter(r["drop"] for r in rows if r["drop"])
    print("| drop (stage:reason) | requests |\n|---|---:|")
    for reason, count in drops.most_common():
        print(f"| {reason} | {count:,} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[3001, 3002])
    parser.add_argument("--modes", nargs="+", default=["edits", "requests"])
    parser.add_argument("--work", default="out/bench-gold")
    parser.add_argument("--truth-only", action="store_true", help="only the teacher on the true C_N (no Spark)")
    args = parser.parse_args()
    work = Path(args.work).resolve()
    for mode in args.modes:
        truth: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        for seed in args.seeds:
            if args.truth_only:
                truth += simulate_only(mode, seed, args.events, work)
            else:
                seed_truth, silver = silver_rows(mode, seed, args.events, work)
                truth += seed_truth
                rows += curated(seed_truth, silver)
        report_truth(mode, teacher_on_truth(truth))
        if rows:
            report_curated(mode, rows)


if __name__ == "__main__":
    main()
