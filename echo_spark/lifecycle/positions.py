"""LSP changes and snapshot diffs as edits in Python indexes (offsets are converted by
`echo_spark.telemetry.positions`, shared with the importers and the simulator that write them).
"""

from __future__ import annotations

from dataclasses import dataclass

from echo_spark.lifecycle.events import TextChange
from echo_spark.telemetry.positions import PositionError, snapshot_diff, to_index


@dataclass(frozen=True)
class Edit:
    """A change in Python indexes: `text[start:end]` becomes `new_text`."""

    start: int
    end: int
    new_text: str

    def apply(self, text: str) -> str:
        return text[: self.start] + self.new_text + text[self.end :]

    @property
    def delta(self) -> int:
        return len(self.new_text) - (self.end - self.start)


def edit_from_change(text: str, change: TextChange, encoding: str) -> Edit:
    """An LSP change against `text`, in Python indexes; raises `PositionError` if it does not fit."""
    if change.length < 0:
        raise PositionError("negative_length", str(change.length))
    try:
        start = to_index(text, change.offset, encoding)
        end = to_index(text, change.offset + change.length, encoding)
    except PositionError as err:
        raise PositionError("change_does_not_fit", str(err)) from None
    return Edit(start, end, change.text)


def edit_from_snapshots(old: str, new: str) -> Edit:
    """The single edit between two full snapshots (`snapshot_diff`: at the rightmost of its
    equivalent positions; the gap tracker undoes that bias where it matters)."""
    return Edit(*snapshot_diff(old, new))
