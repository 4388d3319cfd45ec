"""How exactly the lifecycle job recovers C_N: silver `committed` against the simulator's ground truth.

    python bench/extraction_accuracy.py [--events 60000] [--seeds 1001 1002]

Seeds default to ones no test or development run used. For each telemetry mode the simulator
writes landing files and ground truth, the real ingest and lifecycle jobs run on the embedded
engine, and the script prints exact-match rates overall, by the simulated user's reaction and by
each behaviour (typo, undo, cursor jump, ...), plus how often C_N came out unknown.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def run_mode(mode: str, seed: int, events: int, work: Path) -> list[dict]:
    """Ground truth rows of one simulated run, each with the C_N the lifecycle job recovered."""
    from gold_accuracy import silver_rows  # this folder is on sys.path when a bench script runs

    truth, silver = silver_rows(mode, seed, events, work)
    return [dict(t, committed=silver[t["request_id"]]["committed"] if t["request_id"] in silver else "<missing>") for t in truth]


# How silver's C_N relates to the truth. "truth extends it": the user went on typing after the
# last event that showed the gap (in server logs, the last later request), which no tracker can see.
MISS_KINDS = ("exact", "unknown", "truth extends it", "it overruns the truth", "different")


def miss_kind(committed: str | None, truth: str) -> str:
    if committed == truth:
        return "exact"
    if committed is None or committed == "<missing>":
        return "unknown"
    if truth.startswith(committed):
        return "truth extends it"
    if committed.startswith(truth):
        return "it overruns the truth"
    return "different"


def report(mode: str, rows: list[dict]) -> None:
    def rate(group: list[dict]) -> str:
        exact = sum(r["committed"] == r["true_committed"] for r in group)
        return f"{exact / len(group):7.2%} ({exact:,}/{len(group):,})"

    unknown = sum(r["committed"] is None for r in rows)
    missing = sum(r["committed"] == "<missing>" for r in rows)
    print(f"\n## {mode} mode: exact match {rate(rows)}; unknown {unknown:,}; missing from silver {missing:,}")
    kinds = defaultdict(int)
    for r in rows:
        kinds[miss_kind(r["committed"], r["true_committed"])] += 1
    print("| committed vs truth | requests |\n|---|---:|")
    for kind in MISS_KINDS:
        print(f"| {kind} | {kinds[kind]:,} ({kinds[kind] / len(rows):.2%}) |")
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        groups[f"reaction={r['reaction']}"].append(r)
        for b in r["behaviours"] or ["none"]:
            groups[f"behaviour={b}"].append(r)
        groups[f"finalize={r['finalize_reason']}"].append(r)
    print("| group | exact match |\n|---|---:|")
    for name in sorted(groups):
        print(f"| {name} | {rate(groups[name])} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1001, 1002])
    parser.add_argument("--modes", nargs="+", default=["edits", "requests"])
    parser.add_argument("--work", default="out/bench-accuracy")
    args = parser.parse_args()
    for mode in args.modes:
        rows = [row for seed in args.seeds for row in run_mode(mode, seed, args.events, Path(args.work).resolve())]
        report(mode, rows)


if __name__ == "__main__":
    main()
