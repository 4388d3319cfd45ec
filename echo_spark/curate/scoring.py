"""The perplexity scorer, loaded once per worker process and reused for every batch."""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_models: dict[str, Any] = {}


def shared_model(path: str, context_length: int | None = None) -> Any:
    """One model per Python process, scoring on one thread: Spark runs a task per core (on Sail,
    as threads of one process), and torch's default of a thread per core in each of them makes the
    tasks wait on each other. Loaded under a lock: two tasks loading at once race inside
    transformers (one sees the other's meta-device weights: "Cannot copy out of meta tensor")."""
    with _lock:
        key = f"{path}@{context_length}"
        if key not in _models:
            import torch

            from training.inference import load_model

            torch.set_num_threads(1)
            _models[key] = load_model(path, device="cpu", context_length=context_length)
        return _models[key]
