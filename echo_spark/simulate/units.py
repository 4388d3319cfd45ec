"""How code is typed and what its atomic units are.

Typing goes token by token, the way an editor reports it: a word, a run of spaces, one
punctuation character, or Enter together with the indentation the editor adds on the new line.
The atomic unit of a request is what a good completion would have proposed there: the rest of
the statement when the cursor is inside one (or at a line start), the whole block after a block
opener (`:` in Python, `{` elsewhere). It is read from the code the developer means to write,
clipped to the region being written: beyond it the text already exists.
"""

from __future__ import annotations

import re

TOKEN = re.compile(r"\n[ \t]*|[ \t]+|\w+|[^\w\s]|\s")
WORD = re.compile(r"[A-Za-z_]\w{2,}")
# Statement continuation: brackets still open, or an explicit backslash.
_OPEN, _CLOSE = "([{", ")]}"
_MAX_STATEMENT_LINES = 50

INDENT_LANGUAGES = frozenset({"python"})
LINE_COMMENT = {"python": "#", "shellscript": "#", "ruby": "#"}


def next_token(text: str, pos: int, end: int) -> str:
    match = TOKEN.match(text, pos, end)
    assert match is not None  # every character matches one alternative
    return match.group()


def line_comment(language: str) -> str:
    return LINE_COMMENT.get(language, "//")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _bracket_depth(line: str, depth: int, comment: str) -> int:
    """Depth after `line`, skipping string literals and a trailing comment (a heuristic, not a parser)."""
    quote = ""
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif line.startswith(comment, i):
            break
        elif ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        i += 1
    return depth


def _statement_end(text: str, line_start: int, end: int, comment: str) -> int:
    """End (before its newline) of the statement whose first line starts at `line_start`."""
    depth, start = 0, line_start
    for _ in range(_MAX_STATEMENT_LINES):
        stop = text.find("\n", start, end)
        if stop < 0:
            return end
        line = text[start:stop]
        depth = _bracket_depth(line, depth, comment)
        if depth == 0 and not line.endswith("\\"):
            return stop
        start = stop + 1
    return stop


def _python_block_end(text: str, body_start: int, end: int) -> int:
    """End of the indented block whose lines start at `body_start`, trailing blank lines left out.

    The block is as deep as its first line; the opener's own indentation would mislead when the
    opener closes a statement spread over several lines.
    """
    last, start, depth = body_start, body_start, None
    while start < end:
        stop = text.find("\n", start, end)
        stop = end if stop < 0 else stop
        line = text[start:stop]
        if line.strip():
            if depth is None:
                depth = _indent(line)
            elif _indent(line) < depth:
                break
            last = stop
        start = stop + 1
    return last


def _brace_block_end(text: str, pos: int, end: int, comment: str) -> int:
    """Just after the brace that closes the block opened before `pos`."""
    depth, start = 1, pos
    while start < end:
        stop = text.find("\n", start, end)
        stop = end if stop < 0 else stop
        line = text[start:stop]
        for i, ch in enumerate(line):
            if line.startswith(comment, i):
                break
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    return start + i + 1
        start = stop + 1
    return end


def atomic_unit(text: str, pos: int, end: int, language: str) -> str:
    """The unit a completion at `pos` should propose, within the region `text[:end]`."""
    if pos >= end:
        return ""
    comment = line_comment(language)
    opener = ":" if language in INDENT_LANGUAGES else "{"
    line_start = text.rfind("\n", 0, pos) + 1
    before = text[line_start:pos]
    at_line_end = text.startswith("\n", pos)
    opener_line_start = None
    if at_line_end and before.rstrip().endswith(opener):
        opener_line_start = line_start
    elif not before.strip() and line_start > 0:
        previous_start = text.rfind("\n", 0, line_start - 1) + 1
        if text[previous_start : line_start - 1].rstrip().endswith(opener):
            opener_line_start = previous_start
    if opener_line_start is not None:
        if opener == ":":
            body_start = text.find("\n", opener_line_start, end) + 1 or end
            stop = max(pos, _python_block_end(text, body_start, end))
        else:
            stop = _brace_block_end(text, pos, end, comment)
        return text[pos:stop]
    return text[pos : max(pos, _statement_end(text, line_start, end, comment))]
