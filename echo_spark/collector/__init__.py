"""The fleet upload path: a small HTTP collector that lands telemetry v1 durably for ingest."""
