"""UDF bodies in worker processes: same result as inline, a dead worker does not poison the process."""

from __future__ import annotations

import json
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
from echo_spark.udf_pool import chunk_size, offload, offload_batches, warm


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
    workers = {child.pid for child in psutil.Process().children(recursive=True)}  # forked by the fork server
    loaded = {int(p.name) for p in tmp_path.iterdir()}
    assert loaded and loaded <= workers and os.getpid() not in loaded
    assert set(pooled["pid"].to_pylist()) <= workers


def test_a_killed_worker_fails_its_call_and_the_next_call_gets_a_fresh_pool():
    with pytest.raises(BrokenProcessPool):
        offload(die, pa.table({"x": [1]}), processes=1)
    assert offload(partial(doubled_with_pid, "x"), pa.table({"x": [5]}), processes=1)["x"].to_pylist() == [10]


def test_workers_by_default_only_where_the_engine_runs_udfs_in_its_own_process():
    assert EngineConfig(kind="sail").udf_workers == (os.cpu_count() or 1)
    assert EngineConfig(kind="spark-local").udf_workers == 0
    assert EngineConfig(kind="cluster").udf_workers == 0
    assert EngineConfig(kind="sail", udf_processes=0).udf_workers == 0
    assert EngineConfig(kind="cluster", udf_processes=3).udf_workers == 3


def test_batches_come_back_in_order_whatever_the_chunking():
    batches = [pa.RecordBatch.from_pydict({"x": list(range(start, start + 10))}) for start in (0, 10, 20)]
    body = partial(doubled_with_pid, "x")
    for processes, chunk_rows in ((0, 3), (2, 3), (2, 100)):
        out = pa.Table.from_batches(list(offload_batches(body, iter(batches), processes, chunk_rows)))
        assert out["x"].to_pylist() == [2 * i for i in range(30)]


def rows_of(table: pa.Table) -> pa.Table:
    return pa.table({"rows": [table.num_rows]})


def test_a_small_batch_is_cut_so_that_every_worker_gets_several_chunks():
    # A day's batch of 828 rows with chunks of 256 gave two workers 4 chunks of unequal work.
    assert chunk_size(828, 2, 256) == 104
    assert chunk_size(100_000, 2, 256) == 256  # a first run's batches: chunks of chunk_rows
    assert chunk_size(40, 2, 256) == 32  # never below the floor...
    assert chunk_size(10, 2, 8) == 8  # ...unless chunk_rows is smaller still
    batch = pa.RecordBatch.from_pydict({"x": list(range(828))})
    calls = pa.Table.from_batches(list(offload_batches(rows_of, iter([batch]), 2, 256)))
    assert calls["rows"].to_pylist() == [104] * 7 + [100]


def _job(tmp_path: Path, source: str, **pipes) -> subprocess.Popen:
    """`source` run as a job of its own: a script in its own process, importing from this checkout."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    script = tmp_path / "job.py"
    script.write_text(source)
    repo = Path(__file__).parents[1]
    return subprocess.Popen([sys.executable, str(script)], cwd=repo, text=True,
                            env={**os.environ, "PYTHONPATH": str(repo)}, **pipes)


def _job_output(tmp_path: Path, source: str) -> str:
    """What `source`, run as a job of its own, prints; it must succeed."""
    job = _job(tmp_path, source, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = job.communicate(timeout=120)
    assert job.returncode == 0, err[-2000:]
    return out


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
    job = _job(tmp_path, _KILLED_PARENT, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    worker = int(job.stdout.readline())
    assert psutil.pid_exists(worker)
    job.kill()
    job.wait()
    deadline = time.monotonic() + 15
    while psutil.pid_exists(worker) and psutil.Process(worker).status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not psutil.pid_exists(worker) or psutil.Process(worker).status() == psutil.STATUS_ZOMBIE


_PRELOADED = """
import sys
from functools import partial
import pyarrow as pa
from echo_spark.udf_pool import offload, warm
from tests.test_udf_pool import modules_loaded
if __name__ == "__main__":
    warm(print, processes=2, preload=("colorsys", "no_such_module_here"))
    loaded = offload(partial(modules_loaded, ("colorsys", "wave")), pa.table({"x": [1]}), processes=2)
    print(loaded["colorsys"][0].as_py(), loaded["wave"][0].as_py(), "colorsys" in sys.modules)
