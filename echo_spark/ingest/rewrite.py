"""Landing files rewritten without some of their lines (an erased user's), atomically.

Pure Python (no Spark). A rewrite is prepared first: the new content goes to a hidden temporary
file next to the original (a name starting with '.', which no landing listing picks up), fsynced,
and its size, modification time and digest are known before anything is renamed. The caller
records that signature (in `landing_files`) and only then commits, which renames the temporary
file over the original (atomic on one filesystem) and fsyncs the folder. A crash at any point
leaves either the original or the rewritten file whole, never half of one; a crash between the
record and the rename leaves the original with a signature no run has recorded, so the next
ingest reads it again and removes the same lines again.

Line numbers are `iter_lines`'s: 1-based over the decompressed bytes split on b"\\n", a last piece
without newline counting as a line. A gzip file is written back as gzip (one member).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from ..durable import fsync_dir
from ..telemetry.landing import GZIP_MAGIC, UnreadableFile, decompress

TEMP_MARK = ".erasing-"


@dataclass(frozen=True)
class PreparedRewrite:
    path: str
    temp: str
    size: int
    mtime_us: int
    sha256: str
    removed: int
    kept: int

    def commit(self) -> None:
        os.replace(self.temp, self.path)
        fsync_dir(Path(self.path).parent)

    def abandon(self) -> None:
        Path(self.temp).unlink(missing_ok=True)


def commit_after(prepared: list[PreparedRewrite], record: Callable[[], object]) -> None:
    """Rename every prepared file into place once `record` (the new versions written to
    `landing_files`) has succeeded; if it fails, the originals stay and the temporary files go."""
    try:
        record()
    except BaseException:
        for rewrite in prepared:
            rewrite.abandon()
        raise
    for rewrite in prepared:
        rewrite.commit()


def split_lines(text: bytes) -> list[bytes]:
    """The file's lines with their line endings, numbered as iter_lines numbers them (index + 1)."""
    pieces = text.split(b"\n")
    last = pieces.pop()
    lines = [piece + b"\n" for piece in pieces]
    if last:
        lines.append(last)
    return lines


def prepare_rewrite(path: str, drop: Callable[[int, bytes], bool], expected_sha256: str | None = None) -> PreparedRewrite | None:
    """Write `path` without the lines for which drop(number, line) is true to a temporary file.

    None when no line is dropped, when the file cannot be read, or when its bytes no longer have
    `expected_sha256` (it changed since it was read: the next ingest sees the new signature)."""
    source = Path(path)
    try:
        content = source.read_bytes()
    except OSError:
        return None
    if expected_sha256 is not None and hashlib.sha256(content).hexdigest() != expected_sha256:
        return None
    try:
        text, _complete = decompress(content)
    except UnreadableFile:
        return None
    kept: list[bytes] = []
    removed = 0
    for number, line in enumerate(split_lines(text), start=1):
        if drop(number, line.rstrip(b"\n").removesuffix(b"\r")):
            removed += 1
        else:
            kept.append(line)
    if not removed:
        return None
    body = b"".join(kept)
    if content.startswith(GZIP_MAGIC) and body:
        body = gzip.compress(body, mtime=0)
    for stale in source.parent.glob(f".{source.name}{TEMP_MARK}*"):
        stale.unlink(missing_ok=True)  # left by a rewrite that crashed before its rename
    temp = source.parent / f".{source.name}{TEMP_MARK}{uuid.uuid4().hex[:12]}"
    with open(temp, "wb") as fh:
        fh.write(body)
        fh.flush()
        os.fsync(fh.fileno())
    stat = temp.stat()
    return PreparedRewrite(
        path=str(source), temp=str(temp), size=stat.st_size, mtime_us=stat.st_mtime_ns // 1000,
        sha256=hashlib.sha256(body).hexdigest(), removed=removed, kept=len(kept),
    )


def rewrite_without_lines(path: str, numbers: Iterable[int], expected_sha256: str | None = None) -> PreparedRewrite | None:
    wanted = frozenset(numbers)
    return prepare_rewrite(path, lambda number, _line: number in wanted, expected_sha256)


_FIELD = {name: re.compile(rb'"' + name.encode() + rb'"\s*:\s*"((?:[^"\\]|\\.)*)"') for name in ("user_id", "session_id")}


def line_subject(line: bytes) -> tuple[str | None, str | None]:
    """(user_id, session_id) of a landing line: from its JSON, or, for a line that does not parse
    (cut, invalid), from the first `"user_id": "..."` / `"session_id": "..."` found in it."""
    try:
        event = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        event = None
    if isinstance(event, dict):
        user, session = event.get("user_id"), event.get("session_id")
        return (user if isinstance(user, str) else None, session if isinstance(session, str) else None)
    found = []
    for name in ("user_id", "session_id"):
        match = _FIELD[name].search(line)
        try:
            found.append(json.loads(b'"' + match.group(1) + b'"') if match else None)
        except ValueError:
            found.append(None)
    return found[0], found[1]


def read_text(path: str) -> bytes | None:
    """The decompressed bytes of a landing file, or None if it cannot be read."""
    try:
        return decompress(Path(path).read_bytes())[0]
    except (OSError, UnreadableFile):
        return None
