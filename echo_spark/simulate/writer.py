"""Landing files as a fleet uploads them: per client, a gzip JSON Lines file per batch of events.

A client uploads when its batch is full and when a session ends, into
`landing/<day>/<client>/<client>-<n>.jsonl.gz`. Transport faults are applied here: an event held
back travels with the upload after next (out of order across files), a duplicate goes into the
same file or the next one, and a file cut inside its last line (no final newline) has that event
sent again with the next upload. Gzip is written with mtime 0: same lines, same bytes.
"""

from __future__ import annotations

import gzip
import time
from dataclasses import dataclass, field
from pathlib import Path

from .faults import Faults

LANDING_DIR = "landing"


@dataclass
class LandingStats:
    files: int = 0
    lines: int = 0
    bytes: int = 0
    duplicated: int = 0
    delayed: int = 0
    truncated_files: int = 0


class LandingWriter:
    def __init__(self, out: Path) -> None:
        self.root = out / LANDING_DIR
        self.stats = LandingStats()

    def write(self, client_id: str, number: int, true_s: float, lines: list[bytes], cut_tail: bytes | None) -> None:
        day = time.strftime("%Y-%m-%d", time.gmtime(true_s))
        folder = self.root / day / client_id
        folder.mkdir(parents=True, exist_ok=True)
        payload = b"".join(line + b"\n" for line in lines) + (cut_tail or b"")
        content = gzip.compress(payload, compresslevel=6, mtime=0)
        (folder / f"{client_id}-{number:05d}.jsonl.gz").write_bytes(content)
        self.stats.files += 1
        self.stats.lines += len(lines) + (1 if cut_tail else 0)
        self.stats.bytes += len(content)
        self.stats.truncated_files += 1 if cut_tail else 0


@dataclass
class ClientUploader:
    """One client's upload queue."""

    client_id: str
    writer: LandingWriter
    faults: Faults
    batch_events: int
    uploads: int = 0
    _buffer: list[bytes] = field(default_factory=list)
    _next: list[bytes] = field(default_factory=list)  # goes with the next upload
    _after_next: list[bytes] = field(default_factory=list)  # held back: the upload after that
    _last_s: float = 0.0

    def add(self, line: bytes, true_s: float) -> None:
        self._last_s = true_s
        stats = self.writer.stats
        if self.faults.delay():
            self._after_next.append(line)
            stats.delayed += 1
        else:
            self._buffer.append(line)
        if self.faults.duplicate():
            (self._buffer if self.faults.duplicate_in_same_file() else self._next).append(line)
            stats.duplicated += 1
        if len(self._buffer) >= self.batch_events:
            self.upload()

    def upload(self) -> None:
        lines = self._next + self._buffer
        self._buffer, self._next, self._after_next = [], self._after_next, []
        if not lines:
            return
        cut_tail = None
        if self.faults.truncate():
            self._next.append(lines[-1])  # never acknowledged: sent again
            cut_tail = self.faults.cut(lines.pop())
        self.uploads += 1
        self.writer.write(self.client_id, self.uploads, self._last_s, lines, cut_tail)

    def finish(self) -> None:
        """Last upload of the run: everything still queued, delivered whole."""
        lines = self._next + self._after_next + self._buffer
        self._buffer, self._next, self._after_next = [], [], []
        if lines:
            self.uploads += 1
            self.writer.write(self.client_id, self.uploads, self._last_s, lines, None)
