"""How exactly the lifecycle job recovers C_N: silver `committed` against the simulator's two truths.

    python bench/extraction_accuracy.py [--events 60000] [--seeds 1003 1004] [--modes edits requests]

Seeds default to ones no test or development run used (2001 and 2002 were used while developing
the rules, 1001 and 1002 for earlier README figures). For each telemetry mode the simulator writes
landing files and ground truth, the real ingest and lifecycle jobs run on the embedded engine, and
the script prints, per mode:

- exact match against the final truth C_N (`true_committed`), and the *ceiling*: the share of
  requests whose observable truth is C_N, the best any tracker of that mode's logs can reach;
- exact match against the *observable truth* (`observable_committed`: the gap as of the last log
  event that could show it), over the requests that have one, and how many of those came out unknown;
  requests with no observable truth, and how many got a C_N anyway (an unverified accepted text);
- the share of requests flagged uncertain, and exact match against observable truth on the rest.
  Flagged: a silence longer than `--flag-silence-s` (35 s, a little over `lifecycle.left_region_s`;
  chosen on development seeds 2001/2002) between log events that could show the gap (silver
  `max_silence_s`): the developer could have left and come back meanwhile, and when is unknown.
  (Edit telemetry shows every change: nothing is flagged there.);
- how silver's C_N misses the observable truth, and exact match by the truth's finalize reason, the
  simulated reaction and each behaviour (typo, undo, cursor jump, ...).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# Silver columns the report reads.
_SILVER = ("committed", "committed_observed", "max_silence_s", "gap_open_at_last_sighting", "finalize_reason")


def run_mode(mode: str, seed: int, events: int, work: Path) -> list[dict[str, Any]]:
    """Ground truth rows of one simulated run, each with the silver columns the job wrote for it
    (`committed` is "<missing>" for a request with no silver row)."""
    from gold_accuracy import silver_rows  # this folder is on sys.path when a bench script runs

    truth, silver = silver_rows(mode, seed, events, work)
    missing = {"committed": "<missing>"}
    return [dict(t, silver={k: silver.get(t["request_id"], missing).get(k) for k in _SILVER}) for t in truth]


# How silver's C_N relates to a truth. "truth extends it": the user went on typing after the last
# event that showed the gap.
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


def flagged(row: dict[str, Any], flag_silence_s: float) -> bool:
    """A silence between log events that could show the gap, long enough to have left and come back."""
    silence = row["silver"]["max_silence_s"]
    return silence is not None and silence > flag_silence_s


def _rate(hits: int, total: int) -> str:
    return f"{hits / total:7.2%} ({hits:,}/{total:,})" if total else "n/a (0)"


def summary(rows: list[dict[str, Any]], flag_silence_s: float) -> dict[str, Any]:
    """The figures of one mode, as numbers (the report prints them; tests may read them)."""
    committed = [r["silver"]["committed"] for r in rows]
    shown = [r for r in rows if r["observable_shown"]]
    unflagged = [r for r in shown if not flagged(r, flag_silence_s)]

    def exact_obs(group: list[dict[str, Any]]) -> int:
        return sum(r["silver"]["committed"] == r["observable_committed"] for r in group)

    return {
        "requests": len(rows),
        "exact_final": sum(c == r["true_committed"] for c, r in zip(committed, rows)),
        "ceiling": sum(r["observable_shown"] and r["observable_committed"] == r["true_committed"] for r in rows),
        "shown": len(shown),
        "exact_observable": exact_obs(shown),
        "unknown_where_shown": sum(r["silver"]["committed"] in (None, "<missing>") for r in shown),
        "not_shown": len(rows) - len(shown),
        "not_shown_with_c_n": sum(not r["observable_shown"] and r["silver"]["committed"] not in (None, "<missing>") for r in rows),
        "flagged": sum(flagged(r, flag_silence_s) for r in rows),
        "unflagged_shown": len(unflagged),
        "exact_unflagged": exact_obs(unflagged),
        "missing": sum(c == "<missing>" for c in committed),
    }


def report(mode: str, rows: list[dict[str, Any]], flag_silence_s: float) -> None:
    s = summary(rows, flag_silence_s)
    n = s["requests"]
    print(f"\n## {mode} mode: {n:,} requests; missing from silver {s['missing']:,}")
    print("| measure | value |\n|---|---:|")
    print(f"| exact vs final truth C_N | {_rate(s['exact_final'], n)} |")
    print(f"| ceiling: observable truth is C_N | {_rate(s['ceiling'], n)} |")
    print(f"| exact vs observable truth (requests that have one) | {_rate(s['exact_observable'], s['shown'])} |")
    print(f"| unknown where observable truth exists | {_rate(s['unknown_where_shown'], s['shown'])} |")
    print(f"| no observable truth | {_rate(s['not_shown'], n)}, of which given a C_N {s['not_shown_with_c_n']:,} |")
    print(f"| flagged uncertain (silence > {flag_silence_s:g} s) | {_rate(s['flagged'], n)} |")
    print(f"| exact vs observable truth, unflagged | {_rate(s['exact_unflagged'], s['unflagged_shown'])} |")
    shown = [r for r in rows if r["observable_shown"]]
    kinds: dict[str, int] = defaultdict(int)
    for r in shown:
        kinds[miss_kind(r["silver"]["committed"], r["observable_committed"])] += 1
    print("\n| committed vs observable truth | requests |\n|---|---:|")
    for kind in MISS_KINDS:
        print(f"| {kind} | {_rate(kinds[kind], len(shown))} |")
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in shown:
        groups[f"finalize={r['finalize_reason']}"].append(r)
        groups[f"reaction={r['reaction']}"].append(r)
        for b in r["behaviours"] or ["none"]:
            groups[f"behaviour={b}"].append(r)
    print("\n| group (requests with observable truth) | exact vs observable | exact vs final |\n|---|---:|---:|")
    for name in sorted(groups):
        group = groups[name]
        obs = sum(r["silver"]["committed"] == r["observable_committed"] for r in group)
        final = sum(r["silver"]["committed"] == r["true_committed"] for r in group)
        print(f"| {name} | {_rate(obs, len(group))} | {_rate(final, len(group))} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1003, 1004])
    parser.add_argument("--modes", nargs="+", default=["edits", "requests"])
    parser.add_argument("--work", default="out/bench-accuracy")
    parser.add_argument("--flag-silence-s", type=float, default=35.0, help="flag a longer silence as uncertain")
    args = parser.parse_args()
    flag_silence_s = args.flag_silence_s
    print(f"seeds {args.seeds}, {args.events:,} events per seed and mode")
    for mode in args.modes:
        rows = [row for seed in args.seeds for row in run_mode(mode, seed, args.events, Path(args.work).resolve())]
        report(mode, rows, flag_silence_s)


if __name__ == "__main__":
    main()
