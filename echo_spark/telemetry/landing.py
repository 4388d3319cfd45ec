"""Landing files to numbered lines, without trusting them.

Files are read as bytes (gzip recognised by its magic number, not its name; concatenated gzip
members are read in turn) so that line numbers are exact, invalid UTF-8 is seen per line, and a
truncated upload still yields every complete line before the cut.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Iterator

GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class LandingLine:
    number: int  # 1-based
    data: bytes
    complete: bool  # False for a last line with no newline after it (a cut upload, or just no final newline)


class UnreadableFile(ValueError):
    """The file as a whole cannot be read (corrupt gzip header, say)."""


def decompress(content: bytes) -> tuple[bytes, bool]:
    """Gzip or plain bytes -> (text bytes, stream_complete)."""
    if not content.startswith(GZIP_MAGIC):
        return content, True
    parts: list[bytes] = []
    rest = content
    while rest:
        inflater = zlib.decompressobj(wbits=31)
        try:
            parts.append(inflater.decompress(rest))
        except zlib.error as err:
            if not parts:
                raise UnreadableFile(f"gzip: {err}") from None
            return b"".join(parts), False  # garbage after a complete member: keep what was read
        if not inflater.eof:
            parts.append(inflater.flush())
            return b"".join(parts), False
        rest = inflater.unused_data
    return b"".join(parts), True


def iter_lines(content: bytes) -> Iterator[LandingLine]:
    text, _complete = decompress(content)
    if not text:
        return
    pieces = text.split(b"\n")
    last = pieces.pop()
    for number, piece in enumerate(pieces, start=1):
        yield LandingLine(number, piece[:-1] if piece.endswith(b"\r") else piece, True)
    if last:
        yield LandingLine(len(pieces) + 1, last, False)
