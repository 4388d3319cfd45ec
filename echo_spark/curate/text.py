"""Code text as dedup and decontamination compare it: whitespace-insensitive tokens.

Reformatting (indentation, line wrapping) must not hide a duplicate or a benchmark leak, so both
compare token sequences, and hash them with a keyed-free stable hash: indexes built in one process
(a broadcast benchmark index) must match queries made in another.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

import numpy as np

from .records import Gap

_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def stable_hash(parts: tuple[str, ...]) -> int:
    """64-bit hash, equal across processes and runs (Python's hash() of str is salted per process)."""
    return int.from_bytes(hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=8).digest(), "big")


_FOLD_BASIS, _FOLD_PRIME = np.uint64(0xCBF29CE484222325), np.uint64(0x100000001B3)  # FNV-1a's 64-bit constants


@lru_cache(maxsize=1 << 16)
def _token_hash(token: str) -> int:
    return stable_hash((token,))


def ngram_hashes(toks: list[str], n: int) -> np.ndarray:
    """Stable 64-bit hashes (uint64, sorted, distinct) of every run of n tokens (one run of all
    tokens when there are fewer).

    Each token is hashed once (blake2b, cached: code repeats its tokens) and the runs fold their
    tokens' hashes FNV-style in numpy (xor, then multiply by an odd prime: a bijection at each
    step, so runs differing in one token never collide); hashing every run's text in Python was
    most of a dedup sketch's time."""
    if len(toks) < n:
        return np.array([stable_hash(tuple(toks))] if toks else [], dtype=np.uint64)
    hashes = np.fromiter((_token_hash(t) for t in toks), dtype=np.uint64, count=len(toks))
    runs = len(toks) - n + 1
    folded = np.full(runs, _FOLD_BASIS, dtype=np.uint64)
    for k in range(n):
        folded = (folded ^ hashes[k : k + runs]) * _FOLD_PRIME  # uint64 arithmetic wraps, as intended
    return np.unique(folded)


def gap_window(gap: Gap, context_chars: int) -> str:
    """The gap with the context nearest to it: what a sample is, for deciding it duplicates another."""
    before = gap.prefix[-context_chars:] if context_chars else ""
    return before + gap.committed + gap.suffix_text[:context_chars]
