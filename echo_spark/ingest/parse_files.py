"""Landing file bytes -> staged rows: every line becomes a typed event or a quarantine verdict.

Pure Python (no Spark): the Spark wiring feeds it (path, content) pairs inside `mapInArrow`.
"""

from __future__ import annotations

import hashlib
from typing import Any, Iterator

from ..telemetry.landing import UnreadableFile, iter_lines
from ..telemetry.parse import UNREADABLE_FILE, ParseLimits, Quarantined, parse_line


def _quarantine_row(source: str, line: int, verdict: Quarantined, raw: str) -> dict[str, Any]:
    return {
        "source_file": source,
        "source_line": line,
        "event_id": verdict.event_id,
        "quarantine_reason": verdict.reason,
        "quarantine_detail": verdict.detail,
        "raw": raw,
    }


# `source_line` of the one summary row that `parse_landing_file` adds after a file's lines.
FILE_ROW = -1


def read_bytes(path: str) -> bytes | OSError:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as err:
        return err


def parse_landing_file(
    source: str, content: bytes | OSError, size: int | None, mtime_us: int | None, limits: ParseLimits
) -> Iterator[dict[str, Any]]:
    """`parse_file`'s line rows, then one summary row of the file (source_line FILE_ROW): the
    SHA-256 of its bytes as stored, its size and modification time as listed, and its line and
    quarantine counts. A file that cannot be opened is one unreadable_file line and no digest."""
    lines = quarantined = 0
    if isinstance(content, OSError):
        reason = type(content).__name__ if content.errno is None else f"{type(content).__name__} errno {content.errno}"
        rows: Iterator[dict[str, Any]] = iter([_quarantine_row(source, 0, Quarantined(UNREADABLE_FILE, f"read: {reason}"), "")])
        digest = None
    else:
        rows = parse_file(source, content, limits)
        digest = hashlib.sha256(content).hexdigest()
    for row in rows:
        lines += 1
        quarantined += row.get("quarantine_reason") is not None
        yield row
    yield {
        "source_file": source,
        "source_line": FILE_ROW,
        "file_sha256": digest,
        "file_size": size,
        "file_mtime_us": mtime_us,
        "file_lines": lines,
        "file_quarantined": quarantined,
    }


def parse_file(source: str, content: bytes, limits: ParseLimits) -> Iterator[dict[str, Any]]:
    """One staged row per line of the file (one row for a file that cannot be read at all)."""
    try:
        for line in iter_lines(content):
            parsed = parse_line(line.data, line.complete, limits)
            if isinstance(parsed, Quarantined):
                raw = line.data.decode("utf-8", errors="backslashreplace")
                yield _quarantine_row(source, line.number, parsed, raw)
            else:
                parsed["source_file"] = source
                parsed["source_line"] = line.number
                yield parsed
    except UnreadableFile as err:
        yield _quarantine_row(source, 0, Quarantined(UNREADABLE_FILE, str(err)[:200]), "")
