"""What a job says on the console: each stage when it starts and how long it took (stderr), and
the summary at its end (stdout)."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator


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


class RowProgress:
    """Rows done of a long stage, said on stderr at most every `every_s` seconds: rows done, rows/s
    and the time left at that rate. Thread-safe: the engine's tasks report from their own threads."""

    def __init__(self, label: str, total: int, every_s: float = 10.0, clock=time.monotonic, out=None):
        import threading

        self.label, self.total, self.every_s, self.clock = label, total, every_s, clock
        self.out = out
        self.done = 0
        self.started = self.last = clock()
        self._lock = threading.Lock()

    def add(self, rows: int) -> str | None:
        """Count `rows` more; returns the line when one was printed."""
        with self._lock:
            self.done += rows
            now = self.clock()
            if now - self.last < self.every_s and self.done < self.total:
                return None
            self.last = now
            line = self.line(now)
        print(line, file=self.out or sys.stderr, flush=True)
        return line

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        left = max(self.total - self.done, 0) / rate if rate > 0 else float("inf")
        eta = f"{left:.0f}s left" if left != float("inf") else "time left unknown"
        return f"[{self.label}] {self.done:,}/{self.total:,} rows, {rate:,.0f} rows/s, {eta}"


_row_progress: dict[str, RowProgress] = {}


def row_progress(token: str, label: str, total: int, every_s: float = 10.0) -> RowProgress:
    """This process's progress of the stage run `token` (UDF bodies are shipped pickled: they find
    their counter by name). On an engine with executor processes each one counts its own rows."""
    tracker = _row_progress.get(token)
    if tracker is None:
        tracker = _row_progress.setdefault(token, RowProgress(label, total, every_s))
    return tracker


@dataclass(frozen=True)
class Summary:
    """A job's end-of-run summary: a (measure, value) table, then lines of free text."""

    title: str
    rows: list[tuple[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def print_summary(summary: Summary) -> None:
    """The one way every job prints its summary (stdout: a command's output)."""
    if summary.rows:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=summary.title, show_header=True)
        table.add_column("measure")
        table.add_column("value", justify="right")
        for name, value in summary.rows:
            table.add_row(name, f"{value:.4f}" if isinstance(value, float) else str(value))
        Console().print(table)
    for line in summary.notes:
        print(line, flush=True)
