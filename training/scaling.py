"""What more pretraining would buy: a power law through the validation curve.

Held-out loss against tokens seen follows L(D) = E + A * D^-alpha over a run's middle and late part
(the data-scaling form of Hoffmann et al., 2022, at a fixed model size). E is where this model size
levels off whatever the data; the fit extrapolates to token counts the run did not reach.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PowerLaw:
    floor: float  # E: the loss this model size tends to
    scale: float  # A
    exponent: float  # alpha

    def __call__(self, tokens: float) -> float:
        return self.floor + self.scale * tokens ** -self.exponent


def fit_power_law(tokens: list[float], loss: list[float], grid: int = 400) -> PowerLaw | None:
    """Least squares in log space over a grid of floors below the lowest loss; None with fewer than
    three points or no decrease to fit."""
    x, y = np.asarray(tokens, dtype=float), np.asarray(loss, dtype=float)
    if len(x) < 3 or not (np.diff(y) < 0).any():
        return None
    best: tuple[float, PowerLaw] | None = None
    for floor in np.linspace(0.0, y.min() * 0.999, grid):
        slope, intercept = np.polyfit(np.log(x), np.log(y - floor), 1)
        if slope >= 0:
            continue
        law = PowerLaw(float(floor), float(np.exp(intercept)), float(-slope))
        error = float(np.sum((np.vectorize(law)(x) - y) ** 2))
        if best is None or error < best[0]:
            best = (error, law)
    return best[1] if best else None
