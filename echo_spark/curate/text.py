"""Code text as dedup and decontamination compare it: whitespace-insensitive tokens.

Reformatting (indentation, line wrapping) must not hide a duplicate or a benchmark leak, so both
compare token sequences, and hash them with a keyed-free stable hash: indexes built in one process
(a broadcast benchmark index) must match queries made in another.
"""

from __future__ import annotations

import hashlib
import re

from .records import Gap

_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def stable_hash(parts: tuple[str, ...]) -> int:
    """64-bit hash, equal across processes and runs (Python's hash() of str is salted per process)."""
    return int.from_bytes(hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=8).digest(), "big")


def ngram_hashes(toks: list[str], n: int) -> set[int]:
    """Hashes of every run of n tokens (one run of all tokens when there are fewer)."""
    if len(toks) < n:
        return {stable_hash(tuple(toks))} if toks else set()
    return {stable_hash(tuple(toks[i : i + n])) for i in range(len(toks) - n + 1)}


def gap_window(gap: Gap, context_chars: int) -> str:
    """The gap with the context nearest to it: what a sample is, for deciding it duplicates another."""
    before = gap.prefix[-context_chars:] if context_chars else ""
    return before + gap.committed + gap.suffix_text[:context_chars]
