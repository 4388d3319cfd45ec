"""Echo on Spark: completion telemetry in, curated fill-in-the-middle training data and a better model out."""

__version__ = "0.1.0"
