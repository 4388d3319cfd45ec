"""Transport faults: what at-least-once delivery from a fleet of clients does to the logs.

Each client draws its faults from a random source of its own, so turning a fault rate up or down
changes the delivery of the events but never what the simulated developers did.
"""

from __future__ import annotations

import random

from ..config import SimulateConfig


class Faults:
    def __init__(self, config: SimulateConfig, rng: random.Random) -> None:
        self.config = config
        self.rng = rng

    def clock_skew_s(self) -> float:
        """Per session: how far the client clock is off (0 for most sessions)."""
        if self.rng.random() < self.config.clock_skew_rate:
            return self.rng.uniform(-self.config.clock_skew_max_s, self.config.clock_skew_max_s)
        return 0.0

    def duplicate(self) -> bool:
        return self.rng.random() < self.config.duplicate_rate

    def duplicate_in_same_file(self) -> bool:
        """A duplicate is a retry within the same upload, or of an upload whose ack was lost."""
        return self.rng.random() < 0.5

    def delay(self) -> bool:
        return self.rng.random() < self.config.delay_rate

    def truncate(self) -> bool:
        return self.rng.random() < self.config.truncate_rate

    def cut(self, line: bytes) -> bytes:
        """The line cut inside it, on a character boundary: a proper prefix of a JSON object."""
        text = line.decode("utf-8")
        return text[: self.rng.randrange(1, len(text))].encode("utf-8")
