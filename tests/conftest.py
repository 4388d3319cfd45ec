"""Test sessions: one Spark session per test run, on the backend that `ECHO_TEST_BACKEND` names.

`sail` (the default): the embedded Sail server (or SPARK_REMOTE's Spark Connect server), and every
test runs. `spark-local`: local JVM Spark, where only the tests that use the `spark` fixture run
(the others ran on Sail already), except those marked `sail_only`: Delta I/O, which the embedded
engine does here and a JVM without Delta's jars cannot (jars are never downloaded). So a DataFrame
transformation test runs on every backend unless it says otherwise. PySpark decides
Connect-or-classic per process, so each backend is its own pytest process (`make test`).
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

BACKEND = os.environ.get("ECHO_TEST_BACKEND", "sail")
# Sail's parallelism defaults to the machine's cores, and with it how rows are partitioned: pinned,
# as Sail's own test suite pins it, so a run is the same on every machine. Set before any Sail
# server starts (Sail reads its settings once); jobs run as subprocesses inherit it.
os.environ["SAIL_EXECUTION__DEFAULT_PARALLELISM"] = "4"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a backend other than Sail, only the tests of a Spark session that are not `sail_only`."""
    if BACKEND == "sail":
        return
    keep, drop = [], []
    for item in items:
        uses_spark = "spark" in getattr(item, "fixturenames", ())
        (keep if uses_spark and item.get_closest_marker("sail_only") is None else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def spark() -> SparkSession:
    """The run's session: local JVM Spark, SPARK_REMOTE's Spark Connect server, or embedded Sail."""
    if BACKEND == "spark-local":
        return get_spark(EngineConfig(kind="spark-local", spark_conf={"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2"}),
                         need_delta=False)
    if BACKEND != "sail":
        raise pytest.UsageError(f"ECHO_TEST_BACKEND={BACKEND}: sail or spark-local")
    if os.environ.get("SPARK_REMOTE"):
        return get_spark(EngineConfig(kind="spark-connect"))
    return get_spark(EngineConfig(kind="sail"))


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
