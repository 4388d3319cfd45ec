"""Metrics of one arm's replay: overall and per slice, each with its bootstrap interval.

| metric | per | what |
|---|---|---|
| acceptance | shown proposal | accepted whole (exactly, or close enough to fix) |
| acceptance_per_request | request | the same over every request: silence counts as not accepted, so a model cannot raise it by staying silent where it is unsure |
| partial | shown proposal | a right start taken (lines, a word, or a right proposal that stops short) |
| shown | request | a proposal was shown (not silence) |
| exact_match | request | C1 equals the true C_N cut to its unit |
| edit_similarity | request | normalized Indel similarity of C1 and that C_N |
| chars_saved | intended character | share of what the developer meant to write that the model typed |
| void_precision | silent proposal | silence where silence was right (C_N void) |
| void_recall | void C_N | the model was silent there |

Slices: language, length bucket of the target, trigger kind (where the plugin fired).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .bootstrap import Estimate, ratio_estimate
from .replay import ACCEPTED, PARTIAL, SILENT, Replayed

METRICS = (
    "acceptance", "acceptance_per_request", "partial", "shown", "exact_match", "edit_similarity", "chars_saved",
    "void_precision", "void_recall",
)
SLICES = ("language", "length_bucket", "trigger")


@dataclass(frozen=True)
class Columns:
    """The replay as per-request arrays: numerators and denominators of every metric."""

    accepted: np.ndarray
    partial: np.ndarray
    shown: np.ndarray
    ones: np.ndarray
    exact: np.ndarray
    similarity: np.ndarray
    saved: np.ndarray
    intended: np.ndarray
    silent: np.ndarray
    void: np.ndarray

    @classmethod
    def of(cls, rows: Sequence[Replayed]) -> Columns:
        def col(fn: Callable[[Replayed], float]) -> np.ndarray:
            return np.array([fn(r) for r in rows], dtype=np.float64)

        return cls(
            accepted=col(lambda r: r.outcome == ACCEPTED),
            partial=col(lambda r: r.outcome == PARTIAL),
            shown=col(lambda r: r.outcome != SILENT),
            ones=np.ones(len(rows)),
            exact=col(lambda r: r.exact_match),
            similarity=col(lambda r: r.edit_similarity),
            saved=col(lambda r: r.chars_saved),
            intended=col(lambda r: r.intended_chars),
            silent=col(lambda r: r.outcome == SILENT),
            void=col(lambda r: r.void_target),
        )

    def ratio(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        """(numerator, denominator) per request of `metric`."""
        return {
            "acceptance": (self.accepted, self.shown),
            "acceptance_per_request": (self.accepted, self.ones),
            "partial": (self.partial, self.shown),
            "shown": (self.shown, self.ones),
            "exact_match": (self.exact, self.ones),
            "edit_similarity": (self.similarity, self.ones),
            "chars_saved": (self.saved, self.intended),
            "void_precision": (self.silent * self.void, self.silent),
            "void_recall": (self.silent * self.void, self.void),
        }[metric]


@dataclass(frozen=True)
class ArmScores:
    requests: int
    overall: dict[str, Estimate]
    # slice name -> slice value -> metric -> estimate
    slices: dict[str, dict[str, dict[str, Estimate]]]


def score(rows: Sequence[Replayed], counts: np.ndarray, confidence: float) -> ArmScores:
    """Every metric overall and per slice value. `counts` is the (resamples, requests) bootstrap
    matrix shared by the arms; a slice's rate counts only its own requests of each resample."""
    columns = Columns.of(rows)

    def estimates(mask: np.ndarray) -> dict[str, Estimate]:
        out = {}
        for metric in METRICS:
            num, den = columns.ratio(metric)
            out[metric] = ratio_estimate(num * mask, den * mask, counts, confidence)
        return out

    slices: dict[str, dict[str, dict[str, Estimate]]] = {}
    for name in SLICES:
        values = np.array([getattr(r, name) for r in rows], dtype=object)
        slices[name] = {str(v): estimates((values == v).astype(np.float64)) for v in sorted(set(values.tolist()))}
    return ArmScores(len(rows), estimates(np.ones(len(rows))), slices)
