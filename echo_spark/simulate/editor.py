"""The simulated editor's document: the true text, its version, and LSP-style change records.

Edits are made in Python string indexes (code points) and reported in UTF-16 code units, as
VS Code reports them: a character outside the Basic Multilingual Plane (an emoji) is two units,
so every offset after one differs from its index. Each edit goes through the gap book first, so
ground truth C_N sees the document exactly as it was before and after every change: what the
developer did, whichever way the client reports it.

A client reports an event's changes either as LSP changes (each span as made) or, a snapshot-diff
client (`simulate.habits.snapshot_diff`), as the one change between the snapshots before and
after the event, common prefix and suffix removed: where text repeats, an insertion lands at the
rightmost of its equivalent positions (Enter typed before a line break reads as inserted after
it), as in the real TaskTracker file. The tracker must read both the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..telemetry.positions import snapshot_diff, to_offset, utf16_len

if TYPE_CHECKING:
    from .gaps import GapBook


def _has_astral(text: str) -> bool:
    return not text.isascii() and max(text) > "\uffff"


@dataclass(frozen=True)
class Span:
    """`text[start:end]` of the current document replaced by `new`."""

    start: int
    end: int
    new: str


class Document:
    def __init__(self, text: str, gaps: GapBook, snapshot_diff: bool = False) -> None:
        self.text = text
        self.version = 1
        self.gaps = gaps
        self.snapshot_diff = snapshot_diff
        # Only astral characters make UTF-16 offsets differ from indexes; until one appears the
        # conversion is free.
        self._astral = _has_astral(text)

    def utf16(self, index: int) -> int:
        if not self._astral:
            return index
        return to_offset(self.text, index, "utf-16")

    def edit(self, spans: list[Span], now: float) -> list[dict[str, int | str]]:
        """Apply `spans` in order (each in the document the previous left) as one new version; the
        changes as the client reports them (none from a snapshot-diff client when the text is as before)."""
        changes: list[dict[str, int | str]] = []
        before, astral = self.text, self._astral
        # What no span touched: the text before the first start, and after each span's end.
        same_head, same_tail = len(before), len(before)
        for i, span in enumerate(spans):
            text = self.text
            same_head, same_tail = min(same_head, span.start), min(same_tail, len(text) - span.end)
            if not self.snapshot_diff:
                length = utf16_len(text[span.start : span.end])
                changes.append({"offset": self.utf16(span.start), "length": length, "text": span.new})
            self.text = text[: span.start] + span.new + text[span.end :]
            self.gaps.edit(span.start, span.end, len(span.new), text, self.text, now, final=i == len(spans) - 1)
            if not self._astral and _has_astral(span.new):
                self._astral = True
        if self.snapshot_diff:
            start, end, new = snapshot_diff(before, self.text, same_head, same_tail)
            if start == end and not new:
                return []
            offset = to_offset(before, start, "utf-16") if astral else start
            changes = [{"offset": offset, "length": utf16_len(before[start:end]), "text": new}]
        self.version += 1
        return changes
