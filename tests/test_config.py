from pathlib import Path

import pytest
import yaml

from echo_spark.config import ConfigError, EchoConfig, load_config

from .conftest import REPO


def test_conf_file_equals_the_typed_defaults():
    """conf/echo.yaml documents every knob; it must not drift from the code's defaults."""
    data = yaml.safe_load((REPO / "conf" / "echo.yaml").read_text())
    assert data == EchoConfig().model_dump(mode="json")


def test_overrides_are_typed_like_yaml(tmp_path):
    config = load_config(REPO / "conf" / "echo.yaml", ["lifecycle.anchor_chars=48", "engine.kind=spark-connect"])
    assert config.lifecycle.anchor_chars == 48
    assert config.engine.kind == "spark-connect"


@pytest.mark.parametrize("override,match", [
    ("lifecycle.no_such=1", "lifecycle.no_such"),
    ("engine.kind=flink", "engine.kind"),
    ("lifecycle.anchor_chars=0", "anchor_chars"),
    ("novalue", "section.key=value"),
])
def test_bad_overrides_are_config_errors(override, match):
    with pytest.raises(ConfigError, match=match):
        load_config(None, [override])


def test_missing_or_broken_conf_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("engine: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
