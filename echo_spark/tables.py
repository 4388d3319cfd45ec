"""Every table of the lakehouse, defined once: name, layer, schema, partitioning, merge keys, meaning.

Jobs never spell a schema inline; they write through `Lakehouse`, which casts to these schemas first
(Sail can silently drop a column when a write's schema differs from the target's). The data
dictionary in the README is generated from the descriptions here.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql.types import (
    ArrayType,
    DataType,
    DateType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)


@dataclass(frozen=True)
class Column:
    name: str
    type: DataType
    meaning: str


@dataclass(frozen=True)
class TableDef:
    name: str
    layer: str
    meaning: str
    columns: tuple[Column, ...]
    keys: tuple[str, ...]
    partition_by: tuple[str, ...] = ()

    @property
    def schema(self) -> StructType:
        return StructType([StructField(c.name, c.type, nullable=True) for c in self.columns])

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _c(name: str, type_: DataType, meaning: str) -> Column:
    return Column(name, type_, meaning)


CHANGE_TYPE = ArrayType(
    StructType(
        [
            StructField("offset", LongType()),
            StructField("length", LongType()),
            StructField("text", StringType()),
        ]
    )
)

EVENTS = TableDef(
    name="events",
    layer="bronze",
    meaning="Every valid telemetry v1 event exactly once (deduplicated by event_id), typed.",
    keys=("event_id",),
    partition_by=("event_date",),
    columns=(
        _c("event_id", StringType(), "Unique id of the event; redeliveries share it."),
        _c("type", StringType(), "Event type (session_start, doc_change, completion_request, ...)."),
        _c("ts", TimestampType(), "Client time of the event, normalized to UTC."),
        _c("event_date", DateType(), "UTC date of ts; the partition column."),
        _c("session_id", StringType(), "One editor session of one user."),
        _c("seq", LongType(), "Client per-session counter; orders events sharing a ts."),
        _c("user_id", StringType(), "Pseudonymous user id."),
        _c("doc_id", StringType(), "Document id within the session."),
        _c("language", StringType(), "LSP language identifier."),
        _c("position_encoding", StringType(), "session_start: unit of offsets (utf-16, utf-8, utf-32)."),
        _c("client_name", StringType(), "session_start: client.name."),
        _c("client_version", StringType(), "session_start: client.version."),
        _c("version", LongType(), "Document version (doc_* events, completion_request)."),
        _c("text", StringType(), "doc_open/doc_change full text, or completion_shown proposal C1."),
        _c("changes", CHANGE_TYPE, "doc_change incremental edits, applied in list order."),
        _c("offset", LongType(), "cursor / completion_request position, in position_encoding units."),
        _c("selection_end", LongType(), "cursor: end of the selection."),
        _c("request_id", StringType(), "Completion request id (completion_* events)."),
        _c("prefix", StringType(), "completion_request: text before the cursor (may be a window); null if not logged."),
        _c("suffix", StringType(), "completion_request: text after the cursor (may be a window); null if not logged."),
        _c("trigger", StringType(), "completion_request: auto or manual."),
        _c("model", StringType(), "completion_shown: model that proposed."),
        _c("accepted_length", LongType(), "completion_accept: units accepted (partial accept); null = whole."),
        _c("reason", StringType(), "completion_reject: dismissed, typed_over, escaped, timeout."),
        _c("extra", StringType(), "Unknown fields of the event as a JSON object (forward compatibility)."),
        _c("event_hash", StringType(), "SHA-256 of the event's canonical JSON: tells conflicting redeliveries apart."),
        _c("source_file", StringType(), "Landing file the event was read from (lineage)."),
        _c("source_line", LongType(), "1-based line number in source_file."),
        _c("ingested_at", TimestampType(), "When the ingest run that inserted it started (UTC)."),
    ),
)

QUARANTINE = TableDef(
    name="quarantine",
    layer="bronze",
    meaning="Landing lines that are not valid telemetry v1, with the raw line and a machine-readable reason.",
    keys=("source_file", "source_line"),
    columns=(
        _c("source_file", StringType(), "Landing file of the line."),
        _c("source_line", LongType(), "1-based line number (0 = the file as a whole could not be read)."),
        _c("reason", StringType(), "Reason code: invalid_json, missing_field, wrong_type, unknown_type, ..."),
        _c("detail", StringType(), "Which field or limit; never document content."),
        _c("raw", StringType(), "The raw line (invalid UTF-8 bytes escaped as \\xNN)."),
        _c("event_id", StringType(), "event_id when one could be read, else null."),
        _c("ingested_at", TimestampType(), "When the ingest run that quarantined it started (UTC)."),
    ),
)

_STAGED_EVENT_COLUMNS = tuple(c for c in EVENTS.columns if c.name not in ("event_date", "ingested_at"))

INGEST_STAGING = TableDef(
    name="_ingest_staging",
    layer="internal",
    meaning="One ingest run's parsed lines (events and verdicts), staged so the run reads its input once.",
    keys=("source_file", "source_line"),
    columns=_STAGED_EVENT_COLUMNS
    + (
        _c("quarantine_reason", StringType(), "Null for a valid event, else the quarantine reason code."),
        _c("quarantine_detail", StringType(), "Field or limit behind the quarantine reason."),
        _c("raw", StringType(), "The raw line, kept only for quarantined lines."),
    ),
)

ALL_TABLES: dict[str, TableDef] = {t.name: t for t in (EVENTS, QUARANTINE)}


def table(name: str) -> TableDef:
    try:
        return ALL_TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; known: {', '.join(sorted(ALL_TABLES))}") from None

