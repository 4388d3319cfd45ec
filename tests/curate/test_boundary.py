"""Boundary verifier: void versus fill, and duplication of the code around the gap."""

from __future__ import annotations

import pytest

from echo_spark.curate.records import Drop, Gap, Verdict
from echo_spark.curate.verifiers.boundary import check_boundary


def _check(prefix: str, committed: str, suffix: str | None) -> Verdict:
    return check_boundary(Gap("r", prefix, suffix, committed, "python"), min_chars=8)


def test_void_is_kept_as_silence() -> None:
    assert _check("x = 1\n", "", "y = 2\n") == Verdict.kept("boundary", note="void")


def test_whitespace_only_commit_is_dropped() -> None:
    assert _check("x = 1\n", "\n   \n", "y = 2\n").reason == "whitespace_only"


def test_commit_repeating_the_suffix_is_dropped() -> None:
    verdict = _check("def area(w, h):\n", "    return w * h\n    return w * h\n", "    return w * h\n")
    assert verdict.reason == "repeats_suffix"


def test_commit_repeating_the_prefix_is_dropped() -> None:
    verdict = _check("total = compute_total(items)\n", "total = compute_total(items)\nprint(total)\n", None)
    assert verdict.reason == "repeats_prefix"


def test_mid_line_repeat_of_the_suffix_ignores_whitespace() -> None:
    assert _check("x = foo(", "a, b)  # done", "a, b) # done\n").reason == "repeats_suffix"


@pytest.mark.parametrize("prefix,committed,suffix", [
    ("if a:\n    if b:\n", "        go()\n    }", "\n}\n"),  # short punctuation repeats are legitimate
    ("x = foo(", "a, b", ")\n"),
    ("for i in range(n):\n", "    total += i\n", "return total\n"),
    ("def f():\n    return", " 1\n", "\ndef g():\n    return 1\n"),  # "return 1" is 7 characters
])
def test_ordinary_fills_are_kept(prefix: str, committed: str, suffix: str) -> None:
    assert _check(prefix, committed, suffix) == Verdict.kept("boundary", note="fill")


def test_drop_row_names_stage_and_reason() -> None:
    gap = Gap("req-9", "x = 1\n", None, "  \n", "python")
    assert Drop.of(gap, check_boundary(gap, min_chars=8)) == Drop("req-9", "boundary", "whitespace_only")
    with pytest.raises(ValueError, match="keeps the gap"):
        Drop.of(gap, Verdict.kept("boundary"))
