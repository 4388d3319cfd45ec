"""The held-out cohort, as the evaluation replays it: requests no training step saw.

The simulator assigns files and developers to a cohort by hash (`simulate/cohorts.py`), and its
ground truth knows, per request, what a completion server cannot: the unit the developer meant to
write there (`intended_unit`) and what they finally kept (`true_committed`, C_N). Evaluation needs
both: the developer reacts to a candidate's proposal by comparing it with what they meant to write,
and the proposal is scored against C_N cut to its atomic unit by the same teacher that made the
training targets, so that a model is judged on the definition it was trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..curate.proportion import length_bucket
from ..curate.records import Gap
from ..curate.syntax_teacher import SyntaxTeacher
from ..curate.text import stable_hash
from ..simulate.cohorts import HELDOUT
from ..simulate.ground_truth import DOCUMENTS_FILE, REQUESTS_FILE

_COLUMNS = ["request_id", "user_id", "doc_id", "cohort", "language", "trigger_point", "prefix", "suffix",
            "intended_unit", "true_committed"]


@dataclass(frozen=True)
class HeldoutRequest:
    request_id: str
    user_id: str
    doc_id: str  # the document being written: the unit the bootstrap resamples
    language: str
    trigger: str  # where the plugin fired: line_start, dot, paren, equals, colon, pause, typo
    prefix: str  # the windows the production model saw (C0)
    suffix: str
    intended: str  # the atomic unit the developer meant to write at the cursor
    committed: str  # C_N: what they finally left in the gap (the unit, and what they wrote after it)
    target: str  # C_N cut to its atomic unit by the curate teacher; "" = silence was right
    length_bucket: str  # of the target, with curate's bucket edges

    @property
    def is_void(self) -> bool:
        return self.target == ""


class NoHeldoutCohort(ValueError):
    """The simulation has no held-out request (or no ground truth at all)."""


def heldout_users(sim_dir: Path) -> list[str]:
    """Every developer of the held-out cohort (they must never reach a training table)."""
    users: set[str] = set()
    for name in (REQUESTS_FILE, DOCUMENTS_FILE):
        path = Path(sim_dir) / name
        if path.is_file():
            table = pq.read_table(path, columns=["user_id", "cohort"])
            users |= set(table.filter(pc.equal(table["cohort"], HELDOUT))["user_id"].to_pylist())
    return sorted(users)


def load_heldout(sim_dir: Path, *, max_requests: int, seed: int, bucket_edges: Sequence[int]) -> list[HeldoutRequest]:
    """The held-out requests of a simulation: all of them, or a sample of `max_requests` chosen by a
    seeded hash of the request id (the same sample whatever the file's row order)."""
    path = Path(sim_dir) / REQUESTS_FILE
    if not path.is_file():
        raise NoHeldoutCohort(f"no simulator ground truth at {path} (run `echo-spark simulate` or the demo first)")
    table = pq.read_table(path, columns=_COLUMNS)
    table = table.filter(pc.and_(pc.equal(table["cohort"], HELDOUT), pc.is_valid(table["true_committed"])))
    rows = sorted(table.to_pylist(), key=lambda r: stable_hash(("heldout", str(seed), r["request_id"])))
    if max_requests:
        rows = rows[:max_requests]
    if not rows:
        raise NoHeldoutCohort(f"{path} has no held-out request with a known C_N (simulate.heldout_share is 0?)")
    return _requests(rows, bucket_edges)


# What the evaluation reads of a silver completion (held-out users' requests in production).
SILVER_COLUMNS = ["request_id", "user_id", "doc_id", "language", "prefix", "suffix", "committed"]
# Silver does not know where the plugin fired.
UNKNOWN_TRIGGER = "logged"


def from_silver(rows: Sequence[dict], bucket_edges: Sequence[int]) -> list[HeldoutRequest]:
    """Held-out requests from silver completions (rows with SILVER_COLUMNS, committed known). No
    simulator knows what the developer meant there: C_N cut to its unit stands for it, as target too."""
    return _requests([{**r, "trigger_point": UNKNOWN_TRIGGER, "intended_unit": None, "true_committed": r["committed"]}
                      for r in rows], bucket_edges)


def _requests(rows: Sequence[dict], bucket_edges: Sequence[int]) -> list[HeldoutRequest]:
    teacher = SyntaxTeacher()
    requests = []
    for r in rows:
        target = teacher.truncate(Gap(r["request_id"], r["prefix"], r["suffix"], r["true_committed"], r["language"]))
        requests.append(
            HeldoutRequest(
                request_id=r["request_id"],
                user_id=r["user_id"],
                doc_id=r["doc_id"],
                language=r["language"],
                trigger=r["trigger_point"],
                prefix=r["prefix"],
                suffix=r["suffix"] or "",  # a log without a suffix: prompted with none
                intended=target if r["intended_unit"] is None else r["intended_unit"],
                committed=r["true_committed"],
                target=target,
                length_bucket=length_bucket(len(target), bucket_edges),
            )
        )
    return requests
