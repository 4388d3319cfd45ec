"""The ground truth: one Parquet row per completion request, and one per document worked on.

What the pipeline can only estimate from telemetry, the simulator knows: the proposal's kind,
the developer's reaction, the atomic unit they meant to write (`intended_unit`), and C_N, the
text they left in the gap (`true_committed`, followed exactly by `gaps.GapBook`), and the part of
it that the session's telemetry could show at all (`observable_committed`). Rows are
streamed in row groups, so memory does not grow with the number of requests.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REQUESTS_FILE = "ground_truth.parquet"
DOCUMENTS_FILE = "ground_truth_documents.parquet"
# Rows per row group: a document row holds two whole files, a request row two windows.
REQUEST_ROWS_PER_GROUP = 10_000
DOCUMENT_ROWS_PER_GROUP = 200


@dataclass
class RequestTruth:
    request_id: str
    session_id: str
    user_id: str
    cohort: str
    mode: str  # edits | requests: what the session's telemetry reports
    doc_id: str
    file: str  # corpus path of the file being written
    language: str
    scenario: str  # write (top to bottom) | insert (a region inside an existing file)
    trigger_point: str  # line_start | paren | dot | equals | colon | pause | typo
    request_ts_ms: int  # true time (the client's clock may be skewed in the telemetry)
    offset: int  # UTF-16 code units, as in the request event
    prefix: str  # the windows the proposer saw (C0)
    suffix: str
    prefix_truncated: bool
    suffix_truncated: bool
    proposer: str
    proposal: str  # C1
    proposal_kind: str | None  # right | partial | wrong | overrun | empty (None: a model's proposal)
    intended_unit: str
    reaction: str  # the policy's choice: accept | accept_partial | accept_edit | reject | ignore | none
    accepted_text: str | None = None  # what went into the document on accepting (before any edit)
    edit_kind: str | None = None  # accept_edit: rename | cut_tail | change_argument
    undone: bool = False  # the accepted text was undone right away
    # The developer changed their plan after the proposal (a deliberate rename or argument
    # change of a taken proposal): intended_unit was read again from the changed plan.
    replanned: bool = False
    behaviours: set[str] = field(default_factory=set)  # noise seen while the gap was open
    true_committed: str | None = None  # C_N
    finalize_reason: str | None = None
    finalize_ts_ms: int | None = None
    # Where C_N was read: the gap's UTF-16 offset in the document as left by the session's event
    # `committed_seq` (replaying edit telemetry up to that event shows P1 + C_N + S1 there).
    committed_offset: int | None = None
    committed_seq: int | None = None
    # The gap as of the last moment a log event of the session's mode could show it before it
    # committed (edits: C_N; server logs: the last later request whose window held P1, the gap and
    # S1, or the request's own accept); None when no event ever showed it (`observable_shown` false).
    observable_committed: str | None = None
    observable_shown: bool = False


@dataclass
class DocumentTruth:
    session_id: str
    doc_id: str
    user_id: str
    cohort: str
    mode: str
    file: str
    language: str
    scenario: str
    initial_text: str  # as opened (the doc_open text in edit mode)
    final_text: str  # as left at close: what replaying every doc_change on initial_text gives
    outcome: str  # done | abandoned | budget (the event budget ran out)


def _schema(cls: type) -> pa.Schema:
    types = {
        "str": pa.string(),
        "str | None": pa.string(),
        "int": pa.int64(),
        "int | None": pa.int64(),
        "bool": pa.bool_(),
        "set[str]": pa.list_(pa.string()),
    }
    return pa.schema([pa.field(f.name, types[f.type], nullable="None" in f.type) for f in fields(cls)])


REQUEST_SCHEMA = _schema(RequestTruth)
DOCUMENT_SCHEMA = _schema(DocumentTruth)


class _TableWriter:
    def __init__(self, path: Path, schema: pa.Schema, rows_per_group: int) -> None:
        self._schema = schema
        self._rows_per_group = rows_per_group
        self._writer = pq.ParquetWriter(path, schema, compression="zstd")
        self._pending: dict[str, list] = {name: [] for name in schema.names}
        self.rows = 0

    def add(self, row: object) -> None:
        for name, column in self._pending.items():
            value = getattr(row, name)
            column.append(sorted(value) if isinstance(value, set) else value)
        self.rows += 1
        if len(self._pending[self._schema.names[0]]) >= self._rows_per_group:
            self._flush()

    def _flush(self) -> None:
        if self._pending[self._schema.names[0]]:
            self._writer.write_table(pa.table(self._pending, schema=self._schema))
            self._pending = {name: [] for name in self._schema.names}

    def close(self) -> None:
        self._flush()
        self._writer.close()


class TruthWriter:
    def __init__(self, out: Path) -> None:
        self.requests = _TableWriter(out / REQUESTS_FILE, REQUEST_SCHEMA, REQUEST_ROWS_PER_GROUP)
        self.documents = _TableWriter(out / DOCUMENTS_FILE, DOCUMENT_SCHEMA, DOCUMENT_ROWS_PER_GROUP)

    def close(self) -> None:
        self.requests.close()
        self.documents.close()
