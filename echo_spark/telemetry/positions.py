"""Offsets in a session's position encoding <-> Python string indexes and lengths.

Editors count positions in UTF-16 code units (LSP's default), some in UTF-8 bytes, while a
Python `str` is indexed by code points. Any character outside ASCII (and every emoji, a UTF-16
surrogate pair) makes the two disagree, so every offset and length that telemetry carries is
counted or read here: by the importers and the simulator that write them, by the lifecycle
tracker that reads them. An offset that falls outside the document or inside one character is a
`PositionError`: the document's telemetry is then inconsistent and the tracker must not guess.
"""

from __future__ import annotations

from .spec import POSITION_ENCODINGS

# Python codec and bytes per code unit of the encodings where a unit is not a code point.
_CODECS = {"utf-16": ("utf-16-le", 2), "utf-8": ("utf-8", 1)}


class PositionError(ValueError):
    """An offset the document cannot hold; `reason` is the machine-readable skip reason."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def _check_encoding(encoding: str) -> None:
    if encoding not in POSITION_ENCODINGS:
        raise PositionError("unknown_position_encoding", encoding)


def unit_length(text: str, encoding: str) -> int:
    """Length of `text` in code units of `encoding`."""
    _check_encoding(encoding)
    if encoding == "utf-32" or text.isascii():
        return len(text)
    codec, width = _CODECS[encoding]
    return len(text.encode(codec, "surrogatepass")) // width


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of `offset` in a utf-16 session (as in LSP)."""
    return unit_length(text, "utf-16")


def to_index(text: str, offset: int, encoding: str) -> int:
    """The Python index of the code-unit `offset` in `text`."""
    _check_encoding(encoding)
    if offset < 0:
        raise PositionError("negative_offset", str(offset))
    if encoding == "utf-32" or text.isascii():
        if offset > len(text):
            raise PositionError("offset_out_of_range", f"{offset} > {len(text)}")
        return offset
    codec, width = _CODECS[encoding]
    encoded = text.encode(codec, "surrogatepass")
    if offset * width > len(encoded):
        raise PositionError("offset_out_of_range", f"{offset} > {len(encoded) // width}")
    try:
        index = len(encoded[: offset * width].decode(codec, "surrogatepass"))
    except UnicodeDecodeError:
        raise PositionError("offset_splits_character", str(offset)) from None
    if unit_length(text[:index], encoding) != offset:
        raise PositionError("offset_splits_character", str(offset))
    return index


def to_offset(text: str, index: int, encoding: str) -> int:
    """The code-unit offset of Python index `index` in `text`."""
    return unit_length(text[:index], encoding)


def snapshot_diff(old: str, new: str, same_head: int = 0, same_tail: int = 0) -> tuple[int, int, str]:
    """The single change between two full snapshots, `old[start:end]` -> `text`: common prefix and
    suffix removed. Taking the longest common prefix first places an insertion or deletion at the
    rightmost of its equivalent positions: the convention of the snapshot-diffed real data
    (TaskTracker), of the simulator's snapshot-diff clients and of the tracker reading a full-text
    `doc_change`. `same_head` / `same_tail`: characters at the start / end a caller knows are
    unchanged (the simulator knows where it edited), not compared again: the same result, without
    walking a long document on every keystroke."""
    limit = min(len(old), len(new))
    start = min(same_head, limit)
    while start < limit and old[start] == new[start]:
        start += 1
    tail = min(same_tail, limit - start)
    while tail < limit - start and old[len(old) - 1 - tail] == new[len(new) - 1 - tail]:
        tail += 1
    return start, len(old) - tail, new[start : len(new) - tail]
