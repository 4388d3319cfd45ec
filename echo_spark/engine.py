"""One function from configuration to a SparkSession, whatever runs the queries.

Job code only uses the Spark Connect-compatible DataFrame and SQL API, so the same job runs on
the embedded Sail server, on any Spark 4 Connect server (Databricks Connect included) and on
classic local JVM Spark.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading

from pyspark.sql import SparkSession

from .config import EngineConfig
from .errors import UsageError

_SESSION_CONF = {"spark.sql.session.timeZone": "UTC"}

DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"

_lock = threading.Lock()
_sail_server = None


def sail_remote(parallelism: int = 0, memory_gb: float = 0) -> str:
    """Start (once per process) pysail's Spark Connect server on a free loopback port.

    Sail's settings are read once, when its native module starts, so they are set before the
    import; a SAIL_* variable already in the environment wins.
    """
    global _sail_server
    with _lock:
        if _sail_server is None:
            # Sail logs through Rust's env_logger; INFO lines per session drown job output.
            os.environ.setdefault("RUST_LOG", "warn")
            # Sail allocates with mimalloc, which lets the kernel back its memory with transparent
            # huge pages: each first touch of 2 MB then zeroes all of it. perf put 17% of a daily
            # curate's CPU there (clear_page_erms under the engine's threads); with them off, the
            # job's system time fell from about 3.1 to 2.0 s.
            os.environ.setdefault("MIMALLOC_ALLOW_THP", "0")
            if parallelism:
                os.environ.setdefault("SAIL_EXECUTION__DEFAULT_PARALLELISM", str(parallelism))
            if memory_gb:
                # Sail's default pool is unbounded: a sort over a whole batch (ingest's dedup)
                # then holds the batch in memory. The fair pool makes such operators spill.
                os.environ.setdefault("SAIL_RUNTIME__MEMORY_POOL__TYPE", "fair")
                os.environ.setdefault("SAIL_RUNTIME__MEMORY_POOL__FAIR__MAX_SIZE", str(int(memory_gb * 1e9)))
            from pysail.spark import SparkConnectServer

            server = SparkConnectServer("127.0.0.1", 0)
            server.start(background=True)
            atexit.register(server.stop)
            _sail_server = server
        host, port = _sail_server.listening_address
    return f"sc://{host}:{port}"


def delta_missing_on_local(spark_conf: dict[str, str]) -> list[str]:
    """What a classic local Spark session lacks to read and write Delta (empty when nothing).

    Checked from the user's configuration rather than the JVM so the check itself stays
    Connect-compatible; Delta jars cannot be fetched here (no Maven at run time).
    """
    missing = []
    jars = spark_conf.get("spark.jars", "")
    if "delta-spark" not in jars:
        missing.append("spark.jars with the delta-spark_2.13 jar (and delta-storage)")
    if DELTA_EXTENSION not in spark_conf.get("spark.sql.extensions", ""):
        missing.append(f"spark.sql.extensions={DELTA_EXTENSION}")
    if spark_conf.get("spark.sql.catalog.spark_catalog") != DELTA_CATALOG:
        missing.append(f"spark.sql.catalog.spark_catalog={DELTA_CATALOG}")
    return missing


def _classic_local_session(conf: dict[str, str]) -> SparkSession:
    """A JVM `local[*]` session even where SPARK_REMOTE is set for other tools.

    Python workers run this interpreter, so they see the same installed packages as the driver.
    (PySpark picks Connect or classic functions per process: do not mix both in one process.)
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # A connect-mode flag inherited from a parent process would make pyspark.sql.functions build
    # Connect columns for this classic session: this process is classic from here on.
    os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)
    saved = {k: os.environ.pop(k) for k in ("SPARK_REMOTE",) if k in os.environ}
    try:
        builder = SparkSession.builder.master("local[*]").appName("echo-spark")
        for key, value in conf.items():
            builder = builder.config(key, value)
        return builder.getOrCreate()
    finally:
        os.environ.update(saved)


def get_spark(config: EngineConfig, *, need_delta: bool = True) -> SparkSession:
    conf = {**_SESSION_CONF, **config.spark_conf}
    if config.kind == "cluster":
        spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
        for key, value in conf.items():
            spark.conf.set(key, value)
        return spark
    if config.kind == "sail":
        builder = SparkSession.builder.remote(sail_remote(config.sail_parallelism, config.sail_memory_gb))
    elif config.kind == "spark-connect":
        remote = config.remote or os.environ.get("SPARK_REMOTE")
        if not remote:
            raise UsageError("engine.kind=spark-connect needs engine.remote (sc://host:port) or SPARK_REMOTE")
        builder = SparkSession.builder.remote(remote)
    else:
        if need_delta:
            missing = delta_missing_on_local(config.spark_conf)
            if missing:
                raise UsageError(
                    "engine spark-local cannot use Delta Lake tables: missing " + "; ".join(missing)
                    + " (set them under engine.spark_conf; jars are never downloaded at run time)"
                )
        return _classic_local_session({"spark.ui.enabled": "false", **conf})
    spark = builder.getOrCreate()
    for key, value in conf.items():
        spark.conf.set(key, value)
    return spark
