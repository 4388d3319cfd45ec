import argparse

import pytest

from echo_spark.collector import job
from echo_spark.collector.rotation import RotatingLanding, RotationPolicy
from echo_spark.config import dump_config, load_config
from echo_spark.errors import UsageError


def test_the_token_comes_from_config_or_the_environment(monkeypatch):
    monkeypatch.delenv("ECHO_COLLECTOR_TOKEN", raising=False)
    with pytest.raises(UsageError, match=r"\$ECHO_COLLECTOR_TOKEN"):
        job.settings_from_config(load_config(None, []))
    monkeypatch.setenv("ECHO_COLLECTOR_TOKEN", "from-env")
    assert job.settings_from_config(load_config(None, [])).token == "from-env"
    assert job.settings_from_config(load_config(None, ["collector.token=from-conf"])).token == "from-conf"
    monkeypatch.setenv("OTHER_VAR", "other")
    assert job.settings_from_config(load_config(None, ["collector.token_env=OTHER_VAR"])).token == "other"


def test_the_printed_configuration_hides_the_token():
    printed = dump_config(load_config(None, ["collector.token=hunter2-token"]))
    assert "hunter2-token" not in printed and "token: '**********'" in printed


def test_port_and_busy_folder_are_usage_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("ECHO_COLLECTOR_TOKEN", "t")
    with pytest.raises(UsageError):
        job.settings_from_config(load_config(None, []), port=70000)
    parser = argparse.ArgumentParser()
    job.add_arguments(parser)
    busy = RotatingLanding(tmp_path, RotationPolicy(1 << 20, 60))
    with pytest.raises(UsageError, match="another collector"):
        job.run(load_config(None, []), parser.parse_args(["--landing", str(tmp_path), "--port", "0"]))
    busy.close()
