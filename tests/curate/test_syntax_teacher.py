"""Syntax teacher: the unit being written at the trigger, always a prefix of C_N."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from echo_spark.curate.records import Gap
from echo_spark.curate.syntax_teacher import SyntaxTeacher
from echo_spark.curate.teacher import is_valid_answer

TEACHER = SyntaxTeacher()

CASES = [
    # (name, language, prefix, C_N, suffix, expected answer)
    ("mid_line_rest_of_statement", "python",
     "def add(a, b):\n    return a", " + b\n\n\nprint(add(1, 2))\n", "\n", " + b"),
    ("mid_line_header_takes_the_block", "python",
     "def add(a, b", "):\n    return a + b\n\n\nprint(add(1, 2))\n", "\n", "):\n    return a + b"),
    ("after_block_opener_keeps_the_block", "python",
     "for x in xs:\n", "    total += x\n    n += 1\nprint(total)\n", "", "    total += x\n    n += 1\n"),
    ("fresh_line_keeps_one_statement", "python",
     "x = 1\n", "y = foo(\n    x,\n)\nz = 3\n", "", "y = foo(\n    x,\n)\n"),
    ("partial_window_uses_tree_sitter", "python",
     "    x = 1\n    if x:\n", "        y = 2\n    z = 3\n", "", "        y = 2\n"),
    ("suffix_closes_the_statement", "python", "x = foo(", "a, b", ")\n", "a, b"),
    ("trailing_comment_stays", "python", "x = compute()", "  # why\nother()\n", "\n", "  # why"),
    ("comment_is_the_rest_of_its_line", "python", "# compute th", "e sum\nx = 1\n", "\n", "e sum"),
    ("cpp_block", "cpp",
     "int main() {\n", "  int x = 1;\n  return x;\n}\nint other() { return 2; }\n", "",
     "  int x = 1;\n  return x;\n}\n"),
    ("cpp_rest_of_statement", "cpp", "int main() {\n  int x = ", "1;\n  return x;\n", "\n}\n", "1;"),
    ("js_arrow_body", "javascript",
     "const f = (a) => {\n", "  return a.b;\n};\nconsole.log(f(1));\n", "", "  return a.b;\n};\n"),
    ("js_function_from_its_parameters", "javascript",
     "function g(", "a, b) {\n  return a + b;\n}\n\ng(1, 2);\n", "", "a, b) {\n  return a + b;\n}\n"),
    ("non_ascii_text", "javascript", "let s = 'é", "té';\nfoo();\n", "\n", "té';"),
    ("unsupported_language_keeps_the_first_line", "typescript",
     "let n: number = ", "1;\nlet m = 2;\n", "\n", "1;"),
    ("void_stays_void", "python", "x = 1\n", "", "", ""),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_truncation_keeps_the_atomic_unit(case: tuple[str, str, str, str, str, str]) -> None:
    _, language, prefix, committed, suffix, expected = case
    assert TEACHER.truncate(Gap("r", prefix, suffix, committed, language)) == expected


def test_unlogged_suffix_counts_as_empty() -> None:
    gap = Gap("r", "for x in xs:\n", None, "    total += x\nprint(total)\n", "python")
    assert TEACHER.truncate(gap) == "    total += x\n"


_code = st.text(alphabet="abcxy01 =+():{}[];,.'\"\n\t#/é", max_size=60)


@settings(max_examples=300, deadline=None)
@given(prefix=_code, committed=_code, suffix=st.none() | _code,
       language=st.sampled_from(["python", "javascript", "cpp", "go"]))
def test_answer_is_always_a_prefix_of_the_commit(prefix: str, committed: str, suffix: str | None, language: str) -> None:
    answer = TEACHER.truncate(Gap("r", prefix, suffix, committed, language))
    assert is_valid_answer(answer, committed)


@pytest.mark.parametrize("answer,committed,valid", [
    ("", "", True), ("x", "", False), ("", "abc", False), ("ab", "abc", True), ("abc", "abc", True), ("b", "abc", False),
])
def test_valid_answers_are_non_empty_prefixes(answer: str, committed: str, valid: bool) -> None:
    assert is_valid_answer(answer, committed) is valid
