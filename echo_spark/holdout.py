"""The evaluation holdout, as pipeline policy: which users no training table may hold.

Production has no simulator to say who is held out, so the pipeline decides it itself: a user is
held out when a hash of their id (with `evaluate.holdout_seed`) falls under `evaluate.holdout_share`,
or when their id is in the `evaluate.holdout_users` file (the simulator writes its held-out cohort
there, `echo-spark simulate` -> OUT/heldout_users.txt). Curate keeps every held-out user out of
gold and of the accepted-only table; evaluate replays their requests. The hash depends on nothing
but the id and the seed, so every job, every run and every engine agrees on the same users.

Pure Python, no Spark: the jobs collect distinct user ids, ask `Holdout`, and join back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError

PURPOSE = "evaluation-holdout"


def user_fraction(user_id: str, seed: int) -> float:
    """A stable number in [0, 1) for a user id; other uses of hashes get other purposes."""
    digest = hashlib.sha256(f"{PURPOSE}:{seed}:{user_id}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def read_user_list(path: str | Path) -> frozenset[str]:
    """User ids, one per line; blank lines and `#` comments ignored."""
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"evaluate.holdout_users: no such file: {path}")
    ids = {line.split("#", 1)[0].strip() for line in file.read_text(encoding="utf-8").splitlines()}
    return frozenset(i for i in ids if i)


def write_user_list(path: Path, users: Iterable[str], comment: str) -> Path:
    path.write_text(f"# {comment}\n" + "".join(f"{u}\n" for u in sorted(set(users))), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Holdout:
    share: float = 0.0
    seed: int = 7
    listed: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, evaluate_config) -> "Holdout":
        """The policy of a configuration's `evaluate` section (the list file read once)."""
        listed = read_user_list(evaluate_config.holdout_users) if evaluate_config.holdout_users else frozenset()
        return cls(evaluate_config.holdout_share, evaluate_config.holdout_seed, listed)

    @property
    def holds_anyone(self) -> bool:
        return self.share > 0 or bool(self.listed)

    def holds_out(self, user_id: str | None) -> bool:
        if user_id is None:
            return False
        return user_id in self.listed or user_fraction(user_id, self.seed) < self.share

    def of_users(self, users: Iterable[str | None]) -> list[str]:
        """The held-out ones among `users`, sorted."""
        return sorted({u for u in users if u is not None and self.holds_out(u)})
