"""Cohorts: which files and which simulated developers belong to the training or held-out side.

A file's cohort is a hash of its path relative to the corpus root, never of the seed or of the
listing order: the same file is on the same side in every simulation, and since a developer only
works on files of their own cohort, a held-out evaluation never sees a file trained on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

TRAIN = "train"
HELDOUT = "heldout"
# The held-out developers of a simulation, one user_id per line, in its output folder: what
# `evaluate.holdout_users` names so that curate keeps them out of training (echo_spark/holdout.py).
HELDOUT_USERS_FILE = "heldout_users.txt"


def path_fraction(rel_path: str, purpose: str) -> float:
    """A stable number in [0, 1) for `rel_path`; `purpose` keeps independent uses uncorrelated."""
    digest = hashlib.sha256(f"{purpose}:{rel_path}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def cohort_of(rel_path: str, heldout_share: float) -> str:
    return HELDOUT if path_fraction(rel_path, "cohort") < heldout_share else TRAIN


@dataclass(frozen=True)
class User:
    user_id: str
    cohort: str


def make_users(count: int, heldout_share: float, seed: int) -> list[User]:
    """`count` pseudonymous developers, the first round(count * share) of them held out.

    At least one developer per cohort whenever the share allows both, so that each cohort's files
    get written by someone.
    """
    heldout = round(count * heldout_share)
    if 0 < heldout_share < 1 and count >= 2:
        heldout = min(max(heldout, 1), count - 1)
    users = []
    for index in range(count):
        digest = hashlib.sha256(f"user:{seed}:{index}".encode()).hexdigest()[:12]
        users.append(User(f"u-{digest}", HELDOUT if index < heldout else TRAIN))
    return users
