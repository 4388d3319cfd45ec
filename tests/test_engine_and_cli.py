import pytest

from echo_spark.cli import JOBS, main
from echo_spark.config import EngineConfig
from echo_spark.engine import delta_missing_on_local, get_spark
from echo_spark.errors import UsageError


def test_spark_local_without_delta_jars_names_what_is_missing():
    with pytest.raises(UsageError, match="delta-spark.*DeltaSparkSessionExtension.*DeltaCatalog"):
        get_spark(EngineConfig(kind="spark-local"))


def test_delta_check_accepts_a_complete_configuration():
    conf = {
        "spark.jars": "/opt/jars/delta-spark_2.13-4.0.0.jar,/opt/jars/delta-storage-4.0.0.jar",
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    }
    assert delta_missing_on_local(conf) == []


def test_spark_connect_needs_a_url(monkeypatch):
    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    with pytest.raises(UsageError, match="sc://"):
        get_spark(EngineConfig(kind="spark-connect"))


@pytest.mark.parametrize("job", sorted(JOBS))
def test_every_job_has_help(job, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([job, "--help"])
    assert exit_info.value.code == 0
    assert "--set" in capsys.readouterr().out


def test_unknown_job_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["no-such-job"])
    assert exit_info.value.code == 2


def test_the_embedded_engine_works_within_its_memory_budget_and_says_when_it_is_too_small(tmp_path):
    """engine.sail_memory_gb reaches the Sail server: a budget far too small for the job's sorts
    fails it, with a message naming the knob (a fresh process: Sail reads it once, at start)."""
    import json
    import os
    import subprocess
    import sys

    from .conftest import REPO
    from .telemetry.badlines import VALID

    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "a.jsonl").write_text("".join(json.dumps(dict(VALID[0], event_id=f"e{i}")) + "\n" for i in range(50)))

    def ingest(budget: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAIL_")} | {"PYTHONPATH": str(REPO)}
        return subprocess.run(
            [sys.executable, "-m", "echo_spark.cli", "ingest", "--quiet", "--landing", str(landing),
             "--lakehouse", str(tmp_path / f"lh{budget}"), "--set", f"engine.sail_memory_gb={budget}"],
            capture_output=True, text=True, env=env)

    starved, bounded = ingest("0.000001"), ingest("1.5")
    assert starved.returncode == 1 and "--set engine.sail_memory_gb=N" in starved.stderr
    assert bounded.returncode == 0, bounded.stderr[-2000:]
