from pathlib import Path

import pytest
import yaml

from echo_spark.config import ConfigError, EchoConfig, load_config
from echo_spark.config_yaml import render

from .conftest import REPO


def test_conf_file_is_generated_from_the_models():
    """conf/echo.yaml is `python -m echo_spark.config_yaml`'s output: a default or a description
    changed in config.py without regenerating it (or the file edited by hand) fails here."""
    text = (REPO / "conf" / "echo.yaml").read_text()
    assert text == render(), "regenerate: python -m echo_spark.config_yaml > conf/echo.yaml"
    assert EchoConfig.model_validate(yaml.safe_load(text)) == EchoConfig()


def test_every_explanation_is_a_comment_of_the_generated_file():
    text = render()
    assert "# `echo-spark simulate`: developers writing real code" in text  # a section's docstring
    assert "# Events stamped before this instant are quarantined as ts_out_of_range." in text
    lines = text.splitlines()
    anneal = lines.index("    anneal:")  # a nested section under its field's description
    assert lines[anneal - 1].startswith("    # ") and lines[anneal + 1].startswith("      # Steps of the second phase")


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


def _stage_seeds(config: EchoConfig) -> dict[str, int]:
    return {"simulate": config.simulate.seed, "curate": config.curate.seed, "train.base": config.train.base.seed,
            "train": config.train.seed, "evaluate": config.evaluate.seed, "holdout": config.evaluate.holdout_seed}


def test_one_seed_sets_every_stage_unless_a_stage_sets_its_own():
    assert set(_stage_seeds(load_config(None, [], environ={})).values()) == {7}
    assert set(_stage_seeds(load_config(None, ["seed=11"], environ={})).values()) == {11}
    own = _stage_seeds(load_config(None, ["seed=11", "curate.seed=3", "train.base.seed=5"], environ={"ECHO__SEED": "2"}))
    assert own == {"simulate": 11, "curate": 3, "train.base": 5, "train": 11, "evaluate": 11, "holdout": 11}
    assert set(_stage_seeds(load_config(None, [], environ={"ECHO__SEED": "2"})).values()) == {2}
    # A configuration rebuilt from its dump (as the demo's profiles do) keeps the seeds it had.
    config = load_config(None, ["seed=11", "curate.seed=3"], environ={})
    assert _stage_seeds(EchoConfig.model_validate(config.model_dump())) == _stage_seeds(config)


def test_the_generated_file_lists_only_the_one_seed():
    seeds = [line for line in render().splitlines() if not line.lstrip().startswith("#") and "seed:" in line]
    assert seeds == ["seed: 7"]
