"""What every importer shares: reading source lines, ids, sessions, validation, output and the tally.

An importer only says what one source line means (`Converted` events, a skip or a quarantine);
this module turns that into telemetry v1 the same way for every tool:

- Event ids are uuid5 of (format, source file name, line number, line digest, role). The name and
  not the path, so that re-importing the same file from another folder gives the same ids (ingest
  dedups on event_id); the digest, so that two machines' `autocomplete.jsonl` gathered side by side
  never share an id unless the lines are the same event.
- Sessions: the tools log none, so a session is a run of one user's events, over all the files of
  one import, with no gap longer than `importers.session_gap_minutes`. It gets a `session_start`
  (client name, utf-16 position encoding: both tools count like VS Code) and a `session_end`, and
  its events a `seq`. Over all files and not per file, because Tabby switches files at UTC midnight
  and a completion's view or dismiss must stay in the completion's session; each event is still
  written to the output of the file its source line came from.
- Every produced event is checked with the ingest parser before it is written; a line whose events
  do not pass is quarantined whole, so the output is valid telemetry v1 by construction.
- Output: one gzip JSON Lines file per source file, gzip mtime 0 and sorted keys, so the same input
  gives the same bytes. Quarantine: `OUT/_quarantine/<output stem>.jsonl` (ingest skips `_` folders).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..errors import UsageError
from ..progress import Summary
from ..telemetry.landing import UnreadableFile, iter_lines
from ..telemetry.parse import (
    EMPTY_LINE,
    INVALID_JSON,
    INVALID_UTF8,
    NOT_AN_OBJECT,
    TRUNCATED_LINE,
    UNREADABLE_FILE,
    ParseLimits,
    Quarantined,
    parse_line,
)

NAMESPACE = uuid.UUID("6f0c1d2e-8a53-5b7e-9c41-3e2a7d9b0f15")  # fixed: ids must survive releases
QUARANTINE_DIR = "_quarantine"

# Quarantine reasons of the importers, beside the parser's own codes.
MISSING_FIELD = "missing_field"
WRONG_TYPE = "wrong_type"
UNKNOWN_EVENT_KIND = "unknown_event_kind"


def epoch_ms(value: Any) -> int | None:
    """RFC 3339 string or epoch milliseconds -> epoch milliseconds; None when neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)  # JS toISOString always ends in Z; be lenient
        return int(parsed.timestamp() * 1000)
    return None


@dataclass(frozen=True)
class SourceLine:
    path: Path
    number: int
    data: bytes

    def event_id(self, fmt: str, role: str) -> str:
        digest = hashlib.sha256(self.data).hexdigest()[:32]
        return str(uuid.uuid5(NAMESPACE, f"{fmt}\n{self.path.name}\n{self.number}\n{digest}\n{role}"))


@dataclass
class Converted:
    """The telemetry events one source line becomes (no session_id/seq yet: sessions come later)."""

    line: SourceLine
    user: str
    events: list[dict[str, Any]]  # each with event_id, type and an integer `ts` (epoch ms)
    client_version: str | None = None


@dataclass(frozen=True)
class Verdict:
    """A line not converted: skipped on purpose (known, out of scope) or quarantined (unreadable)."""

    line: int
    reason: str
    detail: str | None = None
    raw: bytes = b""


