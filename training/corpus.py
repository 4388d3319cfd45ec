"""Source text cut into training documents."""

from __future__ import annotations

from collections.abc import Iterable


def chunks(texts: Iterable[str], chars: int) -> list[str]:
    """Each text cut into pieces of about `chars` characters at line ends (training documents)."""
    out = []
    for text in texts:
        piece: list[str] = []
        size = 0
        for line in text.splitlines(keepends=True):
            piece.append(line)
            size += len(line)
            if size >= chars:
                out.append("".join(piece))
                piece, size = [], 0
        if piece:
            out.append("".join(piece))
    return out
