"""Offsets in the session's position encoding <-> Python string indexes.

Editors count positions in UTF-16 code units (LSP's default), some in UTF-8 bytes, while a
Python `str` is indexed by code points. Any character outside ASCII (and every emoji, a UTF-16
surrogate pair) makes the two disagree, so every offset from telemetry goes through here.
An offset that falls outside the document or inside one character is a `PositionError`: the
document's telemetry is then inconsistent and the tracker must not guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from echo_spark.lifecycle.events import TextChange

# Python codec and bytes per code unit of each LSP position encoding.
_CODECS = {"utf-16": ("utf-16-le", 2), "utf-8": ("utf-8", 1)}
ENCODINGS = frozenset(_CODECS) | {"utf-32"}


class PositionError(ValueError):
    """An offset the document cannot hold; `reason` is the machine-readable skip reason."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def _check_encoding(encoding: str) -> None:
    if encoding not in ENCODINGS:
        raise PositionError("unknown_position_encoding", encoding)


def unit_length(text: str, encoding: str) -> int:
    """Length of `text` in code units of `encoding`."""
    _check_encoding(encoding)
    if encoding == "utf-32" or text.isascii():
        return len(text)
    codec, width = _CODECS[encoding]
    return len(text.encode(codec, "surrogatepass")) // width


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
    """The single edit between two full snapshots: common prefix and suffix removed.

    Taking the longest common prefix first places an insertion at the rightmost of its
    equivalent positions, the same convention as the snapshot-diffed real data; the gap tracker
    undoes that bias where it matters.
    """
    limit = min(len(old), len(new))
    start = 0
    while start < limit and old[start] == new[start]:
        start += 1
    tail = 0
    while tail < limit - start and old[len(old) - 1 - tail] == new[len(new) - 1 - tail]:
        tail += 1
    return Edit(start, len(old) - tail, new[start : len(new) - tail])
