"""Dedup: exact and near-duplicate gaps collapse to one deterministic representative.

Telemetry repeats itself: a completion is requested at nearly every keystroke, so consecutive
requests share almost all context and commit (the prefix grows by a character, C_N shrinks by one),
and the same boilerplate is written by many users. Training on such runs over-weights them. A gap
is compared by its window (the context nearest to the gap plus C_N), as tokens: exact duplicates
by hash, near ones by MinHash LSH over token shingles, confirmed by the true Jaccard similarity
(LSH only proposes candidates). The representative of a cluster is the gap with the smallest key
(request_id), whatever order the batch arrives in.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from datasketch import MinHash, MinHashLSH

from ..text import ngram_hashes, stable_hash, tokens

STAGE = "dedup"


@dataclass(frozen=True)
class Duplicate:
    index: int  # the dropped gap
    representative: int  # the gap kept in its place
    kind: Literal["exact", "near"]

    @property
    def reason(self) -> str:
        return f"{self.kind}_duplicate"


def dedup_key(language: str | None, middle: str) -> str:
    """The group a sample is deduplicated in: the SHA-256 of its language and its whitespace-normalized
    middle. Only samples with the same key are compared (a duplicate is the same training pair, so
    different targets never collapse); the job partitions by this key so that groups spread over
    every core, and a key held by one sample needs no comparison at all."""
    return hashlib.sha256(json.dumps([language, " ".join(middle.split())]).encode("utf-8")).hexdigest()


def find_duplicates(
    texts: Sequence[str],
    keys: Sequence[str],
    *,
    threshold: float,
    num_perm: int,
    shingle_tokens: int,
    seed: int,
) -> list[Duplicate]:
    """Duplicates among `texts` (gap windows), each pointing at its representative; ordered by index."""
    if len(texts) != len(keys):
        raise ValueError("texts and keys must have the same length")
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    exact: dict[int, int] = {}
    shingles_of: dict[int, set[int]] = {}
    duplicates = []
    for index in sorted(range(len(texts)), key=lambda i: (keys[i], i)):
        toks = tokens(texts[index])
        whole = stable_hash(tuple(toks))
        if whole in exact:
            duplicates.append(Duplicate(index, exact[whole], "exact"))
            continue
        exact[whole] = index
        shingles = ngram_hashes(toks, shingle_tokens)
        if not shingles:
            continue
        signature = MinHash(num_perm=num_perm, seed=seed)
        signature.update_batch([s.to_bytes(8, "big") for s in shingles])
        similar = [
            int(candidate) for candidate in lsh.query(signature)
            if _jaccard(shingles, shingles_of[int(candidate)]) >= threshold
        ]
        if similar:
            duplicates.append(Duplicate(index, min(similar, key=lambda i: (keys[i], i)), "near"))
            continue
        lsh.insert(str(index), signature)
        shingles_of[index] = shingles
    return sorted(duplicates, key=lambda d: d.index)


def _jaccard(a: set[int], b: set[int]) -> float:
    return len(a & b) / len(a | b)