class LineError(Exception):
    """Raised by a converter for a line it cannot map: the line is quarantined with this reason."""

    def __init__(self, reason: str, detail: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass
class Conversion:
    lines_read: int = 0  # counted by the reader, so the tally's balance is a real check
    converted: list[Converted] = field(default_factory=list)
    skipped: list[Verdict] = field(default_factory=list)
    quarantined: list[Verdict] = field(default_factory=list)


def read_json_lines(path: Path) -> Iterator[tuple[SourceLine, dict[str, Any] | Verdict]]:
    """Each line of a (possibly gzipped) file as a JSON object, or the verdict why it is not one."""
    try:
        lines = list(iter_lines(path.read_bytes()))
    except UnreadableFile as err:
        yield SourceLine(path, 0, b""), Verdict(0, UNREADABLE_FILE, str(err)[:200])
        return
    for landing_line in lines:
        line = SourceLine(path, landing_line.number, landing_line.data)
        yield line, _json_object(landing_line.data, landing_line.complete, landing_line.number)


def _json_object(data: bytes, complete: bool, number: int) -> dict[str, Any] | Verdict:
    if not data.strip():
        return Verdict(number, EMPTY_LINE)
    try:
        obj = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        return Verdict(number, INVALID_UTF8, f"byte {err.start}", data)
    except ValueError as err:
        return Verdict(number, INVALID_JSON if complete else TRUNCATED_LINE, f"{type(err).__name__}", data)
    if not isinstance(obj, dict):
        return Verdict(number, NOT_AN_OBJECT, type(obj).__name__, data)
    return obj


def require(obj: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str = "") -> Any:
    """obj[name] of the given type, or a LineError naming the field (with its path)."""
    value = obj.get(name)
    if value is None:
        raise LineError(MISSING_FIELD, f"{where}{name}")
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise LineError(WRONG_TYPE, f"{where}{name}")
    return value


@dataclass
class Tally:
    """Per-line accounting: lines_read == converted + sum(skipped) + sum(quarantined), always."""

    files: int = 0
    lines_read: int = 0
    converted: int = 0
    skipped: Counter = field(default_factory=Counter)
    quarantined: Counter = field(default_factory=Counter)
    events_written: int = 0
    sessions: int = 0
    output_files: list[str] = field(default_factory=list)

    def balanced(self) -> bool:
        return self.lines_read == self.converted + sum(self.skipped.values()) + sum(self.quarantined.values())

    def as_metrics(self, fmt: str) -> dict[str, Any]:
        return {
            "format": fmt,
            "files": self.files,
            "lines_read": self.lines_read,
            "converted": self.converted,
            "skipped": dict(sorted(self.skipped.items())),
            "quarantined": dict(sorted(self.quarantined.items())),
            "events_written": self.events_written,
            "sessions": self.sessions,
            "output_files": self.output_files,
        }


def summary(metrics: dict[str, Any]) -> Summary:
    skipped, quarantined = metrics["skipped"], metrics["quarantined"]
    out = [
        f"import --from {metrics['format']}: {metrics['files']} file(s), {metrics['lines_read']} line(s) read"
        f" = {metrics['converted']} converted + {sum(skipped.values())} skipped"
        f" + {sum(quarantined.values())} quarantined",
    ]
    out += [f"  skipped     {reason}: {n}" for reason, n in skipped.items()]
    out += [f"  quarantined {reason}: {n}" for reason, n in quarantined.items()]
    out.append(f"  wrote {metrics['events_written']} event(s) in {metrics['sessions']} session(s)"
               f" to {len(metrics['output_files'])} file(s)")
    return Summary("import summary", notes=out)


def find_sources(src: Path, patterns: Iterable[str]) -> list[Path]:
    """SRC itself when it is a file, else every file under it matching a pattern, in name order."""
    if src.is_file():
        return [src]
    if not src.is_dir():
        raise UsageError(f"{src}: no such file or directory")
    found = sorted({p for pattern in patterns for p in src.rglob(pattern) if p.is_file()})
    if not found:
        raise UsageError(f"{src}: no file matching {', '.join(patterns)}")
    return found


def output_stem(fmt: str, src: Path, path: Path) -> str:
    """`continue-0.2.0_autocomplete`: the format and the path under SRC, safe as one file name."""
    rel = path.name if src.is_file() else path.relative_to(src).as_posix()
    rel = re.sub(r"(\.jsonl?)?(\.gz)?$", "", rel)
    return f"{fmt}-" + re.sub(r"[^A-Za-z0-9._-]+", "_", rel).strip("_")


def sessionize(
    fmt: str, client_name: str, converted: list[Converted], gap_ms: float
) -> tuple[list[tuple[Path, dict[str, Any]]], int]:
    """Sessions and seq for all converted lines of a run, with session_start/end added.

    Returns (source file, event) pairs in output order, and the number of sessions.
    """
    by_user: dict[str, list[Converted]] = {}
    for item in sorted(converted, key=lambda c: (_first_ts(c), str(c.line.path), c.line.number)):
        by_user.setdefault(item.user, []).append(item)
    sessions: list[list[Converted]] = []
    for items in by_user.values():
        current: list[Converted] = []
        last_ts = 0
        for item in items:
            if current and _first_ts(item) - last_ts > gap_ms:
                sessions.append(current)
                current = []
            current.append(item)
            last_ts = max(last_ts, *(e["ts"] for e in item.events))
        sessions.append(current)
    out: list[tuple[Path, dict[str, Any]]] = []
    for items in sorted(sessions, key=lambda s: (_first_ts(s[0]), s[0].user)):
        out.extend(_session_events(fmt, client_name, items))
    return out, len(sessions)


def _first_ts(item: Converted) -> int:
    return min(e["ts"] for e in item.events)


def _session_events(fmt: str, client_name: str, items: list[Converted]) -> list[tuple[Path, dict[str, Any]]]:
    body = sorted(
        ((e["ts"], str(item.line.path), item.line.number, i, item.line.path, e)
         for item in items for i, e in enumerate(item.events)),
        key=lambda t: t[:4],
    )
    first, last = items[0], max(items, key=lambda c: (max(e["ts"] for e in c.events), str(c.line.path), c.line.number))
    start_id = first.line.event_id(fmt, "session_start")
    client: dict[str, str] = {"name": client_name}
    version = next((item.client_version for item in items if item.client_version), None)
    if version:
        client["version"] = version
    start = {"event_id": start_id, "type": "session_start", "ts": body[0][0], "client": client,
             "position_encoding": "utf-16"}
    end = {"event_id": last.line.event_id(fmt, "session_end"), "type": "session_end", "ts": body[-1][0]}
    pairs = [(first.line.path, start), *((path, e) for *_, path, e in body), (last.line.path, end)]
    session_id = str(uuid.uuid5(NAMESPACE, start_id))
    for seq, (_path, event) in enumerate(pairs, start=1):
        event.update(session_id=session_id, user_id=first.user, seq=seq)
    return pairs


def invalid_event(converted: Converted, limits: ParseLimits) -> Quarantined | None:
    """The first event of the line that the ingest parser would quarantine, if any."""
    for event in converted.events:
        probe = {**event, "session_id": "probe", "user_id": converted.user, "seq": 1}
        verdict = parse_line(dumps(probe), True, limits)
        if isinstance(verdict, Quarantined):
            return verdict
    return None


def dumps(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def write_gzip_lines(path: Path, lines: Iterable[bytes]) -> None:
    """Deterministic gzip: mtime 0 and no file name in the header, so equal input -> equal bytes."""
    payload = b"".join(line + b"\n" for line in lines)
    path.write_bytes(gzip.compress(payload, compresslevel=6, mtime=0))


def write_quarantine(out: Path, stem: str, source: Path, verdicts: list[Verdict]) -> Path | None:
    """`OUT/_quarantine/<stem>.jsonl`, one record per quarantined line; removed when none is left."""
    path = out / QUARANTINE_DIR / f"{stem}.jsonl"
    if not verdicts:
        path.unlink(missing_ok=True)
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    records = (
        dumps({
            "source_file": str(source),
            "source_line": v.line,
            "reason": v.reason,
            "detail": v.detail,
            "raw": v.raw.decode("utf-8", errors="backslashreplace"),
        })
        for v in verdicts
    )
    path.write_bytes(b"".join(r + b"\n" for r in records))
    return path
