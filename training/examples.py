"""Text samples -> tokenized FIM examples, in batches (the tokenizer is fastest on lists).

Content is tokenized with `split_special_tokens`: code that happens to contain "<|endoftext|>" or a
FIM sentinel is text, and must never become the control token (a prompt injection into training).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .batching import Examples
from .fim import FimIds, FimOrder, encode


def tokenize(tokenizer, texts: Sequence[str]) -> list[list[int]]:
    if not texts:
        return []
    return tokenizer(list(texts), add_special_tokens=False, split_special_tokens=True)["input_ids"]


def encode_samples(
    tokenizer,
    ids: FimIds,
    prefixes: Sequence[str],
    suffixes: Sequence[str],
    middles: Sequence[str],
    max_tokens: int,
    order: FimOrder = "psm",
) -> Examples:
    """One supervised FIM example per (prefix, suffix, middle): labels on the middle and end token."""
    encoded = [
        encode(ids, p, s, m, max_tokens, order)
        for p, s, m in zip(tokenize(tokenizer, prefixes), tokenize(tokenizer, suffixes), tokenize(tokenizer, middles))
    ]
    return Examples(
        input_ids=[np.asarray(e.input_ids, dtype=np.int32) for e in encoded],
        labels=[np.asarray(e.labels, dtype=np.int32) for e in encoded],
    )
