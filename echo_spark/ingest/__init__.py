"""Ingest: landing JSON Lines -> bronze `events` (deduplicated) + `quarantine` (with reasons)."""
