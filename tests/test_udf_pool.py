"""UDF bodies in worker processes: same result as inline, a dead worker does not poison the process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import psutil
import pytest

from echo_spark.config import EngineConfig
from echo_spark.udf_pool import offload, offload_batches, udf_processes, warm


def doubled_with_pid(column: str, table: pa.Table) -> pa.Table:
    return pa.table({column: pc.multiply(table[column], 2), "pid": [os.getpid()] * table.num_rows})


def die(table: pa.Table) -> pa.Table:
    os.kill(os.getpid(), signal.SIGKILL)
    return table


def test_offloaded_body_gives_the_inline_result_from_another_process():
    table = pa.table({"x": [1, 2, 3]})
    body = partial(doubled_with_pid, "x")
    inline = offload(body, table, processes=0)
    pooled = offload(body, table, processes=2)
    assert inline["x"].to_pylist() == pooled["x"].to_pylist() == [2, 4, 6]
    assert set(inline["pid"].to_pylist()) == {os.getpid()}
    assert os.getpid() not in set(pooled["pid"].to_pylist())


def mark_loaded(folder: str) -> None:
    (Path(folder) / str(os.getpid())).touch()


def test_warming_runs_the_task_in_the_workers_that_later_calls_use(tmp_path):
    warm(partial(mark_loaded, str(tmp_path / "none")), processes=0)  # no workers: nothing runs, nothing fails
    warm(partial(mark_loaded, str(tmp_path)), processes=2)
    pooled = offload(partial(doubled_with_pid, "x"), pa.table({"x": [1]}), processes=2)
    deadline = time.monotonic() + 30
    while not any(tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.1)
    workers = {child.pid for child in psutil.Process().children()}
    loaded = {int(p.name) for p in tmp_path.iterdir()}
    assert loaded and loaded <= workers and os.getpid() not in loaded
    assert set(pooled["pid"].to_pylist()) <= workers


def test_a_killed_worker_fails_its_call_and_the_next_call_gets_a_fresh_pool():
    with pytest.raises(BrokenProcessPool):
        offload(die, pa.table({"x": [1]}), processes=1)
    assert offload(partial(doubled_with_pid, "x"), pa.table({"x": [5]}), processes=1)["x"].to_pylist() == [10]


def test_workers_by_default_only_where_the_engine_runs_udfs_in_its_own_process():
    assert udf_processes(EngineConfig(kind="sail")) == (os.cpu_count() or 1)
    assert udf_processes(EngineConfig(kind="spark-local")) == 0
    assert udf_processes(EngineConfig(kind="cluster")) == 0
    assert udf_processes(EngineConfig(kind="sail", udf_processes=0)) == 0
    assert udf_processes(EngineConfig(kind="cluster", udf_processes=3)) == 3


def test_batches_come_back_in_order_whatever_the_chunking():
    batches = [pa.RecordBatch.from_pydict({"x": list(range(start, start + 10))}) for start in (0, 10, 20)]
    body = partial(doubled_with_pid, "x")
    for processes, chunk_rows in ((0, 3), (2, 3), (2, 100)):
        out = pa.Table.from_batches(list(offload_batches(body, iter(batches), processes, chunk_rows)))
        assert out["x"].to_pylist() == [2 * i for i in range(30)]


_KILLED_PARENT = """
import os, sys
from functools import partial
import pyarrow as pa
from echo_spark.udf_pool import offload
from tests.test_udf_pool import doubled_with_pid
if __name__ == "__main__":
    print(*set(offload(partial(doubled_with_pid, "x"), pa.table({"x": [1]}), processes=2)["pid"].to_pylist()), flush=True)
    sys.stdin.read()
"""


def test_workers_exit_when_their_job_is_killed(tmp_path):
    script = tmp_path / "job.py"
    script.write_text(_KILLED_PARENT)
    repo = Path(__file__).parents[1]
    job = subprocess.Popen([sys.executable, str(script)], cwd=repo, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           text=True, env={**os.environ, "PYTHONPATH": str(repo)})
    worker = int(job.stdout.readline())
    assert psutil.pid_exists(worker)
    job.kill()
    job.wait()
    deadline = time.monotonic() + 15
    while psutil.pid_exists(worker) and psutil.Process(worker).status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not psutil.pid_exists(worker) or psutil.Process(worker).status() == psutil.STATUS_ZOMBIE
