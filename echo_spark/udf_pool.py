"""Python UDF bodies on every core when the engine runs them inside its own process.

Sail executes PySpark UDFs in the server's own Python interpreter: no copy between engine and
Python, but one GIL, so however many partitions run at once, one core does the Python work (the
lifecycle job at 1M events: 1.0 core busy of 2, 0.72x the single-threaded tracker). A body handed
to `offload` runs in a pool of worker processes instead: the engine's task threads wait for it with
the GIL released, so N tasks keep N cores busy. JVM Spark and Databricks already give every task
its own Python worker process; there `processes` is 0 and the body runs inline.

Workers are started with `spawn` (the host process runs the engine's threads, which a fork would
copy mid-flight) and live as long as the process. As with any use of multiprocessing, a script
that runs a job on the embedded engine guards its entry point with `if __name__ == "__main__":`.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable

import pyarrow as pa

from .config import EngineConfig

ArrowBody = Callable[[pa.Table], pa.Table]

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_pool_size = 0


def udf_processes(engine: EngineConfig) -> int:
    """Worker processes for UDF bodies: `engine.udf_processes`, or by default one per core on the
    embedded Sail engine (in-process UDFs) and none elsewhere (the engine has its own workers)."""
    if engine.udf_processes is not None:
        return engine.udf_processes
    return (os.cpu_count() or 1) if engine.kind == "sail" else 0


def _shared_pool(processes: int) -> ProcessPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size != processes:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            _pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"))
            _pool_size = processes
        return _pool


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