"""


def modules_loaded(names: tuple[str, ...], table: pa.Table) -> pa.Table:
    return pa.table({name: [name in sys.modules] for name in names})


def test_the_modules_warm_names_are_in_every_worker_before_its_first_task(tmp_path):
    """Imported by the fork server, once, and not in the job's own process; a module that does
    not exist is skipped."""
    out = _job_output(tmp_path, _PRELOADED)
    assert out.split()[-3:] == ["True", "False", "False"]


_WORKER_STATE_JOB = """
import pyarrow as pa
from echo_spark.udf_pool import offload, warm
from tests.test_udf_pool import worker_state
if __name__ == "__main__":
    warm(print, processes=1, preload=("colorsys",))
    state = offload(worker_state, pa.table({"x": [1]}), processes=1).to_pylist()[0]
    print(state["frozen"] > 0, state["collecting"], state["openblas_threads"])
"""


def worker_state(table: pa.Table) -> pa.Table:
    import gc

    return pa.table({"frozen": [gc.get_freeze_count()], "collecting": [gc.isenabled()],
                     "openblas_threads": [os.environ.get("OPENBLAS_NUM_THREADS")]})


def test_a_worker_starts_with_its_imports_frozen_and_one_openblas_thread(tmp_path):
    """What the fork server imported (and the warm-up loaded) is frozen out of a worker's garbage
    collections, which stay on, and numpy's OpenBLAS runs one thread (unless the job's environment
    says otherwise)."""
    out = _job_output(tmp_path, _WORKER_STATE_JOB)
    assert out.split()[-3:] == ["True", "True", os.environ.get("OPENBLAS_NUM_THREADS", "1")]


_SERVER_WARM_UP_JOB = """
import pyarrow as pa
from echo_spark.udf_pool import offload, warm
from tests.test_udf_pool import note_warm_up, warm_ups
if __name__ == "__main__":
    warm(note_warm_up, processes=1, preload=("tests.test_udf_pool",))
    print(offload(warm_ups, pa.table({"x": [1]}), processes=1).column("pid").to_pylist())
"""

_warm_ups: list[int] = []


def note_warm_up() -> None:
    _warm_ups.append(os.getpid())


def warm_ups(table: pa.Table) -> pa.Table:
    """The processes that ran `note_warm_up` before this one's copy of the list, and this one."""
    return pa.table({"pid": [*_warm_ups, -os.getpid()]})


def _warm_up_files() -> set[str]:
    """The pickled warm-up tasks (and their partial writes) in the temporary folder."""
    import tempfile

    return {p.name for p in Path(tempfile.gettempdir()).glob("echo-spark-warm-up-*")}


def test_the_warm_up_runs_once_in_the_fork_server_before_its_workers_are_forked(tmp_path):
    """A worker starts with what the server's run of the warm-up loaded (then runs it again, finding
    it done), and the task's pickle, which carries the job's settings, is not left on disk."""
    before = _warm_up_files()
    out = _job_output(tmp_path, _SERVER_WARM_UP_JOB)
    pids = json.loads(out.split("\n")[-2])
    assert pids[0] > 0 and pids[0] != -pids[-1]  # the first run was another process's: the server's
    assert _warm_up_files() <= before


_EARLY_SERVER_JOB = """
import time
import pyarrow as pa
from echo_spark import udf_server
from echo_spark.udf_pool import offload, warm
from tests.test_udf_pool import note_warm_up, warm_ups
if __name__ == "__main__":
    udf_server.start(("tests.test_udf_pool",))
    time.sleep(0.5)  # the server imports, then waits for the task that the job has yet to make
    warm(note_warm_up, processes=1, preload=("unused.by.a.started.server",))
    print(offload(warm_ups, pa.table({"x": [1]}), processes=1).column("pid").to_pylist())
"""


