"""The edit tracker on real keystrokes: is the first line of C_N the line the developer typed?

    python bench/real_keystrokes.py [--burst-pause-s 2.0 ...] [--anchor-chars 32] [--show]

Reads `../shared/data/real/tasktracker-cpp-telemetry.jsonl.gz` (one developer writing C++, 60
requests injected where they start typing), tracks it as the lifecycle job does, and scores
`committed` against what the keystrokes themselves say, on the requests where that is
unambiguous. No answer key is read: "right" is computed from the events here.

- The *burst* of a request: from the request on, the changes that stay inside what it has typed
  so far (typing at its end, between auto-closed brackets, a backspace; an insertion that a
  snapshot diff placed further right but that reads as typed at the end counts, as the tracker
  reads it); it ends at the first change anywhere else (P1 edited included).
- *Unambiguous*: the burst typed something, and no later change touches its first line or the
  `--margin` (64) characters before it, except one that deletes all of them at once (the
  developer wiping the code to start the next exercise: the region is gone, nothing corrected).
- *First line right*: C_N's first line (up to the line break after its first non-blank
  character) is the burst's. C_N may end earlier or later than the burst (where the burst rule
  ends it); the first line is what the issue measured, the line the request was for.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from echo_spark.config import LifecycleConfig  # noqa: E402
from tests.lifecycle.real_data import TASKTRACKER, bronze_rows, track_file  # noqa: E402

FIXED_ANCHOR_MAX = 128


@dataclass
class Burst:
    request_id: str
    start: int  # the request's offset (UTF-16 = index: the file is ASCII)
    typed: str  # what the burst left after the request's offset
    unambiguous: bool


def first_line(text: str) -> str:
    """Up to the line break after the first non-blank character (leading blank lines included)."""
    body = len(text) - len(text.lstrip())
    cut = text.find("\n", body)
    return text if cut < 0 else text[:cut]


def _changes(row: dict[str, Any]) -> list[tuple[int, int, str]]:
    return [(c["offset"], c["length"], c["text"]) for c in row.get("changes") or []]


def bursts(rows: list[dict[str, Any]], margin: int = 64) -> list[Burst]:
    """Every request's burst, read from the keystrokes (one document: the TaskTracker file)."""
    text = ""
    open_bursts: list[dict[str, Any]] = []
    done: list[Burst] = []
    for row in rows:
        kind = row["type"]
        if kind == "doc_open":
            text = row["text"]
        elif kind == "completion_request":
            at = row["offset"]
            open_bursts.append({"id": row["request_id"], "start": at, "caret": at, "typing": True, "clean": True, "end": at})
        elif kind == "doc_change":
            for offset, length, new in _changes(row):
                after = text[:offset] + new + text[offset + length :]
                for b in open_bursts:
                    _follow(b, text, after, offset, length, new, margin)
                text = after
    for b in open_bursts:
        typed = b["typed"] if "typed" in b else text[b["start"] : b["caret"]]
        done.append(Burst(b["id"], b["start"], typed, "lo" in b and b["clean"] and bool(typed.strip())))
    return done


def _follow(b: dict[str, Any], before: str, after: str, offset: int, length: int, new: str, margin: int) -> None:
    """One change seen by one request's burst: typing in what the burst typed so far, or the first change elsewhere."""
    if b["typing"]:
        start, end = b["start"], b["caret"]
        grown = len(after) - len(before)
        # A pure insertion that reads as typed at the end (the diff may have placed it further right).
        if length == 0 and offset >= end and after[:end] == before[:end] and after[end + grown :] == before[end:]:
            b["caret"] = end + grown
            return
        # Typing or deleting inside the burst's own text (between auto-closed brackets, a backspace).
        if start <= offset and offset + length <= end:
            b["caret"] = end + grown
            return
        b["typing"] = False
        b["typed"] = typed = before[start:end]
        # Only the first line must stay as typed: later lines may be edited, they are not scored.
        b["lo"], b["hi"] = start, start + len(first_line(typed))
    if not b["clean"]:
        return
    lo, hi = b["lo"], b["hi"]
    if b.get("wiped"):
        return
    if offset <= max(0, lo - margin) and offset + length >= hi:
        b["wiped"] = True  # the line and what precedes it deleted at once: moving on, not a correction
        return
    if offset + length >= lo - margin and offset <= hi:
        b["clean"] = False
        return
    if offset + length <= lo:  # before the first line: it moves
        b["lo"], b["hi"] = lo + len(new) - length, hi + len(new) - length


def score(config: LifecycleConfig, margin: int = 64, show: bool = False) -> tuple[int, int, int]:
    """(unambiguous requests, of them first line of C_N right, whole C_N equal to the burst)."""
    rows = bronze_rows(TASKTRACKER)
    _, results = track_file(TASKTRACKER, config)
    records = {c.request_id: c for r in results for c in r.completions}
    clear = [b for b in bursts(rows, margin) if b.unambiguous]
    right = whole = 0
    for b in clear:
        committed = records[b.request_id].committed
        ok = committed is not None and first_line(committed) == first_line(b.typed)
        right += ok
        whole += committed == b.typed.rstrip()
        if show and not ok:
            print(f"  {b.request_id}: typed {first_line(b.typed)!r}, C_N {committed!r:.120}")
    return len(clear), right, whole


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--burst-pause-s", type=float, nargs="+", default=[2.0], help="values to try; 0 = no burst rule")
    parser.add_argument("--anchor-chars", type=int, nargs="+", default=[32])
    parser.add_argument("--margin", type=int, default=64)
    parser.add_argument("--show", action="store_true", help="print the requests whose first line is wrong")
    args = parser.parse_args()
    print("| burst_pause_s | anchor_chars | unambiguous | first line of C_N right | C_N = burst |\n|---|---|---:|---:|---:|")
    for pause in args.burst_pause_s:
        for chars in args.anchor_chars:
            config = LifecycleConfig(burst_pause_s=pause or None, anchor_chars=chars, anchor_max_chars=max(chars, 256))
            n, right, whole = score(config, args.margin, args.show)
            print(f"| {pause or 'off'} | {chars} | {n} | {right} ({right / n:.1%}) | {whole} ({whole / n:.1%}) |")


if __name__ == "__main__":
    main()
