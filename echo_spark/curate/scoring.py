"""The perplexity scorer, loaded once per worker process and reused for every batch."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def shared_model(path: str) -> Any:
    from training.inference import load_model

    return load_model(path, device="cpu")
