"""The perplexity scorer, loaded once per worker process and reused for every batch."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def shared_model(path: str) -> Any:
    """One model per Python worker, scoring on one thread: Spark already runs a worker per core,
    and torch's default of a thread per core in each of them makes the workers wait on each other."""
    import torch

    from training.inference import load_model

    torch.set_num_threads(1)
    return load_model(path, device="cpu")
