"""Static anchors around a completion request: P1 (tail of the prefix) and S1 (head of the suffix).

An anchor that occurs more than once in the known text could later be found in the wrong
place, so each one grows away from the cursor until it is unique there (up to a cap, since a
long anchor is broken by more unrelated edits).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Anchors:
    """P1 and S1 of one request. `after` is None when the suffix was never logged (prefix-only)."""

    before: str
    after: str | None


def occurs_once(haystack: str, needle: str) -> bool:
    first = haystack.find(needle)
    return first >= 0 and haystack.find(needle, first + 1) == -1


def find_all(haystack: str, needle: str) -> list[int]:
    """Every start of `needle` in `haystack`, overlapping ones included."""
    found: list[int] = []
    at = haystack.find(needle)
    while at >= 0:
        found.append(at)
        at = haystack.find(needle, at + 1)
    return found


def prefix_anchor(text: str, cursor: int, size: int, max_size: int) -> str:
    """The `size` characters before `cursor`, grown leftwards until unique in `text`."""
    start = max(0, cursor - size)
    while start > 0 and cursor - start < max_size and not occurs_once(text, text[start:cursor]):
        start -= 1
    return text[start:cursor]


def suffix_anchor(text: str, cursor: int, size: int, max_size: int) -> str:
    """The `size` characters from `cursor` on, grown rightwards until unique in `text`."""
    end = min(len(text), cursor + size)
    while end < len(text) and end - cursor < max_size and not occurs_once(text, text[cursor:end]):
        end += 1
    return text[cursor:end]


def anchors_at(text: str, cursor: int, size: int, max_size: int, *, suffix_known: bool = True) -> Anchors:
    """The anchors of a request at `cursor` in the known `text`."""
    return Anchors(
        before=prefix_anchor(text, cursor, size, max_size),
        after=suffix_anchor(text, cursor, size, max_size) if suffix_known else None,
    )
