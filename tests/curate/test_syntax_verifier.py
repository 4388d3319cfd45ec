"""Syntax verifier: the commit may not add parse errors, per language."""

from __future__ import annotations

import warnings

import pytest

from echo_spark.curate import grammars
from echo_spark.curate.records import Gap, Verdict
from echo_spark.curate.verifiers.syntax import _cause, check_syntax

from .stdlib_samples import stdlib_gaps


def _check(language: str | None, prefix: str, committed: str, suffix: str | None) -> Verdict:
    return check_syntax(Gap("r", prefix, suffix, committed, language))


@pytest.mark.parametrize("language,prefix,committed,suffix", [
    ("python", "def f(a):\n    return ", "a + 1", "\n"),
    ("javascript", "function f(a) {\n  return ", "a + 1;", "\n}\n"),
    ("cpp", "int f(int a) {\n  return ", "a + 1;", "\n}\n"),
    ("c", "int f(int a) {\n  return ", "a + 1;", "\n}\n"),
    # the window starts mid-function: errors in the context alone are not the commit's fault
    ("python", "        x = 1\n    y = (\n", "2", "\n"),
])
def test_a_commit_that_parses_is_kept(language: str, prefix: str, committed: str, suffix: str) -> None:
    assert _check(language, prefix, committed, suffix).keep


@pytest.mark.parametrize("language,prefix,committed,suffix", [
    ("python", "def f(a):\n    return ", "a +* 1)", "\n"),
    ("javascript", "function f(a) {\n  return ", "a + ;", "\n}\n"),
    ("cpp", "int f(int a) {\n  return ", "a + 1 {", "\n}\n"),
])
def test_new_errors_drop_the_commit(language: str, prefix: str, committed: str, suffix: str) -> None:
    reason = _check(language, prefix, committed, suffix).reason
    assert reason is not None and reason.split(":")[0] == "new_syntax_errors"


@pytest.mark.parametrize("prefix,committed,suffix,cause", [
    # the unit stops before its closing bracket: the error sits at the seam with the suffix
    ("def f(a):\n    return g(", "a, b", "\n\nx = 1\n", "unit_end"),
    # a real error inside the commit, well before its end
    ("def f(a):\n    ", "x = = 1\n    return a", "\n", "middle"),
])
def test_a_drop_says_its_cause(prefix: str, committed: str, suffix: str, cause: str) -> None:
    verdict = _check("python", prefix, committed, suffix)
    assert not verdict.keep and verdict.reason is not None
    assert verdict.reason.split(":") [1] == cause


def test_python_parser_has_the_last_word() -> None:
    """Python 2's `print "x"` parses for tree-sitter's grammar, not for CPython: Python's own parser drops it."""
    verdict = _check("python", "def f():\n    x = 1\n    ", 'print "hello"', "\n")
    assert verdict.stage == "syntax" and verdict.reason is not None and verdict.reason.startswith("python_syntax_error:")


def test_unsupported_language_passes_with_a_note() -> None:
    assert _check("typescript", "let x: number = ", "1 +", ";\n") == Verdict.kept("syntax", note="unsupported_language")
    assert _check(None, "", "x", None).note == "unsupported_language"


def test_void_is_kept() -> None:
    assert _check("python", "x = (", "", "\n").keep


def test_parsing_never_echoes_code_through_warnings() -> None:
    """CPython warns about suspect literals while parsing and quotes them ('invalid escape
    sequence'); the curate job's output must not show document content, so both parses stay quiet."""
    from echo_spark.curate.syntax_teacher import SyntaxTeacher

    prefix, committed = 'import re\nPATTERN = re.compile("\\d+")\nX = 0x1for y in z\n', 'y = "\\w"\n'
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _check("python", prefix, committed, "")
        SyntaxTeacher().truncate(Gap("r", prefix, "", committed, "python"))
    assert [str(w.message) for w in caught] == []


