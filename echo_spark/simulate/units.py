"""How code is typed and what its atomic units are.

Typing goes token by token, the way an editor reports it: a word, a run of spaces, one
punctuation character, or Enter together with the indentation the editor adds on the new line.
The atomic unit of a request is what a good completion would have proposed there; its one
definition is `echo_spark.units` (the curate teacher uses the same), read here from the code the
developer means to write, clipped to the region being written: beyond it the text already exists.
"""

from __future__ import annotations

import re

from ..units import atomic_unit, line_comment, unit_span  # noqa: F401  (re-exported: one definition)

TOKEN = re.compile(r"\n[ \t]*|[ \t]+|\w+|[^\w\s]|\s")
WORD = re.compile(r"[A-Za-z_]\w{2,}")


def next_token(text: str, pos: int, end: int) -> str:
    match = TOKEN.match(text, pos, end)
    assert match is not None  # every character matches one alternative
    return match.group()
