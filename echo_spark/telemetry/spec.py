"""The telemetry v1 contract as data: which types exist and which fields each one needs.

Kept as plain tables so the parser, the simulator and the importers share one reading of the spec.
"""

from __future__ import annotations

COMMON_REQUIRED = ("event_id", "type", "ts", "session_id")

DOCUMENT_TYPES = frozenset({"doc_open", "doc_change", "cursor", "doc_save", "doc_close"})
COMPLETION_TYPES = frozenset(
    {"completion_request", "completion_shown", "completion_accept", "completion_reject"}
)
SESSION_TYPES = frozenset({"session_start", "session_end"})
EVENT_TYPES = DOCUMENT_TYPES | COMPLETION_TYPES | SESSION_TYPES

# Fields a type cannot do without, beyond COMMON_REQUIRED (doc_id on every document and completion event).
REQUIRED_BY_TYPE: dict[str, tuple[str, ...]] = {
    "session_start": (),
    "session_end": (),
    "doc_open": ("doc_id", "text"),
    "doc_change": ("doc_id",),  # plus `changes` or `text`, checked apart
    "cursor": ("doc_id", "offset"),
    "doc_save": ("doc_id",),
    "doc_close": ("doc_id",),
    "completion_request": ("doc_id", "request_id", "offset"),
    "completion_shown": ("doc_id", "request_id", "text"),
    "completion_accept": ("doc_id", "request_id"),
    "completion_reject": ("doc_id", "request_id"),
}

STRING_FIELDS = (
    "event_id",
    "type",
    "session_id",
    "user_id",
    "doc_id",
    "language",
    "text",
    "request_id",
    "prefix",
    "suffix",
    "trigger",
    "model",
    "reason",
    "position_encoding",
)
# Integer fields, and whether a negative value is meaningless (and so quarantined).
INT_FIELDS: dict[str, bool] = {
    "seq": True,
    "version": False,
    "offset": True,
    "selection_end": True,
    "accepted_length": True,
}
KNOWN_FIELDS = frozenset(STRING_FIELDS) | frozenset(INT_FIELDS) | {"ts", "client", "changes"}

POSITION_ENCODINGS = frozenset({"utf-16", "utf-8", "utf-32"})
DEFAULT_POSITION_ENCODING = "utf-16"
TRIGGERS = frozenset({"auto", "manual"})
REJECT_REASONS = frozenset({"dismissed", "typed_over", "escaped", "timeout"})