def test_errors_away_from_the_commit_are_the_contexts() -> None:
    """Spans are UTF-8 bytes of prefix + commit + suffix; the commit is bytes 10..15 here."""
    gap = Gap("r", "é" * 5, "\n", "x = 1", "python")
    assert _cause(gap, [(0, 3)]) == "context"
    assert _cause(gap, [(0, 3), (15, 15)]) == "unit_end"
    assert _cause(gap, [(11, 12)]) == "middle"


# A window cut inside a docstring: the prose before the cursor parses as broken code on its own.
DOCSTRING_WINDOW = (
    "    A Cmd instance or subclass instance is a line-oriented interpreter\n"
    "    framework.  There is no good reason to instantiate Cmd itself; rather,\n    "
)


def test_a_context_broken_before_the_cursor_line_cannot_judge_the_commit() -> None:
    """Prose in a docstring the window starts inside: the parser finds errors in the context alone
    before the cursor's line, and any commit there meets them. Kept, with the note saying why."""
    verdict = _check("python", DOCSTRING_WINDOW, "it's useful as a superclass of an interpreter", "")
    assert verdict.keep and verdict.note == "context_broken"
    # The same commit in a context that parses is judged, and dropped.
    clean = _check("python", "def f(a):\n    ", "it's useful as a superclass of an interpreter", "\n")
    assert not clean.keep and clean.reason is not None and clean.reason.startswith("new_syntax_errors")


def test_an_error_the_gap_leaves_on_the_cursor_line_is_not_a_broken_context() -> None:
    """`return g(` with a cut commit: the context's error is on the cursor's line, the gap's own."""
    verdict = _check("python", "def f(a):\n    return g(", "a, b", "\n\nx = 1\n")
    assert not verdict.keep and verdict.reason == "new_syntax_errors:unit_end"


def _fresh(grammar: str, text: str) -> str:
    from tree_sitter import Parser

    return str(Parser(grammars._language(grammar)).parse(text.encode("utf-8")).root_node)


@pytest.mark.parametrize("broken", ["", "x = (", "é = 'ü\n", "}{)("])
def test_incremental_trees_are_the_fresh_parse(broken: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The verifier parses a context incrementally from the previous document's tree and the filled
    document from the context's: each must be the tree a fresh parse gives, as a session types on
    (clean, broken and non-ASCII commits, in every grammar)."""
    reparsed = []
    real = grammars._reparse
    monkeypatch.setattr(grammars, "_reparse", lambda *args: reparsed.append(args[0]) or real(*args))
    for prefix, middle, suffix in stdlib_gaps(60):
        middle = middle + broken
        typed = len(middle) // 2
        for grammar in ("python", "javascript", "cpp"):
            # a request with half the commit typed, then the next one with all of it
            for before, inserted in ((prefix, middle[:typed]), (prefix + middle[:typed], middle[typed:])):
                context = grammars.parse(grammar, before + suffix)
                assert str(context.root_node) == _fresh(grammar, before + suffix)
                filled = grammars.parse_insertion(grammar, before, inserted, suffix)
                assert str(filled.root_node) == _fresh(grammar, before + inserted + suffix)
    assert len(reparsed) >= 10  # clean trees reused (python windows of python; the rest have errors)


@pytest.mark.parametrize("source", [
    "x = 1\n", "def f(:\n", "return 1\n", "nonlocal x\n", "yield 1\n", "def f(a, a):\n    pass\n",
    "await x\n", "x = '\\d'\n", "x = 1_\n", "a\x00b\n", "if x:\npass\n", "",
])
def test_python_parses_is_what_ast_parse_accepts(source):
    """Compiling first is only a shortcut: sources that parse but do not compile (`return` outside
    a function, a duplicate argument) still parse."""
    import ast
    import warnings

    from echo_spark.curate.grammars import python_parses

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ast.parse(source)
            expected = True
        except (SyntaxError, ValueError):
            expected = False
    assert python_parses(source) == expected
