"""What the UDF fork server (`udf_pool`) imports as it starts: the modules the job named for its
workers (in ECHO_SPARK_UDF_PRELOAD, comma-separated), once for all of them. It runs before the
server forks a worker, so what it sets holds in every worker:

- OpenBLAS (numpy's and scipy's) gets one thread, unless the environment says otherwise: a worker
  is one core's work already, and the pool's idle threads spun for about 0.2 s of CPU in every
  process that imported numpy;
- the garbage collector is paused while the modules import (each import's allocations set off
  collections over all that was imported before: 0.15 to 0.2 s of a curate worker's 1.3 s of
  imports), then everything imported is frozen, so a worker's collections never walk spaCy's,
  presidio's or numpy's objects again.

A module that is not installed is skipped: the worker that needs it fails where it imports it.
"""

import gc
import importlib
import os

MODULES_VARIABLE = "ECHO_SPARK_UDF_PRELOAD"

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
gc.disable()
try:
    for name in filter(None, os.environ.get(MODULES_VARIABLE, "").split(",")):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
finally:
    gc.freeze()
    gc.enable()