def test_a_server_started_before_the_job_made_its_warm_up_runs_it_before_forking(tmp_path):
    """The command starts the server first (`udf_server.start`), the job's first pool hands it the
    task later: it still runs once in the server, before its workers are forked, and its file goes."""
    before = _warm_up_files()
    pids = json.loads(_job_output(tmp_path, _EARLY_SERVER_JOB).split("\n")[-2])
    assert pids[0] > 0 and pids[0] != -pids[-1]
    assert _warm_up_files() <= before


_EARLY_SERVER_NO_TASK_JOB = """
from functools import partial
import pyarrow as pa
from echo_spark import udf_server
from echo_spark.udf_pool import offload
from tests.test_udf_pool import doubled_with_pid
if __name__ == "__main__":
    udf_server.start(("colorsys",))
    print(offload(partial(doubled_with_pid, "x"), pa.table({"x": [4]}), processes=1)["x"].to_pylist())
"""


def test_a_server_started_early_forks_at_once_for_a_pool_that_brings_no_warm_up(tmp_path):
    # Without the pool's empty hand-over the server would wait out udf_server.WARM_UP_WAIT_S (60 s).
    job = _job(tmp_path, _EARLY_SERVER_NO_TASK_JOB, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = job.communicate(timeout=45)
    assert job.returncode == 0 and out.split("\n")[-2] == "[8]", err[-2000:]


_EARLY_START_JOB = """
from echo_spark import udf_server
from echo_spark.cli import start_udf_workers_early
if __name__ == "__main__":
    print(start_udf_workers_early("curate", ["curate", "--engine", "spark-local"]),  # the engine runs its own workers
          start_udf_workers_early("ingest", ["ingest"]),  # no UDF workers
          start_udf_workers_early("curate", ["curate", "--help"]),
          start_udf_workers_early("curate", ["curate", "--set", "no_such.key=1"]),  # the job reports it
          start_udf_workers_early("curate", ["--quiet", "curate", "--set", "engine.udf_processes=1"]),
          udf_server.running())
"""


def test_the_command_starts_the_fork_server_first_only_where_the_job_runs_udf_workers(tmp_path):
    assert _job_output(tmp_path, _EARLY_START_JOB).split() == ["False", "False", "False", "False", "True", "True"]


_BUSY_JOB = """
from functools import partial
import pyarrow as pa
from echo_spark.udf_pool import offload, warm
from tests.test_udf_pool import busy
if __name__ == "__main__":
    warm(print, processes=2, preload=("colorsys",))
    offload(partial(busy, 1.0), pa.table({"x": [1]}), processes=2)
"""


def busy(seconds: float, table: pa.Table) -> pa.Table:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
    return table


def test_a_finished_job_leaves_no_process_behind_and_its_workers_cpu_is_its_own(tmp_path):
    """The workers are the fork server's children: at the job's exit the server is ended and waited
    for, so nothing of the job outlives it (its caller's read of its output ends with it) and the
    workers' CPU time reaches the job's caller as child time, as with spawned workers."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    job = _job(tmp_path, _BUSY_JOB, stdout=subprocess.PIPE)
    descendants: set[int] = set()
    while job.poll() is None:
        try:
            descendants |= {p.pid for p in psutil.Process(job.pid).children(recursive=True)}
        except psutil.Error:
            pass
        time.sleep(0.05)
    assert job.returncode == 0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert descendants
    assert not [pid for pid in descendants if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime) >= 0.9


_QUICK_JOB = """
import time
from echo_spark.udf_pool import warm
if __name__ == "__main__":
    warm(print, processes=2, preload=("tests.udf_pool_slow_module",))
    time.sleep(1)  # the server has started and imports the slow module
"""


def test_a_job_done_before_its_workers_started_exits_quietly(tmp_path):
    """A job with nothing for its workers (a curate run that reuses every verdict) ends while the
    fork server still imports: its exit stops the server under the warm-up, without a traceback,
    and the pool's semaphores, still held by the warm-up thread, are released before the resource
    tracker is stopped (stopped first, it reported them leaked). Several jobs at once, as the race
    showed only under load: 3 of 12 such jobs at once on 2 cores."""
    jobs = [_job(tmp_path / str(k), _QUICK_JOB, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for k in range(6)]
    for job in jobs:
        _, err = job.communicate(timeout=120)
        assert job.returncode == 0 and "Traceback" not in err and "leaked" not in err, err[-2000:]
