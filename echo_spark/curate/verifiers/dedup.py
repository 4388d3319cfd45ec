"""Dedup's per-gap half: the group a gap is deduplicated in and the sketch of its window.

Telemetry repeats itself: a completion is requested at nearly every keystroke, so consecutive
requests share almost all context and commit (the prefix grows by a character, C_N shrinks by one),
and the same boilerplate is written by many users. Training on such runs over-weights them. A gap
is compared by its window (the context nearest to the gap plus C_N), as tokens: exact duplicates
by hash, near ones by MinHash LSH over token shingles, confirmed by the true Jaccard similarity
(LSH only proposes candidates). The comparison itself needs a whole group and is the global stage's
(`curate/duplicates.py`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache

import numpy as np

# datasketch (0.34 s to import, scipy with it) is imported where a sketch is made: the curate job's
# driver reaches this module through the pipeline's digest and never makes one.

from ..text import ngram_hashes, stable_hash, tokens

STAGE = "dedup"
# The MinHash permutation scheme, named: stored signatures are compared with ones made later, so the
# scheme must not follow a library default.
SCHEME = "affine32"


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
def _permutations(num_perm: int, seed: int) -> tuple:
    """The MinHash permutations of (num_perm, seed): drawn once per process, not per sketch."""
    from datasketch import MinHash

    return MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME).permutations


def _signed(value: int) -> int:
    """An unsigned 64-bit hash as the signed 64-bit integer a table column holds."""
    return value - (1 << 64) if value >= 1 << 63 else value
