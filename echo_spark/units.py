"""The atomic unit of a completion request: one definition, shared by the simulator and curate.

The simulator says which unit a developer meant to write at each request (`intended_unit`); the
curate teacher cuts C_N down to the unit of its trigger. They are two readings of one thing, so
they use this one function: if they disagreed on a convention (a trailing newline, where a block
ends), every gold target would be "wrong" against the truth while being right by its own rule.

The unit at `pos`, in `text[:end]`:
- on a fresh line right after a block opener (`:` in Python, `{` elsewhere), or at the end of
  the opener's line: the whole block, its lines up to the first line indented less than its first
  (Python) or up to the closing brace;
- otherwise the rest of the statement the cursor is in: to the end of the line where brackets
  are balanced (no trailing backslash); counted from the cursor's line, so inside a long literal
  (a dict spread over lines) the unit is the element on that line, not the whole literal. A
  Python statement whose last line ends with `:` takes its block too (a header is no unit
  without its body);
- never the line break that ends it: the developer's next Enter starts the next unit.

`closed` says whether the unit's end was found by its own syntax (a line break at depth 0, a
dedented line, the closing brace) before `end`; otherwise it runs to `end`, and whether the unit
is whole depends on what follows `end` (the curate teacher decides with the suffix).
Pure Python, a heuristic rather than a parser: editors send windows of files, often unparsable.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

_OPEN, _CLOSE = "([{", ")]}"
# A statement longer than this is cut: a runaway bracket in broken code must not swallow the file.
_MAX_STATEMENT_LINES = 50

INDENT_LANGUAGES = frozenset({"python"})
LINE_COMMENT = {"python": "#", "shellscript": "#", "ruby": "#", "r": "#", "perl": "#", "yaml": "#"}


@dataclass(frozen=True)
class UnitSpan:
    """The unit is `text[pos:end]`; `closed`: its end was found before the end of the known text."""

    end: int
    closed: bool


def line_comment(language: str | None) -> str:
    return LINE_COMMENT.get(language or "", "//")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _unquoted(line: str) -> Iterator[tuple[int, str]]:
    """Index and character of every character of `line` outside string literals (quotes excluded)."""
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
        else:
            yield i, ch
        i += 1


def _code_part(line: str, comment: str) -> str:
    """The line without a trailing comment (string literals respected)."""
    for i, _ in _unquoted(line):
        if line.startswith(comment, i):
            return line[:i]
    return line


def _bracket_depth(line: str, depth: int, comment: str) -> int:
    """Depth after `line`, skipping string literals and a trailing comment (a heuristic, not a parser)."""
    for i, ch in _unquoted(line):
        if line.startswith(comment, i):
            break
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
    return depth


def _statement_end(text: str, line_start: int, end: int, comment: str) -> UnitSpan:
    """End (before its line break) of the statement whose first line starts at `line_start`."""
    depth, start = 0, line_start
    for _ in range(_MAX_STATEMENT_LINES):
        stop = text.find("\n", start, end)
        if stop < 0:
            return UnitSpan(end, False)
        line = text[start:stop]
        depth = _bracket_depth(line, depth, comment)
        if depth == 0 and not line.endswith("\\"):
            return UnitSpan(stop - (1 if line.endswith("\r") else 0), True)
        start = stop + 1
    return UnitSpan(stop, True)


def _python_block_end(text: str, body_start: int, end: int, empty_end: int) -> UnitSpan:
    """End of the indented block whose lines start at `body_start`, trailing blank lines left out.

    The block is as deep as its first line; the opener's own indentation would mislead when the
    opener closes a statement spread over several lines. Closed when a shallower line follows.
    """
    last, start, depth = body_start, body_start, None
    while start < end:
        stop = text.find("\n", start, end)
        if stop < 0:
            # The last known line: it may go on past `end`; it counts only if the block does.
            stop = end
        line = text[start:stop]
        if line.strip():
            if depth is None:
                depth = _indent(line)
            elif _indent(line) < depth:
                return UnitSpan(last, True)
            last = stop - (1 if line.endswith("\r") else 0)
        start = stop + 1
    return UnitSpan(last if depth is not None else empty_end, False)


def _brace_block_end(text: str, pos: int, end: int, comment: str) -> UnitSpan:
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
                    return UnitSpan(start + i + 1, True)
        start = stop + 1
    return UnitSpan(end, False)


def unit_span(text: str, pos: int, end: int, language: str | None) -> UnitSpan:
    """Where the unit a completion at `pos` should propose ends, within the known `text[:end]`."""
    if pos >= end:
        return UnitSpan(pos, True)
    comment = line_comment(language)
    indented = language in INDENT_LANGUAGES
    opener = ":" if indented else "{"
    line_start = text.rfind("\n", 0, pos) + 1
    before = text[line_start:pos]
    opener_line_start = None
    if text.startswith(("\n", "\r\n"), pos) and _code_part(before, comment).rstrip().endswith(opener):
        opener_line_start = line_start
    elif not before.strip() and line_start > 0:
        previous_start = text.rfind("\n", 0, line_start - 1) + 1
        if _code_part(text[previous_start : line_start - 1], comment).rstrip().endswith(opener):
            opener_line_start = previous_start
    if opener_line_start is not None:
        if indented:
            body_start = text.find("\n", opener_line_start, end) + 1 or end
            return _block_at_least(_python_block_end(text, body_start, end, pos), pos)
        return _brace_block_end(text, pos, end, comment)
    statement = _statement_end(text, line_start, end, comment)
    if statement.closed and statement.end <= pos:
        # Nothing left on the cursor's line: the unit is the next statement, line break included.
        next_start = text.find("\n", pos, end) + 1
        while next_start and not text[next_start : text.find("\n", next_start, end) % (end + 1)].strip():
            next_start = text.find("\n", next_start, end) + 1
        if not next_start:
            return UnitSpan(pos, False)  # only blank lines follow: nothing is left to write
        statement = _statement_end(text, next_start, end, comment)
    if indented and statement.closed:
        last_line = text[text.rfind("\n", 0, statement.end) + 1 : statement.end]
        if _code_part(last_line, comment).rstrip().endswith(":") and statement.end > pos:
            body_start = text.find("\n", statement.end, end) + 1 or end
            return _block_at_least(_python_block_end(text, body_start, end, statement.end), pos)
    return _block_at_least(statement, pos)


def _block_at_least(span: UnitSpan, pos: int) -> UnitSpan:
    return span if span.end >= pos else UnitSpan(pos, span.closed)


def atomic_unit(text: str, pos: int, end: int, language: str | None) -> str:
    """The unit a completion at `pos` should propose, within the region `text[:end]`."""
    return text[pos : unit_span(text, pos, end, language).end]
