"""Small builders for hand-written event streams: one document, one session, times in seconds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from echo_spark.config import LifecycleConfig
from echo_spark.lifecycle import DocumentResult, SessionFacts, track_document

T0_US = 1_700_000_000_000_000


@dataclass
class Stream:
    """Appends bronze-like rows with increasing seq; `at` is seconds after T0."""

    doc_id: str = "main.py"
    session_id: str = "s1"
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, type_: str, at: float, **fields: Any) -> dict[str, Any]:
        row = {
            "event_id": f"e{len(self.rows) + 1}",
            "type": type_,
            "ts": T0_US + round(at * 1_000_000),
            "seq": len(self.rows) + 1,
            "session_id": self.session_id,
            "doc_id": self.doc_id,
            **fields,
        }
        self.rows.append(row)
        return row

    def open(self, at: float, text: str) -> None:
        self.add("doc_open", at, text=text, version=1)

    def change(self, at: float, offset: int, length: int, text: str) -> dict[str, Any]:
        return self.add("doc_change", at, changes=[{"offset": offset, "length": length, "text": text}])

    def type_at(self, at: float, offset: int, text: str) -> None:
        """A change inserting `text` at `offset`, and the cursor after it."""
        self.change(at, offset, 0, text)
        self.add("cursor", at, offset=offset + len(text))

    def request(self, at: float, rid: str, offset: int | None = None, **fields: Any) -> dict[str, Any]:
        return self.add("completion_request", at, request_id=rid, offset=offset, **fields)

    def shown(self, at: float, rid: str, text: str) -> None:
        self.add("completion_shown", at, request_id=rid, text=text, model="m")

    def verdict(self, at: float, rid: str, accepted: bool, accepted_length: int | None = None) -> None:
        if accepted:
            self.add("completion_accept", at, request_id=rid, accepted_length=accepted_length)
        else:
            self.add("completion_reject", at, request_id=rid, reason="dismissed")

    def track(
        self, session_end_at: float | None = None, encoding: str = "utf-16", **config: Any
    ) -> DocumentResult:
        end = None if session_end_at is None else T0_US + round(session_end_at * 1_000_000)
        session = SessionFacts(self.session_id, "u1", encoding, end)
        return track_document(self.rows, session, LifecycleConfig(**config))


def by_request(result: DocumentResult) -> dict[str, Any]:
    return {c.request_id: c for c in result.completions}
