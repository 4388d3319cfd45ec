"""The silver columns curate's per-gap stages read: what silver's input digest hashes
(`silver_digest`) and what a UDF worker's rows carry. Apart from the Spark wiring so that a curate
worker knows them without importing pyspark."""

SILVER_COLUMNS = (
    "request_id", "session_id", "user_id", "doc_id", "language", "prefix", "suffix", "proposal", "outcome",
    "committed", "skipped_reason", "request_event_id", "event_ids", "finalize_reason",
    # How sure a server log's C_N is (the certainty stage); null with edit telemetry.
    "gap_open_at_last_sighting", "committed_previous", "max_silence_s", "anchor_choice",
)
