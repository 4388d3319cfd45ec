"""Rotating landing files: nothing acknowledged is lost, and ingest only ever sees closed files.

- Lines are appended to `collect-<UTC time>-<n>-<random>.jsonl.open`. Ingest's patterns (`*.jsonl`,
  `*.jsonl.gz`) never match that name, so a half-written file is never read.
- One append is the whole accepted body, written and then `fdatasync`ed before `append` returns;
  the server answers 200 only after that. A failed write is cut back to the previous size, so a
  disk-full error cannot leave half a line in the middle of the file.
- A file is closed when it reaches `rotate_bytes` or `rotate_seconds`: synced, renamed to `.jsonl`,
  and the folder synced so that the rename itself survives a crash.
- After a crash (SIGKILL, power loss) the next start closes every leftover `.open` file. Its tail
  after the last newline can only come from a write that was never acknowledged, so it is cut off;
  whole lines of an unacknowledged body may stay, and the client's resend then delivers them twice,
  which ingest's dedup by `event_id` absorbs (at-least-once, as the telemetry spec allows).
- One collector per folder (an exclusive `flock` on `.collector.lock`): recovery must never close
  a file that a live collector is still writing.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..durable import fsync_dir
from ..errors import UsageError

OPEN_SUFFIX = ".jsonl.open"
LOCK_NAME = ".collector.lock"


class LandingClosed(RuntimeError):
    """The collector is shutting down; the caller must not acknowledge."""


@dataclass(frozen=True)
class RotationPolicy:
    max_bytes: int
    max_seconds: float


@dataclass(frozen=True)
class Recovered:
    path: Path  # the closed .jsonl (or the removed .open file when nothing was left)
    cut_bytes: int  # bytes of a partial last line removed


def finalize(open_path: Path) -> Recovered:
    """Close a leftover `.open` file: cut any partial last line, sync, rename to `.jsonl`."""
    closed = open_path.with_name(open_path.name[: -len(OPEN_SUFFIX)] + ".jsonl")
    with open(open_path, "r+b") as fh:
        data = fh.read()
        keep = data.rfind(b"\n") + 1
        if keep < len(data):
            fh.truncate(keep)
        os.fsync(fh.fileno())
    if keep == 0:
        open_path.unlink()
        fsync_dir(open_path.parent)
        return Recovered(open_path, len(data))
    os.replace(open_path, closed)
    fsync_dir(closed.parent)
    return Recovered(closed, len(data) - keep)


class RotatingLanding:
    """Thread-safe appender of whole-line bodies into rotating files of one landing folder."""

    def __init__(self, root: Path, policy: RotationPolicy, clock: Callable[[], float] = time.monotonic):
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.policy = policy
        self._clock = clock
        self._lock_fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise UsageError(f"{root}: another collector is writing to this landing folder") from None
        self.recovered = [finalize(p) for p in sorted(root.glob(f"*{OPEN_SUFFIX}"))]
        self.files_closed = 0
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._path: Path | None = None
        self._size = 0
        self._opened_at = 0.0
        self._closed = False

    def append(self, data: bytes) -> None:
        """Write whole lines durably; returns only once they are on disk."""
        if not data.endswith(b"\n"):
            raise ValueError("append takes whole lines")
        with self._lock:
            if self._closed:
                raise LandingClosed()
            if self._fd is None:
                self._open()
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(self._fd, view):]
                os.fdatasync(self._fd)
            except OSError:
                os.ftruncate(self._fd, self._size)  # no half body left behind a failed write
                raise
            self._size += len(data)
            if self._size >= self.policy.max_bytes:
                self._close_file()

    def rotate_if_due(self) -> None:
        """Close the current file when it is old enough (called on the server's idle ticks)."""
        with self._lock:
            if self._fd is not None and self._clock() - self._opened_at >= self.policy.max_seconds:
                self._close_file()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            if self._fd is not None:
                self._close_file()
            self._closed = True
            os.close(self._lock_fd)  # releases the flock

    def _open(self) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        number = self.files_closed + 1  # names sort in write order; the random part keeps restarts apart
        self._path = self.root / f"collect-{stamp}-{number:06d}-{uuid.uuid4().hex[:8]}{OPEN_SUFFIX}"
        self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        fsync_dir(self.root)  # the new name must survive a crash before its first acknowledgement
        self._size = 0
        self._opened_at = self._clock()

    def _close_file(self) -> None:
        assert self._fd is not None and self._path is not None
        os.fsync(self._fd)
        os.close(self._fd)
        os.replace(self._path, self._path.with_name(self._path.name[: -len(OPEN_SUFFIX)] + ".jsonl"))
        fsync_dir(self.root)
        self._fd, self._path = None, None
        self.files_closed += 1
