"""Dedup's global stage: within one group of samples (one `dedup_key`), which ones duplicate another.

The per-gap stages sketch each sample's window once (`verifiers/dedup.py`); this module compares the
sketches of a group. The group is walked in key order (session and request ids), so the
representative of a cluster is the sample with the smallest key whatever order the rows arrive in:
a sample with the exact hash of an earlier one is its exact duplicate; otherwise the samples kept so
far that share a band of its MinHash signature (LSH, with the bands and rows datasketch chooses for
the threshold) are its candidates, and it is a near duplicate of those whose shingles have a
Jaccard similarity of at least the threshold.

The band tables are dicts keyed by a band's bytes, which is what datasketch's `MinHashLSH` keeps
too; it also copies and byteswaps every band of every query, and a sample's signature had to be
made a `MinHash` first: on the 1M run's 44,076 candidates the same walk took 0.7 s against 1.8 to
2.4 s, with the same duplicates. Shingles become Python sets only for samples a band brings
together: most samples of a large group (voids: every void sample of a language is one group) never
meet a candidate.

`dedup_groups` is the body the job runs on each partition of candidates (in a UDF worker): the
groups of a partition, each walked here, every member returned with its reason. Both are covered by the dedup settings digest (this file's
bytes), so a change to either makes the stored group results stale.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from ..config import CurateConfig


@dataclass(frozen=True)
class Duplicate:
    index: int  # the dropped sample
    representative: int  # the sample kept in its place
    kind: Literal["exact", "near"]

    @property
    def reason(self) -> str:
        return f"{self.kind}_duplicate"


@cache
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """LSH bands and rows for a threshold, as datasketch chooses them (by numerical integration,
    about 0.1 s: once per process, not per group)."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return lsh.b, lsh.r


@dataclass(frozen=True)
class GroupSketches:
    """The sketches of a group's samples as columns: exact hashes, each band's bytes per sample
    (None where the sample has no shingles) and the shingles as an Arrow list array."""

    exact: list[int]
    bands: list[list[bytes | None]]
    shingles: pa.ListArray

    @classmethod
    def from_arrow(cls, exact: pa.Array, signatures: pa.Array, shingles: pa.Array, *, threshold: float,
                   num_perm: int) -> GroupSketches:
        """From a table's `dedup_exact`, `dedup_signature` and `dedup_shingles` columns (one chunk each)."""
        bands, rows = lsh_params(threshold, num_perm)
        offsets = signatures.offsets.to_numpy()
        lengths = np.diff(offsets)
        if np.any((lengths != 0) & (lengths != num_perm)):
            raise ValueError(f"a MinHash signature of another length than num_perm={num_perm}")
        signed = lengths == num_perm
        values = signatures.values.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        matrix = values[offsets[:-1][signed][:, None] + np.arange(bands * rows)]
        positions = np.flatnonzero(signed).tolist()
        per_band: list[list[bytes | None]] = []
        for band in range(bands):
            keys = np.ascontiguousarray(matrix[:, band * rows:(band + 1) * rows]).view(f"V{8 * rows}").ravel().tolist()
            column: list[bytes | None] = [None] * len(lengths)
            for position, key in zip(positions, keys):
                column[position] = key
            per_band.append(column)
        return cls(exact.to_pylist(), per_band, shingles)

    def slice(self, offset: int, length: int) -> GroupSketches:
        end = offset + length
        return GroupSketches(self.exact[offset:end], [band[offset:end] for band in self.bands],
                             self.shingles.slice(offset, length))

    def __len__(self) -> int:
        return len(self.exact)


def find_duplicates(sketches: GroupSketches, keys: Sequence[str], *, threshold: float) -> list[Duplicate]:
    """Duplicates among one group's samples, each pointing at its representative; ordered by index."""
    if len(sketches) != len(keys):
        raise ValueError("sketches and keys must have the same length")
    flat = sketches.shingles.values.to_numpy(zero_copy_only=False)
    offsets = sketches.shingles.offsets.to_numpy()
    shingle_sets: dict[int, set[int]] = {}

    def shingles_of(index: int) -> set[int]:
        found = shingle_sets.get(index)
        if found is None:
            found = shingle_sets[index] = set(flat[offsets[index]:offsets[index + 1]].tolist())
        return found

    tables: list[dict[bytes, list[int]]] = [{} for _ in sketches.bands]
    first_of_exact: dict[int, int] = {}
    duplicates = []
    for index in sorted(range(len(keys)), key=lambda i: (keys[i], i)):
        exact = sketches.exact[index]
        if exact in first_of_exact:
            duplicates.append(Duplicate(index, first_of_exact[exact], "exact"))
            continue
        first_of_exact[exact] = index
        band_keys = [band[index] for band in sketches.bands]
        if band_keys and band_keys[0] is None:  # no shingles: kept, never a candidate
            continue
        candidates: set[int] = set()
        for table, key in zip(tables, band_keys):
            members = table.get(key)
            if members:
                candidates.update(members)
        if candidates:
            mine = shingles_of(index)
            similar = [c for c in candidates if _jaccard(mine, shingles_of(c)) >= threshold]
            if similar:
                duplicates.append(Duplicate(index, min(similar, key=lambda i: (keys[i], i)), "near"))
                continue
        for table, key in zip(tables, band_keys):
            table.setdefault(key, []).append(index)
    return sorted(duplicates, key=lambda d: d.index)


def _jaccard(a: set[int], b: set[int]) -> float:
    return len(a & b) / len(a | b)


# What a group's walk says of each member: who it is (as `curate_duplicates` keeps members) and
# why it is dropped (null: it stays). All strings.
MEMBER_COLUMNS = ("dedup_key", "session_id", "request_id", "input_sha256", "user_id")
RESULT_COLUMNS = (*MEMBER_COLUMNS, "drop_reason")


def dedup_groups(config: CurateConfig, table: pa.Table) -> pa.Table:
    """Every row of `table` with its duplicate reason (null when it stays), compared only within a
    `dedup_key` group (same language, same whitespace-normalized middle), by the sketches of their
    windows (the verdicts'). Every member comes back, not only the duplicates, so that the job
    stores the changed groups' members from this result rather than finding them again."""
    # Sorted by key once, a group is a slice: a `take` per group read the whole table, which made
    # dedup quadratic in a partition's rows (at 1M events, 43,699 candidates in one call: 91.6 s
    # against 3.3 s, the same duplicates).
    table = table.take(pc.sort_indices(table, sort_keys=[("dedup_key", "ascending")]))
    columns = [table.column(f"dedup_{name}").combine_chunks() for name in ("exact", "signature", "shingles")]
    sketches = GroupSketches.from_arrow(*columns, threshold=config.dedup_threshold, num_perm=config.dedup_num_perm)
    sessions, requests = table.column("session_id").to_pylist(), table.column("request_id").to_pylist()
    keys = [f"{session}\x1f{request}" for session, request in zip(sessions, requests)]
    reasons: list[str | None] = [None] * table.num_rows
    offset = 0
    for _, group in itertools.groupby(table.column("dedup_key").to_pylist()):
        size = sum(1 for _ in group)
        first, offset = offset, offset + size
        if size < 2:
            continue
        for duplicate in find_duplicates(sketches.slice(first, size), keys[first:offset], threshold=config.dedup_threshold):
            reasons[first + duplicate.index] = duplicate.reason
    return pa.table({**{name: table.column(name).cast(pa.string()) for name in MEMBER_COLUMNS},
                     "drop_reason": pa.array(reasons, pa.string())})
