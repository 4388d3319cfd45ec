"""Telemetry v1 events as one client writes them: ids, per-session seq, its clock, its time format.

Ids are uuid5 of the run's namespace (from the seed) and the session's counter, so a rerun makes
the same ids. Keys are written in one fixed order and serialized compactly; `ts` is the client's
clock (skewed when the session drew a skew), as RFC 3339 with the client's UTC offset or as epoch
milliseconds depending on the client.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def run_namespace(seed: int) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"echo-spark/simulate/{seed}")


def rfc3339(ms: int, utc_offset_min: int) -> str:
    """`ms` epoch milliseconds as local time at `utc_offset_min` with its offset ("Z" for UTC)."""
    secs, millis = divmod(ms, 1000)
    tm = time.gmtime(secs + utc_offset_min * 60)
    if utc_offset_min:
        sign = "+" if utc_offset_min > 0 else "-"
        hours, minutes = divmod(abs(utc_offset_min), 60)
        zone = f"{sign}{hours:02d}:{minutes:02d}"
    else:
        zone = "Z"
    return (
        f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}T"
        f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}.{millis:03d}{zone}"
    )


@dataclass(frozen=True)
class ClientClock:
    skew_s: float  # added to true time
    epoch_ms: bool  # ts as an integer, else RFC 3339
    utc_offset_min: int

    def stamp(self, true_s: float) -> int | str:
        ms = round((true_s + self.skew_s) * 1000)
        return ms if self.epoch_ms else rfc3339(ms, self.utc_offset_min)


class Emitter:
    """One session's event stream; hands each serialized line to `sink(line, true_s)`."""

    def __init__(
        self,
        namespace: uuid.UUID,
        session_id: str,
        user_id: str,
        clock: ClientClock,
        sink: Callable[[bytes, float], None],
    ) -> None:
        self._namespace = namespace
        self.session_id = session_id
        self.user_id = user_id
        self._clock = clock
        self._sink = sink
        self.seq = 0

    def emit(self, event_type: str, true_s: float, doc: tuple[str, str] | None = None, **fields: Any) -> None:
        """`doc` is (doc_id, language) on document and completion events."""
        self.seq += 1
        event: dict[str, Any] = {
            "event_id": str(uuid.uuid5(self._namespace, f"{self.session_id}/{self.seq}")),
            "type": event_type,
            "ts": self._clock.stamp(true_s),
            "session_id": self.session_id,
            "seq": self.seq,
            "user_id": self.user_id,
        }
        if doc is not None:
            event["doc_id"], event["language"] = doc
        event.update(fields)
        self._sink(_dumps(event).encode("utf-8"), true_s)
