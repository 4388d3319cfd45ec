"""Where proposals come from: a small Proposer protocol, and the default noisy oracle.

A trained model plugs in as any object with a `name` and `propose(prefix, suffix, language)`:
it sees exactly what a completion server sees (the windows). The oracle also knows the code the
developer is about to write (the session tells it through `foresee`), which is how it can be right,
partly right, wrong, run past the unit, or stay silent at exactly the configured rates: the
ground truth then says which of these each proposal was.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol

from ..config import SimulateConfig
from .units import TOKEN

RIGHT, PARTIAL, WRONG, OVERRUN, EMPTY = "right", "partial", "wrong", "overrun", "empty"
KINDS = (RIGHT, PARTIAL, WRONG, OVERRUN, EMPTY)


class Proposer(Protocol):
    name: str

    def propose(self, prefix: str, suffix: str, language: str) -> str:
        """Proposal C1 for a cursor between `prefix` and `suffix` ("" = suggest nothing)."""
        ...


@dataclass(frozen=True)
class Foresight:
    """What the developer will write at a request: its atomic unit, and the region's rest beyond it."""

    unit: str
    after_unit: str
    # Lines of the file, for plausible wrong proposals.
    lines: list[str]


class NoisyOracle:
    """Deterministic given its random source; `last_kind` says what the last proposal was."""

    name = "noisy-oracle"

    def __init__(self, config: SimulateConfig, rng: random.Random) -> None:
        rates = dict(config.proposal)
        self._kinds = list(rates)
        self._weights = list(rates.values())
        self._rng = rng
        self._foresight: Foresight | None = None
        self.last_kind: str | None = None

    def foresee(self, foresight: Foresight) -> None:
        self._foresight = foresight

    def propose(self, prefix: str, suffix: str, language: str) -> str:
        assert self._foresight is not None, "the oracle proposes only what it was told to foresee"
        sight, rng = self._foresight, self._rng
        kind = rng.choices(self._kinds, self._weights)[0]
        self.last_kind = kind
        if kind == RIGHT:
            return sight.unit
        if kind == EMPTY:
            return ""
        if kind == OVERRUN:
            # Past the unit: the next lines of the region, or (at its end) a repeat of the suffix.
            beyond = sight.after_unit or suffix
            extra = "\n".join(beyond.split("\n")[: rng.randint(2, 4)])[:400]
            return sight.unit + (extra or "\n")
        wrong = self._other_line(sight)
        if kind == PARTIAL:
            tokens = TOKEN.findall(sight.unit)
            keep = rng.randint(1, max(1, len(tokens) - 1))
            return "".join(tokens[:keep]) + wrong
        return wrong

    def _other_line(self, sight: Foresight) -> str:
        """A line of the same file that is not the unit: plausible-looking, but wrong here."""
        for _ in range(8):
            line = self._rng.choice(sight.lines).strip() if sight.lines else ""
            if line and line != sight.unit.strip():
                return line
        return "pass"
