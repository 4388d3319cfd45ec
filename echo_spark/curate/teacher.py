"""The teacher step of the Echo paper: cut a raw commit C_N down to the atomic unit.

A user who accepted or typed a completion often goes on editing unrelated code before the gap is
committed; those later edits are not what the model should have proposed at the trigger. A teacher
changes scope only, never logic: its answer is always a prefix of C_N (a contiguous span starting
at its beginning), so every training target is text the user really committed.
"""

from __future__ import annotations

from typing import Protocol

from .records import Gap


class Teacher(Protocol):
    def truncate(self, gap: Gap) -> str:
        """The prefix of `gap.committed` that completes what was being written at the trigger."""
        ...


def is_valid_answer(answer: str, committed: str) -> bool:
    """A teacher answer is valid when it is a prefix of C_N, non-empty unless C_N is void.

    Empty for a non-void commit would turn a fill into silence: a change of the label, not of scope.
    """
    if committed == "":
        return answer == ""
    return answer != "" and committed.startswith(answer)
