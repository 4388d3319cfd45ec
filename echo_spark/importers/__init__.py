"""Importers: the completion logs tools already write (Continue, Tabby), converted to telemetry v1."""
