"""Telemetry v1 (../shared/spec/telemetry-v1.md): the contract, and pure parsing of landing lines."""
