"""Percentile bootstrap over documents, for rates that are a ratio of two per-request sums.

Every metric here is sum(numerator) / sum(denominator) over requests (acceptance: accepted over
shown; void recall: silent-and-void over void), so one resampling scheme serves them all: a matrix
of how often each request is drawn in each resample, and each resample's ratio from two matrix
products. Requests are not independent: those of one document share its code, its developer and
their habits, so resampling requests one by one would give intervals that are too narrow. Whole
groups (documents) are drawn with replacement instead, each bringing all of its requests.

The same matrix serves every arm, which pairs the arms request by request: the interval of a ratio
between arms comes from the same resamples.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Estimate:
    value: float | None  # None: no request counts (an empty denominator)
    low: float | None
    high: float | None
    n: float  # the denominator's total (requests, shown proposals, void targets, ...)

    def overlaps(self, other: Estimate) -> bool:
        if None in (self.low, self.high, other.low, other.high):
            return True
        return not (self.high < other.low or other.high < self.low)


def resample_counts(groups: Sequence[Hashable], resamples: int, seed: int) -> np.ndarray:
    """How often each request is drawn in each resample, a (resamples, requests) matrix, when the
    groups (one key per request, e.g. its document) are drawn with replacement."""
    keys = {key: i for i, key in enumerate(dict.fromkeys(groups))}
    if not keys:
        return np.zeros((resamples, 0))
    rng = np.random.default_rng(seed)
    drawn = rng.multinomial(len(keys), np.full(len(keys), 1.0 / len(keys)), size=resamples).astype(np.float64)
    return drawn[:, [keys[g] for g in groups]]


def _ratios(num: np.ndarray, den: np.ndarray, counts: np.ndarray) -> np.ndarray:
    totals = counts @ den
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, (counts @ num) / np.where(totals > 0, totals, 1.0), np.nan)


def _interval(samples: np.ndarray, confidence: float) -> tuple[float | None, float | None]:
    samples = samples[~np.isnan(samples)]
    if not len(samples):
        return None, None
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def ratio_estimate(num: np.ndarray, den: np.ndarray, counts: np.ndarray, confidence: float) -> Estimate:
    """sum(num) / sum(den) with its percentile interval; `counts` columns match the requests."""
    total = float(den.sum())
    if total <= 0:
        return Estimate(None, None, None, total)
    low, high = _interval(_ratios(num, den, counts), confidence)
    return Estimate(float(num.sum()) / total, low, high, total)


def paired_ratio(
    num_a: np.ndarray, den_a: np.ndarray, num_b: np.ndarray, den_b: np.ndarray, counts: np.ndarray, confidence: float
) -> Estimate:
    """How many times arm a's rate is arm b's, on the same requests, resampled together."""
    a, b = float(den_a.sum()), float(den_b.sum())
    if a <= 0 or b <= 0 or float(num_b.sum()) <= 0:
        return Estimate(None, None, None, min(a, b))
    with np.errstate(invalid="ignore", divide="ignore"):
        samples = _ratios(num_a, den_a, counts) / _ratios(num_b, den_b, counts)
    samples[~np.isfinite(samples)] = np.nan
    low, high = _interval(samples, confidence)
    return Estimate((float(num_a.sum()) / a) / (float(num_b.sum()) / b), low, high, min(a, b))
