"""The one typed place for every knob.

`conf/echo.yaml` mirrors these defaults with comments (a test keeps the two equal); a job reads
that file (or `--conf FILE`), then applies `--set section.key=value` overrides, and validation
here turns any unknown key or bad value into a usage error instead of a surprise mid-job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class EngineConfig(Section):
    kind: Literal["sail", "spark-connect", "spark-local"] = "sail"
    # sc:// URL for kind=spark-connect; SPARK_REMOTE is used when this is empty.
    remote: str | None = None
    # Extra Spark configuration, applied to the session (spark-local: also at JVM start).
    spark_conf: dict[str, str] = Field(default_factory=dict)
    # Default parallelism of the embedded Sail server (0: Sail's own default, one per core).
    sail_parallelism: int = Field(default=0, ge=0)


class LakehouseConfig(Section):
    # Local root: one Delta folder per table. Ignored when `catalog` is set.
    root: str = "./lakehouse"
    # Unity Catalog addressing (catalog.schema.table) instead of folders.
    catalog: str | None = None
    schema_name: str | None = None


class IngestConfig(Section):
    # File name patterns taken from a landing folder.
    file_patterns: list[str] = Field(default_factory=lambda: ["*.jsonl", "*.jsonl.gz"])
    # JSON nesting deeper than this is quarantined (protects the parser and the table).
    max_json_depth: int = Field(default=64, ge=2)
    # Events stamped before this instant are quarantined as ts_out_of_range.
    min_ts: str = "2000-01-01T00:00:00Z"
    # Events stamped later than ingestion time plus this many hours are quarantined.
    max_future_skew_hours: float = Field(default=24 * 7, ge=0)


class LifecycleConfig(Section):
    # Characters of the static anchors (tail of the prefix P1, head of the suffix S1).
    anchor_chars: int = Field(default=32, ge=1)


class SimulateConfig(Section):
    seed: int = 7


class CurateConfig(Section):
    seed: int = 7


class ImportConfig(Section):
    # Continue logs a completion not accepted within this many seconds as rejected.
    continue_reject_after_s: float = 10.0


class CollectorConfig(Section):
    port: int = 8787


class EchoConfig(Section):
    engine: EngineConfig = Field(default_factory=EngineConfig)
    lakehouse: LakehouseConfig = Field(default_factory=LakehouseConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    lifecycle: LifecycleConfig = Field(default_factory=LifecycleConfig)
    simulate: SimulateConfig = Field(default_factory=SimulateConfig)
    curate: CurateConfig = Field(default_factory=CurateConfig)
    importers: ImportConfig = Field(default_factory=ImportConfig)
    collector: CollectorConfig = Field(default_factory=CollectorConfig)


DEFAULT_CONF_FILE = Path("conf") / "echo.yaml"


class ConfigError(ValueError):
    """A configuration the user must fix; the CLI turns it into exit code 2."""


def parse_override(text: str) -> tuple[list[str], Any]:
    """`a.b=value` -> (["a", "b"], value), the value typed as YAML types it (32 -> int)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set expects section.key=value, got {text!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    for text in overrides:
        path, value = parse_override(text)
        node = data
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set {text!r}: {part!r} is not a section")
            node = child
        node[path[-1]] = value
    return data


def load_config(conf_file: str | Path | None = None, overrides: list[str] | None = None) -> EchoConfig:
    """Defaults <- YAML file <- --set overrides, validated as a whole."""
    data: dict[str, Any] = {}
    path = Path(conf_file) if conf_file else (DEFAULT_CONF_FILE if DEFAULT_CONF_FILE.is_file() else None)
    if conf_file and not Path(conf_file).is_file():
        raise ConfigError(f"configuration file not found: {conf_file}")
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: not valid YAML ({err.__class__.__name__})") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping of sections")
        data = loaded
    apply_overrides(data, overrides or [])
    try:
        return EchoConfig.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"configuration {where}: {first['msg']}") from None


def dump_config(config: EchoConfig) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
