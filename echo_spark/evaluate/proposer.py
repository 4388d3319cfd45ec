"""A FIM model as the simulator's proposer: the production model of a simulation, or the candidate
an evaluation replays.

The simulator asks any `Proposer` for C1 given the windows a completion server sees; a model
completes the middle greedily. A proposal of only whitespace is silence, as editors show it: a
client does not render a ghost text of blanks, so the developer sees nothing to accept.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

class Completer(Protocol):
    def complete(self, prefix: str, suffix: str | None, max_new_tokens: int = 64) -> str:
        """The middle between prefix and suffix ("" = nothing belongs there)."""
        ...

    def complete_batch(
        self, prefixes: Sequence[str], suffixes: Sequence[str | None], max_new_tokens: int = 64, batch_size: int = 16
    ) -> list[str]:
        """`complete` for many gaps at once."""
        ...


def shown(middle: str) -> str:
    return middle if middle.strip() else ""


@dataclass
class ModelProposer:
    """Satisfies `echo_spark.simulate.proposer.Proposer`."""

    name: str
    model: Completer
    max_new_tokens: int = 32
    batch_size: int = 64

    def propose(self, prefix: str, suffix: str, language: str) -> str:
        return shown(self.model.complete(prefix, suffix, self.max_new_tokens))

    def propose_many(
        self, prefixes: Sequence[str], suffixes: Sequence[str], on_progress: Callable[[int, int], None] | None = None
    ) -> list[str]:
        """What `propose` gives for each gap, batched (an evaluation knows every request up front)."""
        out: list[str] = []
        for start in range(0, len(prefixes), self.batch_size):
            end = start + self.batch_size
            middles = self.model.complete_batch(prefixes[start:end], suffixes[start:end], self.max_new_tokens, self.batch_size)
            out += [shown(m) for m in middles]
            if on_progress:
                on_progress(len(out), len(prefixes))
        return out

    def for_sessions(self) -> Callable[[random.Random], ModelProposer]:
        """`simulate(make_proposer=...)`: every session shares the one loaded model (it draws nothing
        from the session's random source, being greedy)."""
        return lambda _rng: self
