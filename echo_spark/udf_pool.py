"""Python UDF bodies on every core when the engine runs them inside its own process.

Sail executes PySpark UDFs in the server's own Python interpreter: no copy between engine and
Python, but one GIL, so however many partitions run at once, one core does the Python work (the
lifecycle job at 1M events: 1.0 core busy of 2, 0.72x the single-threaded tracker). A body handed
to `offload` runs in a pool of worker processes instead: the engine's task threads wait for it with
the GIL released, so N tasks keep N cores busy. JVM Spark and Databricks already give every task
its own Python worker process; there `processes` is 0 and the body runs inline.

Workers are forked by a fork server, never from the host process (it runs the engine's threads,
which a fork would copy mid-flight): the server starts as a fresh interpreter (`udf_preload`),
imports the modules the first `warm` names and runs its task once, and forks each worker from
itself, so N workers share those imports and what the task loaded instead of paying for them N
times (a curate worker imports spaCy, presidio and pyarrow: about 1.1 s of CPU, and builds its
curator: 0.26 s). Where the platform has no fork server, workers are spawned. Workers live as long as the
process and exit when it does, killed or not. As with any use of multiprocessing, a script that runs
a job on the embedded engine guards its entry point with `if __name__ == "__main__":`.
"""

from __future__ import annotations

import atexit
import gc
import multiprocessing
import multiprocessing.util
import os
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Callable

import pyarrow as pa

from . import udf_server

ArrowBody = Callable[[pa.Table], pa.Table]

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_pool_size = 0


def _exit_with(job: int) -> None:
    """Runs in each worker: a worker whose job died (killed) would otherwise wait forever on the
    pool's queue, which its sibling workers keep open. And a worker told to stop leaves without
    tearing its modules down one by one: with the curate stages loaded (spaCy, presidio,
    tree-sitter) that took a third of a second, which every job's exit waited for."""

    def watch() -> None:
        while _alive(job):
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="udf-pool-parent-watch", daemon=True).start()
    atexit.register(_leave)


