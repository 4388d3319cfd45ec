"""The lifecycle on the real Copilot log: is an accepted suggestion that a later prompt shows unchanged kept?

    python bench/real_copilot.py [--file ../shared/data/real/cups-copilot-telemetry.jsonl.gz] [--pure] [--list]

The study behind the log (CUPS) labelled whether each accepted suggestion was still unchanged at
its first check; those labels are not in the log and are not read here (the check against them runs
outside the project). This bench builds the nearest proxy the log itself allows, independently of
the tracker, from the raw lines: an accepted suggestion is *visible* when a later prompt of the same
document holds the request's prefix anchor (its last `lifecycle.anchor_chars` characters) once
and shows text after it. (A prompt holding it several times is left out: this log's offsets do
not locate a prompt in the document, none equals its prompt's length.) The *first check* is the
first such prompt that decides: one that does not end inside the accepted text (a prompt ending
there shows only how the gap starts). The suggestion is *seen unchanged* when the text that prompt
shows after the anchor starts with the accepted text as it landed at the cursor (the shown text
without the head it repeats of the prompt, telemetry v1; whitespace at line ends aside, which
editors trim), and *seen changed* otherwise: the developer edited it before that prompt, which the
study would not call unchanged either. An accepted text that lands as nothing (the shown text only
repeats the prompt's end) or whose prompt is empty has nothing to check. Counted apart: a
suggestion whose own prompt already holds the accepted text in its last lines, a prompt this log
captured after the text was inserted and typed on (or a suggestion repeating a line above).

It runs the real ingest and lifecycle jobs on the embedded engine (or, with `--pure`, the pure
tracker the way tests/lifecycle/real_data.py does, in seconds) and prints: accepted suggestions,
visible ones, `kept_at_first_check` among them and among the seen-unchanged ones, and the C1 metrics
(edit distance, token survival, retention) of the accepted ones, which the tracker computes on the
part of the proposal after the cursor; beside them the same metrics on the whole shown text, to show
what the repeated head costs. `--list` prints every visible accepted suggestion whose
`kept_at_first_check` is not true, with the texts, for reading by hand.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEFAULT_FILE = REPO.parent / "shared" / "data" / "real" / "cups-copilot-telemetry.jsonl.gz"


@dataclass(frozen=True)
class Check:
    """What the later prompts show of one accepted suggestion (from the raw lines, not the tracker)."""

    request_id: str
    accepted: str  # the accepted text as it landed at the cursor
    visible: bool
    # The request's own prompt already holds the accepted text in its last lines.
    in_own_prompt: bool
    # The first deciding later prompt: its request id and the text it shows after the anchor.
    by: str | None = None
    shown: str | None = None

    @property
    def unchanged(self) -> bool | None:
        from echo_spark.lifecycle.outcome import kept_intact

        return None if self.shown is None else kept_intact(self.accepted, self.shown)


def raw_lines(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def checks(lines: list[dict[str, Any]], anchor_chars: int) -> dict[str, Check]:
    """Each accepted suggestion as the later prompts of its document show it."""
    from echo_spark.lifecycle.outcome import repeated_head

    requests = [r for r in lines if r["type"] == "completion_request"]
    shown = {r["request_id"]: r["text"] for r in lines if r["type"] == "completion_shown"}  # the last one wins
    accepted = [r["request_id"] for r in lines if r["type"] == "completion_accept"]
    by_doc: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in requests:
        by_doc[(r["session_id"], r["doc_id"])].append(r)
    found: dict[str, Check] = {}
    for rid in accepted:
        request = next(r for r in requests if r["request_id"] == rid)
        text = shown.get(rid)
        if text is None:
            continue
        prefix = request["prefix"]
        landed = text[repeated_head(text, prefix, None, None, "utf-16") :]
        if not landed or not prefix:
            continue
        own = len(landed.strip()) >= 8 and landed.strip() in "\n".join(prefix.split("\n")[-6:])
        anchor = prefix[-anchor_chars:]
        document = by_doc[(request["session_id"], request["doc_id"])]
        later = sorted((r for r in document if r["seq"] > request["seq"]), key=lambda r: r["seq"])
        visible, first = False, None
        for r in later:
            at = r["prefix"].find(anchor)
            if at < 0 or r["prefix"].find(anchor, at + 1) >= 0 or at + len(anchor) >= len(r["prefix"]):
                continue
            visible = True
            after = r["prefix"][at + len(anchor) :]
            if len(after) < len(landed) and landed.startswith(after):
                continue  # ends inside the accepted text: shows only how the gap starts
            first = (r["request_id"], after)
            break
        found[rid] = Check(rid, landed, visible, own, *(first or (None, None)))
    return found


def silver_jobs(path: Path, work: Path) -> dict[str, dict[str, Any]]:
    """Silver completions (by request id) from the real ingest and lifecycle jobs, in a fresh lakehouse under `work`."""
    from echo_spark.config import EchoConfig, LakehouseConfig
    from echo_spark.engine import get_spark
    from echo_spark.ingest.job import ingest
    from echo_spark.lakehouse import Lakehouse
    from echo_spark.lifecycle.job import lifecycle
    from echo_spark.tables import COMPLETIONS

    shutil.rmtree(work, ignore_errors=True)
    config = EchoConfig(lakehouse=LakehouseConfig(root=str(work / "lakehouse")))
    spark = get_spark(config.engine)
    lakehouse = Lakehouse(spark, config.lakehouse)
    ingest(spark, lakehouse, config, str(path))
    lifecycle(spark, lakehouse, config)
    return {r["request_id"]: r.asDict() for r in lakehouse.read(COMPLETIONS).collect()}


def silver_pure(path: Path) -> dict[str, dict[str, Any]]:
    """The same rows from the pure tracker, grouped by (session, document) as the job groups them."""
    from dataclasses import asdict

    from tests.lifecycle.real_data import track_file

    _, results = track_file(path)
    return {c.request_id: asdict(c) for r in results for c in r.completions}


def _share(hits: int, total: int) -> str:
    return f"{hits / total:6.1%} ({hits}/{total})" if total else "n/a (0)"


def _spread(values: list[float]) -> str:
    if not values:
        return "n/a"
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return f"n={len(values)}, mean {statistics.fmean(values):.3f}, quartiles {q[0]:g} / {q[1]:g} / {q[2]:g}"


def report(silver: dict[str, dict[str, Any]], found: dict[str, Check], lines: list[dict[str, Any]], listing: bool) -> None:
    from echo_spark.lifecycle.outcome import edit_distance, surviving_share

    accepted = [r for r in silver.values() if r["outcome"] in ("accepted", "partial")]
    visible = [c for c in found.values() if c.visible]
    own = [c for c in visible if c.in_own_prompt]
    decided = [c for c in visible if c.unchanged is not None and not c.in_own_prompt]
    unchanged = [c for c in decided if c.unchanged]
    changed = [c for c in decided if not c.unchanged]

    def kept(checks: list[Check], value: bool | None = True) -> int:
        return sum(silver[c.request_id]["kept_at_first_check"] is value for c in checks)

    print(f"accepted suggestions: {len(accepted)}; with something new at the cursor and a prompt: {len(found)}")
    print(f"  silver committed known: {sum(r['committed'] is not None for r in accepted)}; "
          f"observed: {sum(r['committed_observed'] is True for r in accepted)}; "
          f"unverified accepted text: {sum(r['committed_observed'] is False for r in accepted)}")
    print(f"  finalize: {dict(Counter(r['finalize_reason'] for r in accepted).most_common())}")
    print(f"visible (a later prompt of the document shows text after the anchor): {len(visible)}")
    print(f"  kept_at_first_check true {_share(kept(visible), len(visible))}; false {kept(visible, False)}; "
          f"null {kept(visible, None)}")
    print(f"  own prompt already holds the accepted text: {len(own)}, kept true {kept(own)}")
    print(f"  the rest with a deciding prompt (not ending inside the accepted text): {len(decided)}")
    print(f"seen unchanged: {len(unchanged)}, kept_at_first_check true {_share(kept(unchanged), len(unchanged))}")
    print(f"seen changed: {len(changed)}, kept_at_first_check false {_share(kept(changed, False), len(changed))}")

    shown = {r["request_id"]: r["text"] for r in lines if r["type"] == "completion_shown"}
    known = [r for r in accepted if r["committed"] is not None]
    print(f"\nC1 metrics of the {len(known)} accepted suggestions with a C_N (after the cursor | whole shown text):")
    whole_d = [edit_distance(shown[r["request_id"]], r["committed"]) for r in known]
    whole_s = [s for r in known if (s := surviving_share(shown[r["request_id"]], r["committed"])) is not None]
    print(f"  edit distance: {_spread([r['c1_edit_distance'] for r in known])} | {_spread(whole_d)}")
    print(f"  edit distance 0: {_share(sum(r['c1_edit_distance'] == 0 for r in known), len(known))} | "
          f"{_share(sum(d == 0 for d in whole_d), len(known))}")
    print(f"  survival: {_spread([r['c1_survival'] for r in known if r['c1_survival'] is not None])} | {_spread(whole_s)}")
    for age in ("30s", "2m", "5m", "10m"):
        values = [r[f"retention_{age}"] for r in accepted if r[f"retention_{age}"] is not None]
        print(f"  retention at {age}: {_spread(values)}; full {sum(v == 1.0 for v in values)}")
    if listing:
        print("\nvisible accepted suggestions whose kept_at_first_check is not true:")
        for c in visible:
            row = silver[c.request_id]
            if row["kept_at_first_check"] is True:
                continue
            print(f"\n--- {c.request_id} kept={row['kept_at_first_check']} seen_unchanged={c.unchanged} "
                  f"own_prompt={c.in_own_prompt} by={c.by} "
                  f"finalize={row['finalize_reason']} observed={row['committed_observed']}")
            print(f"  prefix tail: {row['prefix'][-80:]!r}")
            print(f"  landed:      {c.accepted!r}")
            print(f"  shown later: {None if c.shown is None else c.shown[:200]!r}")
            print(f"  committed:   {None if row['committed'] is None else row['committed'][:200]!r}")


def main() -> None:
    from echo_spark.config import LifecycleConfig

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--pure", action="store_true", help="the pure tracker instead of the ingest and lifecycle jobs")
    parser.add_argument("--list", action="store_true", help="print the visible accepted suggestions not kept, with texts")
    parser.add_argument("--work", type=Path, default=Path("out/bench-real-copilot"), help="the jobs' lakehouse (replaced)")
    args = parser.parse_args()
    lines = raw_lines(args.file)
    found = checks(lines, LifecycleConfig().anchor_chars)
    silver = silver_pure(args.file) if args.pure else silver_jobs(args.file, args.work.resolve())
    report(silver, found, lines, args.list)


if __name__ == "__main__":
    main()
