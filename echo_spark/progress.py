"""Progress lines for long jobs: each stage says when it starts and how long it took."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Iterator


class StageClock:
    def __init__(self, job: str):
        self.job = job
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        print(f"[{self.job}] {name} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        yield
        elapsed = time.perf_counter() - start
        self.timings[name] = round(elapsed, 3)
        print(f"[{self.job}] {name} done in {elapsed:.1f}s", file=sys.stderr, flush=True)
