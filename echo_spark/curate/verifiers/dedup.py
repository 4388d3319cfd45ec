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
from functools import cache
from typing import Literal

import numpy as np

# datasketch (0.34 s to import, scipy with it) is imported where a sketch is made or compared: the
# curate job's driver reaches this module through the pipeline's digest and never does either.

from ..text import ngram_hashes, stable_hash, tokens

STAGE = "dedup"
# The MinHash permutation scheme, named: stored signatures are compared with ones made later, so the
# scheme must not follow a library default.
SCHEME = "affine32"


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


@dataclass(frozen=True)
class DedupSketch:
    """A sample's window as dedup compares it. Tokenizing, shingling and MinHashing were nearly all
    of dedup's time, and they depend on one sample only: the per-gap stages compute them once and
    the verdicts keep them, so a run's global dedup is left with the LSH queries."""

    exact: int  # signed 64-bit hash of the window's tokens (exact duplicates)
    shingles: tuple[int, ...]  # signed 64-bit hashes of its token shingles, sorted; empty: no tokens
    signature: tuple[int, ...]  # MinHash of the shingles (empty with them)


def sketch(window: str, *, num_perm: int, shingle_tokens: int, seed: int) -> DedupSketch:
    toks = tokens(window)
    shingles = ngram_hashes(toks, shingle_tokens)
    signature: tuple[int, ...] = ()
    if shingles.size:
        from datasketch import MinHash

        # A shingle is already a uniform hash: its low 32 bits are what the affine32 scheme permutes,
        # with no second hashing (datasketch's default SHA-1 per shingle was most of a sketch).
        minhash = MinHash(num_perm=num_perm, seed=seed, hashfunc=int, permutations=_permutations(num_perm, seed),
                          scheme=SCHEME)
        minhash.update_batch((shingles & np.uint64(0xFFFFFFFF)).tolist())
        signature = tuple(minhash.hashvalues.tolist())
    return DedupSketch(_signed(stable_hash(tuple(toks))), tuple(np.sort(shingles.view(np.int64)).tolist()), signature)


@cache
def _lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """LSH bands and rows for a threshold: datasketch finds them by numerical integration each time
    an index is built (about 0.1 s), and the job builds one per dedup group: thousands per run, which
    was most of dedup's time. The same parameters, computed once."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return lsh.b, lsh.r


@cache
def _permutations(num_perm: int, seed: int) -> tuple:
    """The MinHash permutations of (num_perm, seed): drawn once per process, not per sketch."""
    from datasketch import MinHash

    return MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME).permutations


def _signed(value: int) -> int:
    """An unsigned 64-bit hash as the signed 64-bit integer a table column holds."""
    return value - (1 << 64) if value >= 1 << 63 else value


def find_duplicates(
    sketches: Sequence[DedupSketch],
    keys: Sequence[str],
    *,
    threshold: float,
    num_perm: int,
) -> list[Duplicate]:
    """Duplicates among the sketched gap windows, each pointing at its representative; ordered by index."""
    if len(sketches) != len(keys):
        raise ValueError("sketches and keys must have the same length")
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(num_perm=num_perm, params=_lsh_params(threshold, num_perm))
    exact: dict[int, int] = {}
    shingles_of: dict[int, set[int]] = {}
    duplicates = []
    for index in sorted(range(len(sketches)), key=lambda i: (keys[i], i)):
        sketched = sketches[index]
        if sketched.exact in exact:
            duplicates.append(Duplicate(index, exact[sketched.exact], "exact"))
            continue
        exact[sketched.exact] = index
        if not sketched.shingles:
            continue
        shingles = set(sketched.shingles)
        # LSH reads only the hash values: the permutations (of any seed) are never applied here.
        signature = MinHash(num_perm=num_perm, hashvalues=sketched.signature, permutations=_permutations(num_perm, 1),
                            scheme=SCHEME)
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
