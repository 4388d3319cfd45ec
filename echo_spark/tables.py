"""Every table of the lakehouse, defined once: name, layer, schema, partitioning, merge keys, meaning.

Jobs never spell a schema inline; they write through `Lakehouse`, which casts to these schemas first
(Sail can silently drop a column when a write's schema differs from the target's). The data
dictionary in the README is generated from the descriptions here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DateType,
    DoubleType,
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

    @property
    def arrow_schema(self) -> Any:
        """The schema in Arrow (a `pyarrow.Schema`): what a UDF body returns for this table, built
        on the driver so that the worker needs no pyspark."""
        from pyspark.sql.pandas.types import to_arrow_schema

        return to_arrow_schema(self.schema, timezone="UTC")


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

COMPLETIONS = TableDef(
    name="completions",
    layer="silver",
    meaning="One row per completion request: context C0, proposal C1, outcome, and what the user committed (C_N).",
    keys=("session_id", "request_id"),
    columns=(
        _c("request_id", StringType(), "Completion request id."),
        _c("session_id", StringType(), "Editor session."),
        _c("user_id", StringType(), "Pseudonymous user id."),
        _c("doc_id", StringType(), "Document within the session."),
        _c("language", StringType(), "LSP language identifier."),
        _c("request_ts", TimestampType(), "When the completion was requested (UTC)."),
        _c("prefix", StringType(), "C0: text before the cursor, as the model saw it (derived from the document in edit mode)."),
        _c("suffix", StringType(), "C0: text after the cursor; null when the log has none."),
        _c("proposal", StringType(), "C1: the proposal shown (last completion_shown); null if never shown."),
        _c("model", StringType(), "Model that proposed C1."),
        _c("outcome", StringType(), "accepted, partial, rejected or ignored."),
        _c("accepted_length", LongType(), "Characters (code points) of C1 accepted by a partial accept."),
        _c("committed", StringType(), "C_N: gap content at the last moment both anchors were intact; '' = void; null = unknown (never seen intact, or the context changed before anything stayed in the gap)."),
        _c("committed_observed", BooleanType(), "True when an event after the request showed the gap holding C_N; false when C_N is the accepted proposal that no later window of a server log showed (unverified); null when C_N is unknown."),
        _c("gap_open_at_last_sighting", BooleanType(), "Server logs: the log event that gave C_N found the cursor in the gap and the gap changed since the event before, so the developer may have typed on unseen; null with edit telemetry or when C_N is unknown."),
        _c("max_silence_s", DoubleType(), "Server logs: the longest time in seconds between two log events that could show the gap (the request, its accept, later requests in the document) while C_N could still change; null with edit telemetry or when C_N is unknown."),
        _c("committed_previous", StringType(), "Server logs: the gap at the log event before the one that gave C_N ('' = the request itself); null with edit telemetry or when C_N is unknown."),
        _c("anchor_choice", StringType(), "Server logs: how the prefix anchor's occurrence was chosen in the window that gave C_N: unique, offsets (nearest where the requests' offsets put it), cursor, last_before_cursor, first; accept when C_N is the accepted text; null with edit telemetry or when C_N is unknown."),
        _c("is_void", BooleanType(), "True when the user left the gap empty (silence was right)."),
        _c("finalize_reason", StringType(), "Why tracking stopped: anchor_broken, left_region, doc_closed, session_end, max_lifetime, ..."),
        _c("finalize_ts", TimestampType(), "When C_N was fixed (UTC)."),
        _c("gap_lifetime_ms", LongType(), "Milliseconds from the request to the final observation of the gap."),
        _c("c1_edit_distance", LongType(), "Levenshtein distance from C1 to C_N."),
        _c("c1_survival", DoubleType(), "Share of C1's tokens that survived in C_N (0..1)."),
        _c("retention_30s", DoubleType(), "Share of the accepted text's tokens still in the gap 30 s after the accept; null if not observed."),
        _c("retention_2m", DoubleType(), "Same at 2 minutes."),
        _c("retention_5m", DoubleType(), "Same at 5 minutes."),
        _c("retention_10m", DoubleType(), "Same at 10 minutes."),
        _c("kept_at_first_check", BooleanType(), "Accepted C1 found intact after the prefix anchor at the first later observation."),
        _c("tracking_mode", StringType(), "edits (document changes), requests (later windows) or prefix_only."),
        _c("trigger", StringType(), "auto or manual."),
        _c("request_event_id", StringType(), "event_id of the completion_request (provenance)."),
        _c("event_ids", ArrayType(StringType()), "Events that contributed: request, shown, accept/reject, changes to the gap."),
        _c("skipped_reason", StringType(), "Why the request's document could not be tracked (its events do not apply), else null."),
        _c("input_sha256", StringType(), "SHA-256 of the columns curate's per-gap stages read (echo_spark/silver_digest.py), stored by lifecycle with the row: curate verifies a row again only when it changed. Null on rows written before it was stored (curate computes it); set it to null after changing a row by hand."),
    ),
)

ORPHANS = TableDef(
    name="orphans",
    layer="silver",
    meaning="Events that cannot be tied to a request or a document, with the reason (counted, never dropped).",
    keys=("event_id",),
    columns=(
        _c("event_id", StringType(), "The orphaned event."),
        _c("session_id", StringType(), "Its session."),
        _c("doc_id", StringType(), "Its document, if any."),
        _c("request_id", StringType(), "The request it names, if any."),
        _c("type", StringType(), "Its event type."),
        _c("ts", TimestampType(), "Its time (UTC)."),
        _c("reason", StringType(), "Why it is an orphan: no_request, duplicate_request, unapplicable_document, ..."),
    ),
)

SFT_SAMPLES = TableDef(
    name="sft_samples",
    layer="gold",
    meaning="One fill-in-the-middle training sample per kept completion: redacted C0, the target middle, provenance.",
    keys=("sample_id",),
    columns=(
        _c("sample_id", StringType(), "Stable id of the sample (hash of session_id and request_id)."),
        _c("request_id", StringType(), "The completion request it comes from."),
        _c("session_id", StringType(), "Its session."),
        _c("user_id", StringType(), "Its user (the split is by user)."),
        _c("doc_id", StringType(), "Its document."),
        _c("language", StringType(), "LSP language identifier."),
        _c("prefix", StringType(), "C0 before the cursor, secrets and PII replaced by typed placeholders."),
        _c("suffix", StringType(), "C0 after the cursor (null when not logged), redacted likewise."),
        _c("middle", StringType(), "Training target: C_N truncated to the atomic unit of the trigger; '' = void."),
        _c("is_void", BooleanType(), "True when the target is silence."),
        _c("split", StringType(), "train or validation, by a hash of user_id."),
        _c("length_bucket", StringType(), "Length bucket of the middle (void, <=16, ..., >1024)."),
        _c("committed_chars", LongType(), "Length of the raw C_N before truncation."),
        _c("teacher_source", StringType(), "Who truncated: syntax, llm, llm_cache, fallback_invalid, fallback_error."),
        _c("perplexity", DoubleType(), "Perplexity of the middle given C0 under the scoring model; null if not scored."),
        _c("redactions", ArrayType(StringType()), "Entity types redacted in the sample (EMAIL, AWS_ACCESS_KEY, ...)."),
        _c("proposal", StringType(), "C1, the model's proposal (redacted); for comparisons, not a target."),
        _c("outcome", StringType(), "What the user did with C1: accepted, partial, rejected, ignored."),
        _c("request_event_id", StringType(), "event_id of the completion_request (provenance)."),
        _c("event_ids", ArrayType(StringType()), "Events the sample was derived from (provenance)."),
    ),
)

SFT_ACCEPTED_ONLY = TableDef(
    name="sft_accepted_only",
    layer="gold",
    meaning=(
        "The naive use of logs, for comparison: one sample per proposal the user accepted whole, C1 as the target, "
        "uncurated (no teacher, no verifiers); the training table of the evaluation's accepted-only arm. "
        "Columns as sft_samples; teacher_source, perplexity and redactions are null."
    ),
    keys=("sample_id",),
    columns=tuple(
        {
            "middle": _c("middle", StringType(), "Training target: C1, the proposal the user accepted (never void)."),
            "committed_chars": _c("committed_chars", LongType(), "Length of the C_N the user finally kept (null when unknown); not the target."),
        }.get(c.name, c)
        for c in SFT_SAMPLES.columns
    ),
)

CURATION_DROPS = TableDef(
    name="curation_drops",
    layer="gold",
    meaning="Every completion not in sft_samples, with the stage that dropped it and why.",
    keys=("session_id", "request_id"),
    columns=(
        _c("request_id", StringType(), "The completion request."),
        _c("session_id", StringType(), "Its session."),
        _c("user_id", StringType(), "Its user."),
        _c("language", StringType(), "Its language."),
        _c("stage", StringType(), "input, boundary, syntax, identifiers, secrets, decontam, dedup, perplexity, proportion."),
        _c("reason", StringType(), "Machine-readable reason (committed_unknown, new_syntax_errors, secret_in_commit:AWS_SECRET_KEY, ...)."),
        _c("committed_chars", LongType(), "Length of the raw C_N (null when unknown)."),
    ),
)

JOB_RUNS = TableDef(
    name="job_runs",
    layer="audit",
    meaning="One row per run of an incremental job: its input watermark and metrics (what the next run starts from).",
    keys=("job", "run_id"),
    columns=(
        _c("job", StringType(), "Job name."),
        _c("run_id", StringType(), "Unique id of the run."),
        _c("started_at", TimestampType(), "Start of the run (UTC)."),
        _c("watermark", TimestampType(), "Newest bronze ingested_at the run covered."),
        _c("metrics", StringType(), "The run's metrics as JSON."),
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
        _c("file_sha256", StringType(), "File summary row (source_line -1): SHA-256 of the file's bytes as stored."),
        _c("file_size", LongType(), "File summary row: size in bytes, as listed."),
        _c("file_mtime_us", LongType(), "File summary row: modification time as listed, microseconds since the epoch."),
        _c("file_lines", LongType(), "File summary row: lines read from the file."),
        _c("file_quarantined", LongType(), "File summary row: of which quarantined."),
    ),
)

LANDING_FILES = TableDef(
    name="landing_files",
    layer="audit",
    meaning="Every landing file ingest has read (one row per path and content): what the next run skips.",
    keys=("path", "sha256"),
    columns=(
        _c("path", StringType(), "Landing file, spelled as bronze's source_file."),
        _c("sha256", StringType(), "SHA-256 of the file's bytes as stored (compressed bytes for .gz); null if unreadable."),
        _c("size", LongType(), "Size in bytes when read (or when an erasure rewrote it)."),
        _c("modified", TimestampType(), "Modification time when read (or rewritten), UTC; with size and path, the signature a run compares."),
        _c("run_id", StringType(), "The ingest run (or erasure) that recorded this version of the file."),
        _c("recorded_at", TimestampType(), "When that run started (UTC)."),
        _c("bronze_version", LongType(), "Version of bronze `events` after the run's merge (null on a catalog)."),
        _c("lines", LongType(), "Lines in this version of the file."),
        _c("valid", LongType(), "Of which valid events, inserted or duplicates (null for a version an erasure wrote)."),
        _c("inserted", LongType(), "Of the valid lines, events the run inserted into bronze (the rest were duplicates)."),
        _c("quarantined", LongType(), "Of which quarantined (null for a version an erasure wrote)."),
        _c("erased", LongType(), "ingested: lines dropped for an erased user (a tombstone); rewritten: lines removed from the version before."),
        _c("status", StringType(), "ingested (read by a run), or rewritten (by ingest or forget, without an erased user's lines)."),
    ),
)

TOMBSTONES = TableDef(
    name="tombstones",
    layer="audit",
    meaning="Erased users and their sessions, as SHA-256 hashes: ingest and lifecycle drop anything that arrives later for them.",
    keys=("kind", "subject_sha256"),
    columns=(
        _c("kind", StringType(), "user (a user_id) or session (a session_id of an erased user)."),
        _c("subject_sha256", StringType(), "SHA-256 of the id (the id itself is not kept)."),
        _c("erasure_id", StringType(), "The erasure that recorded it (null: an ingest found a new session of an erased user)."),
        _c("recorded_at", TimestampType(), "When (UTC)."),
    ),
)

ERASURES = TableDef(
    name="erasures",
    layer="audit",
    meaning="One row per `echo-spark forget`: whose data was erased (as a hash), when, and how many rows per table.",
    keys=("erasure_id",),
    columns=(
        _c("erasure_id", StringType(), "Unique id of the erasure."),
        _c("requested_at", TimestampType(), "When it ran (UTC)."),
        _c("subject_sha256", StringType(), "SHA-256 of the erased user_id (the id itself is not kept)."),
        _c("reason", StringType(), "Why, as given by the operator (ticket number, ...)."),
        _c("rows_deleted", StringType(), "JSON: table name -> rows removed from its current version; `landing_files` -> landing file -> lines removed from it."),
        _c("vacuumed", BooleanType(), "Whether the older versions of every table that can hold a user's rows were vacuumed right away (`--vacuum` on a local lakehouse); false when any was not."),
        _c("vacuumed_tables", StringType(), "JSON: table name -> files the vacuum removed, for each table that was vacuumed (a table absent was not: on a catalog its retention applies). Null in rows written before this column existed."),
    ),
)

LIFECYCLE_STAGING = TableDef(
    name="_lifecycle_staging",
    layer="internal",
    meaning="One lifecycle run's tracker output (completions and orphans), staged so the run tracks once.",
    keys=("record_kind", "session_id", "request_id", "orphan_event_id"),
    columns=COMPLETIONS.columns
    + (
        _c("record_kind", StringType(), "completion or orphan."),
        _c("orphan_event_id", StringType(), "Orphans: event_id."),
        _c("orphan_type", StringType(), "Orphans: event type."),
        _c("orphan_ts", TimestampType(), "Orphans: event time."),
        _c("orphan_reason", StringType(), "Orphans: reason."),
    ),
)

CURATE_STAGING = TableDef(
    name="_curate_staging",
    layer="internal",
    meaning="One curate run's per-gap verdicts, staged so the run verifies once.",
    keys=("session_id", "request_id"),
    columns=(
        _c("request_id", StringType(), "Request."),
        _c("session_id", StringType(), "Session."),
        _c("user_id", StringType(), "User."),
        _c("doc_id", StringType(), "Document."),
        _c("language", StringType(), "Language."),
        _c("outcome", StringType(), "Outcome of C1."),
        _c("request_event_id", StringType(), "Request event."),
        _c("event_ids", ArrayType(StringType()), "Provenance."),
        _c("committed_raw", StringType(), "C_N before truncation."),
        _c("teacher_source", StringType(), "Who truncated."),
        _c("kept", BooleanType(), "Passed every per-gap stage."),
        _c("drop_stage", StringType(), "Stage that dropped it."),
        _c("drop_reason", StringType(), "Why."),
        _c("redactions", ArrayType(StringType()), "Entity types redacted."),
        _c("prefix", StringType(), "C0 prefix (redacted when kept)."),
        _c("suffix", StringType(), "C0 suffix (redacted when kept)."),
        _c("middle", StringType(), "Truncated C_N."),
        _c("proposal", StringType(), "C1 (redacted when kept)."),
        _c("input_sha256", StringType(), "Digest of the silver row's inputs."),
        _c("dedup_key", StringType(), "Dedup group of a kept sample."),
        _c("dedup_exact", LongType(), "Hash of a kept sample's dedup window tokens."),
        _c("dedup_shingles", ArrayType(LongType()), "Hashes of its window's token shingles."),
        _c("dedup_signature", ArrayType(LongType()), "MinHash of those shingles."),
    ),
)

CURATE_VERDICTS = TableDef(
    name="curate_verdicts",
    layer="gold",
    meaning=(
        "Curate's per-gap stages (teacher, boundary, syntax, identifiers, secrets, decontamination), once per "
        "silver completion: the verdict, and for a kept gap its redacted sample. Upserted by each curate run, which "
        "computes verdicts only for completions that are new or changed (input_sha256) or for all when the "
        "settings they depend on changed (config_sha256); gold and curation_drops are made from it by the "
        "global stages. Held-out users' completions have no verdict."
    ),
    keys=("session_id", "request_id"),
    columns=(
        _c("request_id", StringType(), "The completion request."),
        _c("session_id", StringType(), "Its session."),
        _c("user_id", StringType(), "Its user."),
        _c("doc_id", StringType(), "Its document."),
        _c("language", StringType(), "LSP language identifier."),
        _c("outcome", StringType(), "What the user did with C1."),
        _c("request_event_id", StringType(), "event_id of the completion_request (provenance)."),
        _c("event_ids", ArrayType(StringType()), "Events the completion was derived from (provenance)."),
        _c("committed_chars", LongType(), "Length of the raw C_N (null when unknown)."),
        _c("teacher_source", StringType(), "Who truncated: syntax, llm, llm_cache, fallback_invalid, fallback_error."),
        _c("kept", BooleanType(), "True when the gap passed every per-gap stage."),
        _c("drop_stage", StringType(), "Stage that dropped it: input, teacher, boundary, syntax, identifiers, secrets, decontam."),
        _c("drop_reason", StringType(), "Why it was dropped (as in curation_drops.reason)."),
        _c("redactions", ArrayType(StringType()), "Entity types redacted in the sample (kept gaps)."),
        _c("prefix", StringType(), "Kept gaps: C0 before the cursor, redacted; null when dropped."),
        _c("suffix", StringType(), "Kept gaps: C0 after the cursor, redacted; null when dropped or not logged."),
        _c("middle", StringType(), "Kept gaps: the training target (C_N cut to the unit); null when dropped."),
        _c("proposal", StringType(), "Kept gaps: C1, redacted; null when dropped."),
        _c("dedup_key", StringType(), "Kept gaps: SHA-256 of the language and the whitespace-normalized middle, the dedup group."),
        _c("dedup_exact", LongType(), "Kept gaps: 64-bit hash of the dedup window's tokens (the context nearest the gap and the middle); equal hashes are exact duplicates."),
        _c("dedup_shingles", ArrayType(LongType()), "Kept gaps: 64-bit hashes of the window's token shingles, sorted; near duplicates are confirmed by their Jaccard similarity."),
        _c("dedup_signature", ArrayType(LongType()), "Kept gaps: MinHash of the shingles (curate.dedup_num_perm values), what LSH proposes near-duplicate candidates by."),
        _c("input_sha256", StringType(), "SHA-256 of the silver columns the per-gap stages read (JSON of the row); a changed row is recomputed."),
        _c("config_sha256", StringType(), "SHA-256 of what else the verdict depends on: per-gap curate settings, the lifecycle's no-suffix bound, the benchmark files, the per-gap stages' code."),
        _c("computed_at", TimestampType(), "When this verdict was computed."),
    ),
)

CURATE_DEDUP = TableDef(
    name="_curate_dedup",
    layer="internal",
    meaning="One curate run's deduped groups, every member with its result, staged so dedup runs once.",
    keys=("session_id", "request_id"),
    columns=(
        _c("dedup_key", StringType(), "The group."),
        _c("session_id", StringType(), "Session."),
        _c("request_id", StringType(), "Request."),
        _c("input_sha256", StringType(), "The member's verdict's input_sha256."),
        _c("user_id", StringType(), "Its user."),
        _c("drop_reason", StringType(), "exact_duplicate or near_duplicate; null when the sample stays."),
    ),
)

CURATE_CHOICE = TableDef(
    name="_curate_choice",
    layer="internal",
    meaning="One curate run's proportioning: every survivor of the per-gap stages, dedup and perplexity, with its length bucket, its user's split and whether it was chosen; staged so gold and the drops read one choice.",
    keys=("session_id", "request_id"),
    columns=(
        _c("session_id", StringType(), "Session."),
        _c("request_id", StringType(), "Request."),
        _c("length_bucket", StringType(), "C_N length bucket of the middle."),
        _c("split", StringType(), "train or validation, by user."),
        _c("perplexity", DoubleType(), "Score under the scoring model; null when perplexity is off."),
        _c("chosen", BooleanType(), "Kept by proportioning."),
    ),
)

CURATE_INPUTS = TableDef(
    name="_curate_inputs",
    layer="internal",
    meaning="One curate run's input digests of trainable silver, read by its counts and its verdicts' selection.",
    keys=("session_id", "request_id"),
    columns=(
        _c("session_id", StringType(), "Session."),
        _c("request_id", StringType(), "Request."),
        _c("input_sha256", StringType(), "SHA-256 of the silver columns the per-gap stages read."),
    ),
)

CURATE_SCORES = TableDef(
    name="curate_scores",
    layer="gold",
    meaning=(
        "Perplexity of each kept sample's middle given its C0 under the scoring model (curate's perplexity "
        "stage), once per sample: MERGEd by each curate run, which scores only samples that are new or changed "
        "(input_sha256, config_sha256 of their verdict) or all when the scoring model changed (scorer_sha256). "
        "The outlier cut-offs are then taken over the current samples' scores."
    ),
    keys=("session_id", "request_id"),
    columns=(
        _c("session_id", StringType(), "Session."),
        _c("request_id", StringType(), "Request."),
        _c("user_id", StringType(), "Its user."),
        _c("input_sha256", StringType(), "The scored verdict's input_sha256."),
        _c("config_sha256", StringType(), "The scored verdict's config_sha256."),
        _c("perplexity", DoubleType(), "Perplexity of the middle given C0."),
        _c("scorer_sha256", StringType(), "SHA-256 of the scoring model's files and context length."),
    ),
)

CURATE_DUPLICATES = TableDef(
    name="curate_duplicates",
    layer="gold",
    meaning=(
        "Curate's dedup, group by group: every kept sample whose dedup_key another kept sample shares, with the "
        "duplicate reason when dedup dropped it. A run dedups again only the groups whose members changed (a "
        "sample in or out, a changed verdict: input_sha256) or all when the dedup settings or the verdicts' "
        "settings changed (settings_sha256); the other groups' results are kept."
    ),
    keys=("session_id", "request_id"),
    columns=(
        _c("dedup_key", StringType(), "The group: SHA-256 of the language and the whitespace-normalized middle."),
        _c("session_id", StringType(), "Session."),
        _c("request_id", StringType(), "Request."),
        _c("user_id", StringType(), "Its user."),
        _c("input_sha256", StringType(), "The member's verdict's input_sha256."),
        _c("settings_sha256", StringType(), "SHA-256 of the dedup settings and the verdicts' config_sha256."),
        _c("drop_reason", StringType(), "exact_duplicate or near_duplicate; null when the sample stays."),
    ),
)

CURATE_DUPLICATES_NEXT = TableDef(
    name="_curate_duplicates_next",
    layer="internal",
    meaning="One curate run's curate_duplicates, staged before it replaces the table (it is made from it).",
    keys=CURATE_DUPLICATES.keys,
    columns=CURATE_DUPLICATES.columns,
)

CURATE_PERPLEXITY = TableDef(
    name="_curate_perplexity",
    layer="internal",
    meaning="One curate run's new perplexity scores, staged before they are MERGEd into curate_scores.",
    keys=("session_id", "request_id"),
    columns=tuple(c for c in CURATE_SCORES.columns if c.name != "scorer_sha256"),
)

ALL_TABLES: dict[str, TableDef] = {
    t.name: t
    for t in (EVENTS, QUARANTINE, COMPLETIONS, ORPHANS, SFT_SAMPLES, SFT_ACCEPTED_ONLY, CURATION_DROPS, CURATE_VERDICTS,
              CURATE_SCORES, CURATE_DUPLICATES, JOB_RUNS, ERASURES, LANDING_FILES, TOMBSTONES)
}


def table(name: str) -> TableDef:
    try:
        return ALL_TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; known: {', '.join(sorted(ALL_TABLES))}") from None

