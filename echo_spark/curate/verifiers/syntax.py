"""Syntax verifier: the commit must not make the file parse worse than the gap left empty.

Editors send windows of files, so the context alone often has parse errors; an absolute "must
parse" would drop most real samples. Instead, prefix + C_N + suffix is compared with
prefix + suffix: any new ERROR or MISSING node (tree-sitter) drops the gap. For Python, CPython's
own parser has the last word where it can judge: a context it accepts must still be accepted.
Languages without a grammar pass with a note, so their share stays visible in the metrics.
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
    if grammars.error_count(grammars.parse(grammar, filled)) > grammars.error_count(grammars.parse(grammar, without)):
        return Verdict.dropped(STAGE, "new_syntax_errors")
    if grammar == "python" and _python_parses(without) and not _python_parses(filled):
        return Verdict.dropped(STAGE, "python_syntax_error")
    return Verdict.kept(STAGE)


def _python_parses(text: str) -> bool:
    return grammars.python_ast(text) is not None
