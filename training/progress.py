"""The training progress line: step, loss, tokens/s and time left, on stderr."""

from __future__ import annotations

import sys
import time


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


class ProgressLine:
    """Time left is the average step time of this attempt times the steps still to go (a resumed
    attempt does not count the steps it skipped)."""

    def __init__(self, label: str, total_steps: int, start_step: int):
        self.label = label
        self.total_steps = total_steps
        self.start_step = start_step
        self.started = time.perf_counter()

    def line(self, step: int, loss: float, tokens_per_s: float, lr: float, val_loss: float | None = None) -> str:
        elapsed = time.perf_counter() - self.started
        done = step - self.start_step
        left = elapsed / done * (self.total_steps - step) if done else 0.0
        val = f" val {val_loss:.3f}" if val_loss is not None else ""
        return (
            f"[{self.label}] step {step}/{self.total_steps} loss {loss:.3f}{val} "
            f"tok/s {tokens_per_s:,.0f} lr {lr:.1e} elapsed {_duration(elapsed)} left {_duration(left)}"
        )

    def emit(self, *args, **kwargs) -> None:
        # Written, not print()ed: Ray Train patches print() in its workers and would echo it twice.
        sys.stderr.write(self.line(*args, **kwargs) + "\n")
        sys.stderr.flush()
