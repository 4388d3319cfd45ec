"""Syntax verifier: the commit must not make the file parse worse than the gap left empty.

Editors send windows of files, so the context alone often has parse errors; an absolute "must
parse" would drop most real samples. Instead, prefix + C_N + suffix is compared with
prefix + suffix: any new ERROR or MISSING node (tree-sitter) drops the gap. For Python, CPython's
own parser has the last word where it can judge: a context it accepts must still be accepted.
Languages without a grammar pass with a note, so their share stays visible in the metrics.

A drop says why, by where the parser's errors sit relative to the commit (`reason:cause`):
- `unit_end`: every error that touches the commit reaches its end, the seam with the suffix,
  where a cut unit breaks the file (a target that stops mid-statement, a bracket left open);
- `context`: none touches the commit: it broke against a context that was already broken
  (a typo before the cursor, a window that starts inside a statement);
- `middle`: an error inside the commit, before its last line: real broken code.

A context already broken before the cursor's line (the parser finds an error in the context
alone that starts there: a window cut inside a docstring or a literal, prose the parser reads as
code) cannot judge the commit: whatever goes there meets that
error. Such a gap is kept with the note `context_broken` rather than dropped for the context's
fault; the identifier stage skips it too (the names it would read there are not names).
"""

from __future__ import annotations

from .. import grammars
from ..records import Gap, Verdict

STAGE = "syntax"


def check_syntax(gap: Gap) -> Verdict:
    grammar = grammars.grammar_name(gap.language)
    if grammar is None:
        return Verdict.kept(STAGE, note="unsupported_language")
    if gap.is_void:
        return Verdict.kept(STAGE)
    without = gap.prefix + gap.suffix_text
    filled = gap.prefix + gap.committed + gap.suffix_text
    context = grammars.parse(grammar, without)
    if context.root_node.has_error and context_broken_before(gap, context):
        return Verdict.kept(STAGE, note=CONTEXT_BROKEN)
    tree = grammars.parse_insertion(grammar, gap.prefix, gap.committed, gap.suffix_text)
    if grammars.error_count(tree) > grammars.error_count(context):
        errors = [(n.start_byte, n.end_byte) for n in _innermost_errors(tree.root_node)]
        return Verdict.dropped(STAGE, f"new_syntax_errors:{_cause(gap, errors)}")
    # CPython judges only a context that tree-sitter parses cleanly: one that tree-sitter cannot
    # parse, CPython rejected too in every sampled case (1,670 contexts of simulated and standard
    # library windows), and each CPython parse costs as much as a tree-sitter one.
    # The filled document first: it parses in most cases, and then the context need not be parsed.
    if (grammar == "python" and not context.root_node.has_error and not grammars.python_parses(filled)
            and grammars.python_parses(without)):
        return Verdict.dropped(STAGE, f"python_syntax_error:{_cause(gap, _python_error(filled))}")
    return Verdict.kept(STAGE)


CAUSES = ("unit_end", "context", "middle")
CONTEXT_BROKEN = "context_broken"


def context_broken_before(gap: Gap, context: grammars.Tree | None = None) -> bool:
    """Does the context alone (prefix + suffix) hold a parse error that starts before the cursor's
    line? (A window cut inside a docstring or a literal: the error is the context's own, not one
    the gap leaves open on the cursor's line.) `context` is its parse tree when the caller has it."""
    grammar = grammars.grammar_name(gap.language)
    if grammar is None:
        return False
    if context is None:
        context = grammars.parse(grammar, gap.prefix + gap.suffix_text)
    if not context.root_node.has_error:
        return False
    line_start = gap.prefix.rfind("\n") + 1
    hi = len(gap.prefix[:line_start].encode("utf-8"))
    return any(n.start_byte < hi for n in _innermost_errors(context.root_node))


def _cause(gap: Gap, errors: list[tuple[int, int]]) -> str:
    """Where the errors (UTF-8 byte spans of the filled document) sit relative to the commit."""
    start = len(gap.prefix.encode("utf-8"))
    end = start + len(gap.committed.encode("utf-8"))
    touching = [(lo, hi) for lo, hi in errors if lo <= end and hi >= start]
    if not touching:
        return "context"
    if all(hi >= end for _, hi in touching):
        return "unit_end"
    return "middle"


def _innermost_errors(root: grammars.Node) -> list[grammars.Node]:
    """ERROR and MISSING nodes with no error below them: the spots where parsing went wrong."""
    found = []
    stack = [root]
    while stack:
        node = stack.pop()
        inner = [c for c in node.children if c.has_error or c.is_missing or c.is_error]
        if (node.is_error or node.is_missing) and not inner:
            found.append(node)
        stack.extend(inner)
    return found


def _python_error(text: str) -> list[tuple[int, int]]:
    """CPython's error position as a byte span of `text` (empty when it gives none)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(text, "<gap>", "exec", dont_inherit=True)
        except SyntaxError as err:
            if err.lineno is None:
                return []
            lines = text.split("\n")
            line = "\n".join(lines[: err.lineno - 1])
            at = len(line.encode("utf-8")) + (1 if err.lineno > 1 else 0)
            at += len(lines[err.lineno - 1][: max(0, (err.offset or 1) - 1)].encode("utf-8")) if err.lineno <= len(lines) else 0
            return [(at, at + 1)]
        except (ValueError, RecursionError, MemoryError):
            return []
    return []

