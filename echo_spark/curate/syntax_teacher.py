"""The default teacher: keep the smallest syntactic unit of C_N that completes the trigger.

The gap is read in the committed document D = prefix + C_N + suffix, at the cursor c = len(prefix):
- triggered mid-line, or on a fresh line right after an opener (`:`, `{`, `(`, ...): the innermost
  statement that contains the cursor, i.e. the rest of the statement, or the whole block after a
  block opener;
- triggered on a fresh line otherwise: the first statement that starts in C_N;
- nothing recognisable (a comment, a broken region): the rest of the first line of C_N.
The unit is clipped to C_N, so the answer is always a prefix of C_N; later unrelated edits fall
away. Statement spans come from Python's own parser when D is valid Python (exact, and current with
the language) and from tree-sitter otherwise (it recovers from the partial windows editors send).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from . import grammars
from .records import Gap

# A line ending in one of these leaves the statement open: the next line continues it.
_OPENERS = (":", "{", "(", "[", ",", "=", "\\", "=>")
# Node types whose named children are statements (the units a teacher may keep).
_CONTAINERS = frozenset({
    "module", "block",  # python
    "program", "statement_block", "class_body",  # javascript
    "translation_unit", "compound_statement", "declaration_list", "field_declaration_list",  # cpp
})
_LINE_COMMENT = {"python": "#", "javascript": "//", "cpp": "//"}


@dataclass(frozen=True)
class _Span:
    start: int  # UTF-8 byte offsets in the committed document
    end: int


class SyntaxTeacher:
    """Truncates C_N to the statement (or block) being written; see the module docstring."""

    def truncate(self, gap: Gap) -> str:
        if gap.is_void:
            return ""
        grammar = grammars.grammar_name(gap.language)
        prefix = gap.prefix.encode("utf-8")
        committed = gap.committed.encode("utf-8")
        doc = prefix + committed + gap.suffix_text.encode("utf-8")
        cursor, commit_end = len(prefix), len(prefix) + len(committed)
        spans = _statement_spans(grammar, doc, cursor, commit_end) if grammar else []
        end = _unit_end(spans, doc, cursor, commit_end, _continues_statement(gap.prefix))
        if end is None or end <= cursor:
            end = _first_line_end(doc, cursor, commit_end)
        end = _keep_line_tail(doc, end, commit_end, _LINE_COMMENT.get(grammar or ""), gap.suffix_text)
        return committed[: end - cursor].decode("utf-8")


def _continues_statement(prefix: str) -> bool:
    """Mid-line, or a fresh line right after an opener: the cursor is inside a statement."""
    before, _, line = prefix.rpartition("\n")
    if line.strip():
        return True
    previous = next((text for text in reversed(before.splitlines()) if text.strip()), "")
    return previous.rstrip().endswith(_OPENERS)


def _unit_end(spans: list[_Span], doc: bytes, cursor: int, commit_end: int, inside: bool) -> int | None:
    if inside:
        around = [s for s in spans if s.start < cursor < s.end]
        if around:
            return min(max(around, key=lambda s: (s.start, -s.end)).end, commit_end)
        line_end = doc.find(b"\n", cursor, commit_end)
        if doc[cursor : commit_end if line_end < 0 else line_end].strip():
            return None  # the rest of a line that is no statement (a comment, a broken region)
    following = [s for s in spans if cursor <= s.start < commit_end]
    if following:
        return min(min(following, key=lambda s: (s.start, -s.end)).end, commit_end)
    return None


def _first_line_end(doc: bytes, cursor: int, commit_end: int) -> int:
    """End of the first line of C_N that has content (without its line break)."""
    position = cursor
    while position < commit_end:
        newline = doc.find(b"\n", position, commit_end)
        line_end = commit_end if newline < 0 else newline
        if doc[position:line_end].strip():
            return line_end
        position = line_end + 1
    return commit_end


def _keep_line_tail(doc: bytes, end: int, commit_end: int, comment: str | None, suffix: str) -> int:
    """Keep a trailing comment on the unit's last line, and its line break when the suffix has none.

    Without the break, code after the gap would be glued onto the unit's last line.
    """
    newline = doc.find(b"\n", end, commit_end)
    if newline < 0:
        return end
    tail = doc[end:newline].strip()
    if tail and not (comment and tail.startswith(comment.encode())):
        return end  # more code on the same line: the unit ends inside the line
    if not suffix.startswith(("\n", "\r\n")):
        return newline + 1
    return newline - doc[newline - 1 : newline].count(b"\r") if tail else end


def _statement_spans(grammar: str, doc: bytes, cursor: int, commit_end: int) -> list[_Span]:
    """Statement spans; from tree-sitter only those around [cursor, commit_end], the ones
    `_unit_end` can use (a statement that ends before the cursor or starts after C_N cannot)."""
    if grammar == "python":
        spans = _python_ast_spans(doc)
        if spans is not None:
            return spans
    tree = grammars.parse(grammar, doc.decode("utf-8"))
    return [
        _Span(node.start_byte, node.end_byte)
        for node in grammars.walk_overlapping(tree.root_node, cursor, max(commit_end, cursor + 1))
        if node.is_named
        and node.type != "comment"
        and node.parent is not None
        and node.parent.type in _CONTAINERS
    ]


def _python_ast_spans(doc: bytes) -> list[_Span] | None:
    """Statement spans from CPython's parser; None when the document is not valid Python."""
    tree = grammars.python_ast(doc)
    if tree is None:
        return None
    line_starts = [0]
    for line in doc.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))
    spans = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt) or node.end_lineno is None or node.end_col_offset is None:
            continue
        first = min([node, *getattr(node, "decorator_list", [])], key=lambda n: (n.lineno, n.col_offset))
        start = line_starts[first.lineno - 1] + first.col_offset
        spans.append(_Span(start, line_starts[node.end_lineno - 1] + node.end_col_offset))
    return spans
