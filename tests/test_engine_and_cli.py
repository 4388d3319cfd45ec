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
