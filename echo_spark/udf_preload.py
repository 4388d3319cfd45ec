"""What the UDF fork server (`udf_pool`) imports as it starts: the modules the job named for its
workers (in ECHO_SPARK_UDF_PRELOAD, comma-separated), once for all of them. It runs before the
server forks a worker, so what it sets holds in every worker:

- OpenBLAS (numpy's and scipy's) gets one thread, unless the environment says otherwise: a worker
  is one core's work already, and the pool's idle threads spun for about 0.2 s of CPU in every
  process that imported numpy;
- the garbage collector is paused while the modules import (each import's allocations set off
  collections over all that was imported before: 0.15 to 0.2 s of a curate worker's 1.3 s of
  imports), then everything imported is frozen, so a worker's collections never walk spaCy's,
  presidio's or numpy's objects again;
- the job's warm-up task (pickled in the file ECHO_SPARK_UDF_WARM_UP names, waited for when the
  server started before the job made it: `udf_server`; the file is then deleted) runs once here,
  before any worker is forked, and what it loads is frozen with the rest.

A module that is not installed is skipped, and a warm-up that fails is left to the workers, which
run it again: the batch that needs it shows the failure.
"""

import gc
import importlib
import os

# Before anything imports numpy (udf_pool's pyarrow does): OpenBLAS reads it as it loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
gc.disable()
try:
    from echo_spark.udf_server import MODULES_VARIABLE, WARM_UP_VARIABLE, take_warm_up

    for name in filter(None, os.environ.get(MODULES_VARIABLE, "").split(",")):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    _warm_up = os.environ.pop(WARM_UP_VARIABLE, None)
    if _warm_up:
        try:
            _task = take_warm_up(_warm_up)
            if _task is not None:
                _task()
        except Exception:  # noqa: BLE001 - the workers run the task again and their batches report it
            pass
finally:
    gc.freeze()
    gc.enable()