def _alive(pid: int) -> bool:
    """Whether the process exists (a forked worker's parent is the fork server, not the job)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _leave() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _context(preload: Sequence[str], warm_up: Callable[[], None] | None = None) -> multiprocessing.context.BaseContext:
    """The fork server's context (`udf_server`: preloading `preload`, then running `warm_up` once,
    which it is handed here), or spawn's where there is no fork server. A server the command
    started early already has its preload, and waits for this task."""
    if not udf_server.available():
        return multiprocessing.get_context("spawn")
    context = udf_server.prepare(preload)
    udf_server.hand_over(warm_up)
    return context


def _stop_fork_server() -> None:
    """At the job's exit, after its workers were joined (the pool's own exit hook runs first): the
    fork server ended and waited for (`udf_server.stop`), and no pool left to use it."""
    global _pool
    udf_server.stop()
    _pool = None


def _stop_resource_tracker() -> None:
    """The resource tracker that multiprocessing started beside the fork server, ended and waited
    for: on its own it left once it saw the job gone, and under load a CI run caught it alive after
    the job. Last of multiprocessing's exit finalizers, after the pool's semaphores were unlinked
    (a tracker stopped before took a job's queues, still held by a warm-up thread, for leaked ones:
    a warning, and a traceback for each when the queues' own finalizers found them gone)."""
    from multiprocessing import resource_tracker

    resource_tracker._resource_tracker._stop()


# multiprocessing's own exit function, registered before this module's (importing
# concurrent.futures.process registers it), runs after `_stop_fork_server`: first its finalizers of
# priority 0 and up (the semaphores), then the rest by falling priority, this one last.
atexit.register(_stop_fork_server)
multiprocessing.util.Finalize(None, _stop_resource_tracker, exitpriority=-1)


def _shared_pool(processes: int, preload: Sequence[str] = (), warm_up: Callable[[], None] | None = None) -> ProcessPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size != processes:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            _pool = ProcessPoolExecutor(processes, mp_context=_context(preload, warm_up),
                                        initializer=_exit_with, initargs=(os.getpid(),))
            _pool_size = processes
        return _pool


def warm(task: Callable[[], None], processes: int, preload: Sequence[str] = ()) -> None:
    """Start the workers now and run `task` (a model to load, a first batch's work) once per worker,
    without waiting: where the engine runs UDFs in this process (embedded Sail) the job's later
    batches find them ready, the start overlapped with the stages before. `preload`: modules the
    fork server imports once for every worker (when this call starts the pool; a missing one is
    skipped); the server then runs `task` once itself, so its workers start with what it loaded
    (building a curator took each worker 0.26 s of CPU while the engine needed the cores), and each
    worker's own run finds it done. Best effort: one worker may run the task twice and another not
    at all; a failure shows again where the batches run it."""
    if processes <= 0:
        return
    pool = _shared_pool(processes, preload, task)

    def start() -> None:
        # The first worker waits for the fork server's preload and warm-up (about 1.4 s for curate's):
        # the job goes on meanwhile. A job done before that (nothing to verify) stops the server
        # under this thread at its exit, which is no failure to report.
        try:
            for _ in range(processes):
                pool.submit(_warm_up, task)
        except (EOFError, OSError, RuntimeError):
            pass

    threading.Thread(target=start, name="udf-pool-warm", daemon=True).start()


def _warm_up(task: Callable[[], None]) -> None:
    """`task` in a worker, then what it loaded frozen: it lives as long as the worker, and the
    batches' garbage collections need not walk it."""
    task()
    gc.freeze()


def _discard_pool(broken: ProcessPoolExecutor) -> None:
    """A worker died (killed, out of memory): the next call starts a fresh pool."""
    global _pool
    with _lock:
        if _pool is broken:
            _pool = None


def _to_ipc(table: pa.Table) -> pa.Buffer:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _from_ipc(buffer: pa.Buffer) -> pa.Table:
    return pa.ipc.open_stream(buffer).read_all()


def _run_in_worker(body: ArrowBody, payload: pa.Buffer) -> pa.Buffer:
    return _to_ipc(body(_from_ipc(payload)))


def offload(body: ArrowBody, table: pa.Table, processes: int) -> pa.Table:
    """`body(table)`, in a worker process when `processes` > 0 (then `body` must be picklable by
    reference: a module-level function, or a `functools.partial` of one)."""
    if processes <= 0:
        return body(table)
    pool = _shared_pool(processes)
    try:
        return _from_ipc(pool.submit(_run_in_worker, body, _to_ipc(table)).result())
    except BrokenProcessPool:
        _discard_pool(pool)
        raise


# A batch too small for `chunk_rows` to give every worker this many chunks is cut finer, to no fewer
# rows than the floor: a day's curate got two batches (828 and 531 rows) that chunks of 256 dealt
# out as 256 x 5 plus two short ones, and one worker ran alone for its last 0.4 s of the 1.1 s.
CHUNKS_PER_WORKER = 4
MIN_CHUNK_ROWS = 32


def chunk_size(rows: int, processes: int, chunk_rows: int) -> int:
    """Rows per chunk of a batch of `rows`: `chunk_rows`, or fewer where that leaves workers idle."""
    return max(1, min(chunk_rows, max(MIN_CHUNK_ROWS, -(-rows // (max(processes, 1) * CHUNKS_PER_WORKER)))))


def offload_batches(body: ArrowBody, batches: Iterable[pa.RecordBatch], processes: int, chunk_rows: int) -> Iterator[pa.RecordBatch]:
    """`body` over a partition's batches, in order. An engine may hand one partition's rows over as
    a single large batch: with workers, each batch is cut into chunks (`chunk_size`) that run at
    once on every worker."""
    if processes <= 0:
        for batch in batches:
            yield from body(pa.Table.from_batches([batch])).to_batches()
        return
    pool = _shared_pool(processes)
    for batch in batches:
        table = pa.Table.from_batches([batch])
        size = chunk_size(table.num_rows, processes, chunk_rows)
        chunks = [table.slice(start, size) for start in range(0, max(table.num_rows, 1), size)]
        futures = [pool.submit(_run_in_worker, body, _to_ipc(chunk)) for chunk in chunks]
        try:
            for future in futures:
                yield from _from_ipc(future.result()).to_batches()
        except BrokenProcessPool:
            _discard_pool(pool)
            raise
