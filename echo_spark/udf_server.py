"""The UDF fork server's start, and what each job's UDF workers import.

`udf_pool` forks a job's workers from one server process, which imports their modules once for all
of them (`udf_preload`: about 1.5 s of CPU for curate's) and runs the job's warm-up task once. Started
with the job's first pool, the server began only after the job's module and the engine's client
were imported (0.35 to 0.45 s, with one core idle meanwhile); the `echo-spark` command starts it
first instead (`start`), before it imports either. This module imports only the standard library,
so that the start comes early.

The warm-up task is the job's to make, later: it carries the job's settings. So the server is given
a path, a file of this user's only, empty until the job's first pool puts the task there
(`hand_over`, pickled; or None when the pool comes without one), and waits for it after its imports
(`take_warm_up`). Nothing forks from the server before that, so it never waits long; a server whose
job ended before is stopped at the job's exit, and the file removed.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import pickle
import signal
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

# How the fork server's `udf_preload` learns the job's worker modules and where its warm-up task is.
MODULES_VARIABLE = "ECHO_SPARK_UDF_PRELOAD"
WARM_UP_VARIABLE = "ECHO_SPARK_UDF_WARM_UP"
# How long a server waits for its warm-up task before it forks workers without it (they run it).
WARM_UP_WAIT_S = 60.0

# What each job's UDF workers import.
WORKER_MODULES: dict[str, tuple[str, ...]] = {
    "curate": ("echo_spark.curate.worker", "echo_spark.curate.duplicates", "echo_spark.curate.verifiers.secrets",
               "pandas", "datasketch"),
    "lifecycle": ("echo_spark.lifecycle.job", "echo_spark.lifecycle.spark_rows", "pyspark.sql.pandas.types", "pandas"),
}

# The file the server reads its warm-up task from, while the task is still to be put there.
_pending: str | None = None


def available() -> bool:
    return "forkserver" in multiprocessing.get_all_start_methods()


def prepare(preload: Sequence[str]) -> multiprocessing.context.BaseContext:
    """The fork server's context, its environment set: it preloads `preload` (besides `__main__`)
    through `udf_preload`, and reads its warm-up task from a file reserved now. A server already
    running keeps what it started with."""
    global _pending
    if _pending is None and not running():
        remove_warm_up_file()
        descriptor, path = tempfile.mkstemp(prefix="echo-spark-warm-up-", suffix=".pickle")
        os.close(descriptor)
        os.environ[MODULES_VARIABLE] = ",".join(preload)
        os.environ[WARM_UP_VARIABLE] = _pending = path
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", "echo_spark.udf_preload"])
    return context


def start(preload: Sequence[str]) -> None:
    """Start the fork server now, importing `preload`; its warm-up task comes with `hand_over`, and
    it is stopped at the exit even if the job never makes a pool (`udf_pool` stops it first when
    it does)."""
    from multiprocessing import forkserver

    prepare(preload)
    forkserver.ensure_running()
    atexit.register(stop)


def running() -> bool:
    return _server_pid() is not None


def _server_pid() -> int | None:
    from multiprocessing import forkserver

    return getattr(forkserver._forkserver, "_forkserver_pid", None)


def stop() -> None:
    """End the fork server and wait for it, and remove its warm-up file if it was never read. Left
    alone the server would outlive the job for its module teardown, and the CPU time of the
    workers, which it waited for, would be nobody's child time (a bench reading its jobs'
    `RUSAGE_CHILDREN` lost them). A SIGTERM ends it without that teardown."""
    from multiprocessing import forkserver

    remove_warm_up_file()
    pid = _server_pid()
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
    forkserver._forkserver._forkserver_pid = None


def hand_over(task: Callable[[], None] | None) -> None:
    """Put the warm-up task (None: there is none) where the server reads it, once: replaced whole,
    so the server never reads half of it."""
    global _pending
    if _pending is None:
        return
    descriptor, partial = tempfile.mkstemp(prefix="echo-spark-warm-up-", suffix=".part")
    with os.fdopen(descriptor, "wb") as handle:
        pickle.dump(task, handle)
    os.replace(partial, _pending)
    _pending = None


def take_warm_up(path: str) -> Any:
    """In the server: the task at `path` (None: none), once the job has put it there, and the file
    removed. A missing file (a server restarted after its first one read it) has none."""
    deadline = time.monotonic() + WARM_UP_WAIT_S
    try:
        while os.path.getsize(path) == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        with open(path, "rb") as handle:
            task = pickle.load(handle) if os.fstat(handle.fileno()).st_size else None
    except FileNotFoundError:
        return None
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    return task


def remove_warm_up_file() -> None:
    """The reserved warm-up file, if the server did not read (and remove) it."""
    global _pending
    _pending = None
    path = os.environ.pop(WARM_UP_VARIABLE, None)
    if path:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
