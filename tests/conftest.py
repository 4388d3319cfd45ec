"""Test sessions: one embedded Sail server per test run (or SPARK_REMOTE's server), and local
JVM Spark as a second backend for the DataFrame transformation tests.

`ECHO_TEST_BACKENDS` (default `sail`) picks the backends that `any_spark` runs on. PySpark decides
Connect-or-classic per process, so the JVM backend runs in a second pytest process over the same
test bodies: `ECHO_TEST_BACKENDS=spark-local pytest -m portable` (what `make test` does).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from echo_spark.config import EchoConfig, EngineConfig, LakehouseConfig
from echo_spark.engine import get_spark
from echo_spark.lakehouse import Lakehouse

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REAL_DATA = SHARED / "data" / "real"


def _backends() -> list[str]:
    return [b.strip() for b in os.environ.get("ECHO_TEST_BACKENDS", "sail").split(",") if b.strip()]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests written against `any_spark` are the portable ones, run on every backend."""
    for item in items:
        if "any_spark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.portable)


@pytest.fixture(scope="session")
def spark() -> SparkSession:
    """The Spark Connect session of the run: SPARK_REMOTE's server if set, else embedded Sail."""
    if os.environ.get("SPARK_REMOTE"):
        return get_spark(EngineConfig(kind="spark-connect"))
    return get_spark(EngineConfig(kind="sail"))


@pytest.fixture(scope="session")
def local_jvm_spark() -> SparkSession:
    return get_spark(EngineConfig(kind="spark-local", spark_conf={"spark.sql.shuffle.partitions": "2"}), need_delta=False)


@pytest.fixture(params=_backends())
def any_spark(request: pytest.FixtureRequest) -> SparkSession:
    """Each backend in turn, for tests of DataFrame transformations (no Delta I/O)."""
    if request.param == "sail":
        return request.getfixturevalue("spark")
    return request.getfixturevalue("local_jvm_spark")


@pytest.fixture
def config(tmp_path: Path) -> EchoConfig:
    """A fresh machine's configuration in a temporary folder: in particular no base model is
    built there, so curate's perplexity stage is off unless a test builds one."""
    config = EchoConfig(lakehouse=LakehouseConfig(root=str(tmp_path / "lakehouse")))
    config.train.base.dir = str(tmp_path / "models" / "tiny-base")
    return config


@pytest.fixture
def lakehouse(spark: SparkSession, config: EchoConfig) -> Lakehouse:
    return Lakehouse(spark, config.lakehouse)


@pytest.fixture
def real_data() -> Path:
    if not REAL_DATA.is_dir():
        pytest.skip(f"shared data not found at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture
def landing(tmp_path: Path):
    """A fresh landing folder; write files into it with landing.write(name, bytes)."""

    class Landing:
        root = tmp_path / "landing"

        def write(self, name: str, data: bytes) -> Path:
            path = self.root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            return path

        def copy(self, src: Path) -> Path:
            self.root.mkdir(parents=True, exist_ok=True)
            return Path(shutil.copy(src, self.root / src.name))

    return Landing()
