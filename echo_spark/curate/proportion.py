"""Proportioning: the gold table's mix of lengths, voids and languages, chosen, not inherited.

Raw telemetry is dominated by short single-line fills in one language; trained on it as is, a
model learns to stop early and to ignore the rest. Targets are marginal shares for two dimensions:
the C_N length bucket (void being a bucket of its own, so `target_void_share` is the share of that
bucket) and the language. Iterative proportional fitting turns the observed joint counts into the
joint distribution closest to them that has the target marginals; the table is then the largest
one every stratum can fill (capped by max_samples), and each stratum takes its quota in the order
of a seeded SHA-256 of the sample's key (session and request): deterministic, independent of how
rows were partitioned, and computable by an engine (`rank_key` is what the curate job's window
orders by), so the choice needs no row on the driver, only the strata's counts.

The train/validation split is by user (a seeded hash of user_id), never by row: the same person's
near-identical completions on both sides would leak the validation set into training.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from .text import stable_hash

VOID = "void"
# The stratum of a sample whose language is not known.
UNKNOWN_LANGUAGE = "unknown"
_FIT_ROUNDS = 100


@dataclass(frozen=True)
class SampleKey:
    """What proportioning needs of one gap."""

    session_id: str | None
    request_id: str
    language: str | None
    committed_chars: int  # len(C_N); 0 = void


def length_bucket(chars: int, edges: Sequence[int]) -> str:
    """"void", "<=16", ..., ">1024" for edges [16, ..., 1024]."""
    if chars == 0:
        return VOID
    for edge in edges:
        if chars <= edge:
            return f"<={edge}"
    return f">{edges[-1]}"


def stratum(committed_chars: int, language: str | None, edges: Sequence[int]) -> tuple[str, str]:
    """The (length bucket, language) cell a sample is counted and chosen in."""
    return length_bucket(committed_chars, edges), language or UNKNOWN_LANGUAGE


def rank_key(seed: int, session_id: str | None, request_id: str | None) -> str:
    """A sample's place in its stratum's queue: the hex SHA-256 of "proportion", the seed, the session
    and the request joined by U+001F (a null as empty), the text the engine's
    `sha2(concat_ws('\x1f', ...), 256)` hashes."""
    text = "\x1f".join(["proportion", str(seed), session_id or "", request_id or ""])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def quotas(
    counts: Mapping[tuple[str, str], int],
    *,
    edges: Sequence[int],
    length_shares: Mapping[str, float],
    void_share: float | None,
    language_shares: Mapping[str, float],
    max_samples: int | None,
) -> dict[tuple[str, str], int]:
    """How many samples each stratum keeps, from the strata's counts alone. Empty targets keep the
    observed shares."""
    buckets = {length_bucket(chars, edges) for chars in [*edges, edges[-1] + 1]}
    unknown = set(length_shares) - buckets
    if unknown:
        raise ValueError(f"length shares for buckets {sorted(unknown)}; the buckets are {sorted(buckets)}")
    counts = {cell: n for cell, n in counts.items() if n > 0}
    if not counts:
        return {}
    weights = _fit(counts, _bucket_targets(counts, length_shares, void_share), _language_targets(counts, language_shares))
    return _quotas(counts, weights, max_samples)


def proportion(
    keys: Sequence[SampleKey],
    *,
    edges: Sequence[int],
    length_shares: Mapping[str, float],
    void_share: float | None,
    language_shares: Mapping[str, float],
    max_samples: int | None,
    seed: int,
) -> list[int]:
    """Indices of the chosen samples, ascending: each stratum's quota (`quotas`), taken in `rank_key`
    order. The reference the curate job's engine-side choice is tested against."""
    strata: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, key in enumerate(keys):
        strata[stratum(key.committed_chars, key.language, edges)].append(index)
    quota = quotas({cell: len(members) for cell, members in strata.items()}, edges=edges, length_shares=length_shares,
                   void_share=void_share, language_shares=language_shares, max_samples=max_samples)
    chosen = []
    for cell, n in quota.items():
        members = sorted(strata[cell], key=lambda i: (rank_key(seed, keys[i].session_id, keys[i].request_id),
                                                      keys[i].session_id or "", keys[i].request_id or ""))
        chosen.extend(members[:n])
    return sorted(chosen)


def _bucket_targets(counts: Mapping[tuple[str, str], int], length_shares: Mapping[str, float],
                    void_share: float | None) -> dict[str, float]:
    observed = _marginal(counts, 0)
    void = observed.get(VOID, 0.0) if void_share is None else void_share
    fills = {b: s for b, s in (length_shares or observed).items() if b != VOID}
    total = sum(fills.values())
    targets = {b: (1 - void) * s / total for b, s in fills.items()} if total else {}
    targets[VOID] = void if total else 1.0
    return targets


def _language_targets(counts: Mapping[tuple[str, str], int], shares: Mapping[str, float]) -> dict[str, float]:
    targets = dict(shares) or _marginal(counts, 1)
    total = sum(targets.values())
    return {language: share / total for language, share in targets.items()}


def _marginal(counts: Mapping[tuple[str, str], int], axis: int) -> dict[str, float]:
    margin: Counter[str] = Counter()
    for cell, count in counts.items():
        margin[cell[axis]] += count
    total = sum(margin.values())
    return {value: count / total for value, count in margin.items()}


def _fit(counts: Mapping[tuple[str, str], int], buckets: Mapping[str, float],
         languages: Mapping[str, float]) -> dict[tuple[str, str], float]:
    """Iterative proportional fitting of the observed joint counts to the two target marginals."""
    weights = {cell: float(count) for cell, count in counts.items()}
    for _ in range(_FIT_ROUNDS):
        for axis, targets in ((0, buckets), (1, languages)):
            sums: Counter[str] = Counter()
            for cell, weight in weights.items():
                sums[cell[axis]] += weight
            weights = {
                cell: weight * targets.get(cell[axis], 0.0) / sums[cell[axis]] if sums[cell[axis]] else 0.0
                for cell, weight in weights.items()
            }
    return weights


def _quotas(counts: Mapping[tuple[str, str], int], weights: Mapping[tuple[str, str], float],
            max_samples: int | None) -> dict[tuple[str, str], int]:
    """Per-stratum sizes: the largest table all strata can fill at their weights, by largest remainder."""
    total_weight = sum(weights.values())
    if total_weight <= 0:
        return {}
    shares = {cell: w / total_weight for cell, w in weights.items() if w > 0}
    size = min(int(counts[cell] / share + 1e-9) for cell, share in shares.items())
    if max_samples is not None:
        size = min(size, max_samples)
    exact = {cell: size * share for cell, share in shares.items()}
    quotas = {cell: min(int(value), counts[cell]) for cell, value in exact.items()}
    by_remainder = sorted(shares, key=lambda cell: (-(exact[cell] - quotas[cell]), cell))
    for cell in by_remainder[: size - sum(quotas.values())]:
        quotas[cell] = min(quotas[cell] + 1, counts[cell])
    return quotas


def split_of(user_id: str | None, *, validation_share: float, seed: int) -> Literal["train", "validation"]:
    """The split of every sample of a user (rows without a user form one pseudo-user)."""
    position = stable_hash(("split", str(seed), user_id or "")) / 2**64
    return "validation" if position < validation_share else "train"
