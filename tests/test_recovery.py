"""Reruns change nothing; a job killed mid-write and rerun ends where an uninterrupted run ends;
incremental runs equal a full rebuild. Curate is a function of silver (gold is overwritten), so
it joins the rerun and kill checks; incremental runs concern ingest and lifecycle."""

import os
import signal
import subprocess
import sys
import time

import pytest

from echo_spark.config import EchoConfig, LakehouseConfig
from echo_spark.curate.job import curate
from echo_spark.ingest.job import ingest
from echo_spark.lakehouse import Lakehouse
from echo_spark.lifecycle.job import lifecycle
from echo_spark.tables import COMPLETIONS, CURATION_DROPS, EVENTS, ORPHANS, QUARANTINE, SFT_SAMPLES

from .checksums import table_checksums
from .conftest import REPO
from .lifecycle_job.test_lifecycle_job import _session, _write
from .telemetry.badlines import mixed_file

TABLES = [EVENTS, QUARANTINE, COMPLETIONS, ORPHANS]
WITH_GOLD = [*TABLES, SFT_SAMPLES, CURATION_DROPS]


# Whatever base model this checkout has built stays out of it: no perplexity stage.
NO_PERPLEXITY = "curate.perplexity_enabled=false"


def _lakehouse(spark, root) -> tuple[Lakehouse, EchoConfig]:
    config = EchoConfig(lakehouse=LakehouseConfig(root=str(root)))
    config.curate.perplexity_enabled = False
    return Lakehouse(spark, config.lakehouse), config


def _fill(landing, sessions: int, start: int = 0) -> None:
    for i in range(start, start + sessions):
        _write(landing, f"part-{i:03d}.jsonl", _session(f"s{i}", f"v{i} = |\n", f"{i} * 2", 1_714_550_400_000 + i * 60_000))


def _pipeline(spark, root, landing, *, gold: bool = False) -> dict:
    lakehouse, config = _lakehouse(spark, root)
    ingest(spark, lakehouse, config, str(landing))
    lifecycle(spark, lakehouse, config)
    if gold:
        curate(spark, lakehouse, config)
    return table_checksums(lakehouse, WITH_GOLD if gold else TABLES)


@pytest.mark.sail_only
def test_rerunning_the_pipeline_changes_no_table(spark, tmp_path, landing):
    _fill(landing, 5)
    landing.write("bad.jsonl", mixed_file()[0])
    first = _pipeline(spark, tmp_path / "lh", landing.root, gold=True)
    assert _pipeline(spark, tmp_path / "lh", landing.root, gold=True) == first


@pytest.mark.sail_only
def test_incremental_runs_equal_a_full_rebuild(spark, tmp_path, landing):
    _fill(landing, 3)
    _pipeline(spark, tmp_path / "incremental", landing.root)
    _fill(landing, 3, start=3)
    incremental = _pipeline(spark, tmp_path / "incremental", landing.root)
    assert incremental == _pipeline(spark, tmp_path / "full", landing.root)


def _run_and_kill(job_args: list[str], when: str, delay: float) -> None:
    """Start a job in its own process and SIGKILL it once `when` shows on its stderr."""
    env = dict(os.environ, PYTHONPATH=str(REPO), RUST_LOG="warn")
    proc = subprocess.Popen([sys.executable, "-m", "echo_spark.cli", *job_args, "--quiet"],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env, text=True)
    try:
        for line in proc.stderr:
            if when in line:
                time.sleep(delay)
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the job finished before it could be killed mid-write"


@pytest.mark.sail_only
def test_jobs_killed_mid_write_then_rerun_match_an_uninterrupted_run(spark, tmp_path, landing):
    _fill(landing, 8)
    landing.write("bad.jsonl", mixed_file()[0])
    expected = _pipeline(spark, tmp_path / "clean", landing.root, gold=True)

    root = tmp_path / "killed"
    common = ["--lakehouse", str(root)]
    _run_and_kill(["ingest", "--landing", str(landing.root), *common], "deduplicate and append events", 0.05)
    lakehouse, config = _lakehouse(spark, root)
    ingest(spark, lakehouse, config, str(landing.root))
    _run_and_kill(["lifecycle", *common], "write completions and orphans", 0.05)
    lifecycle(spark, lakehouse, config)
    _run_and_kill(["curate", "--set", NO_PERPLEXITY, *common], "write gold and drops", 0.05)
    curate(spark, lakehouse, config)
    assert table_checksums(lakehouse, WITH_GOLD) == expected
