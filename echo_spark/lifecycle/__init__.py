"""The completion lifecycle tracker: from a request's context (C0) and proposal (C1) to what the
user committed in the gap (C_N). Pure Python, called by the Spark job once per (session, document).
"""

from echo_spark.lifecycle.events import SessionFacts, TrackerEvent, event_from_row
from echo_spark.lifecycle.records import CompletionRecord, DocumentResult, OrphanRecord
from echo_spark.lifecycle.tracker import track_document

__all__ = [
    "CompletionRecord",
    "DocumentResult",
    "OrphanRecord",
    "SessionFacts",
    "TrackerEvent",
    "event_from_row",
    "track_document",
]
