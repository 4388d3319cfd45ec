"""Syntax teacher: the unit being written at the trigger (never its line break), always a prefix of C_N."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from echo_spark.curate.records import Gap
from echo_spark.curate.syntax_teacher import UNIT_CUT, SyntaxTeacher, UnitAnswer
from echo_spark.units import atomic_unit
from echo_spark.curate.teacher import is_valid_answer

TEACHER = SyntaxTeacher()

CASES = [
    # (name, language, prefix, C_N, suffix, expected answer)
    ("mid_line_rest_of_statement", "python",
     "def add(a, b):\n    return a", " + b\n\n\nprint(add(1, 2))\n", "\n", " + b"),
    ("mid_line_header_takes_the_block", "python",
     "def add(a, b", "):\n    return a + b\n\n\nprint(add(1, 2))\n", "\n", "):\n    return a + b"),
    ("after_block_opener_keeps_the_block", "python",
     "for x in xs:\n", "    total += x\n    n += 1\nprint(total)\n", "", "    total += x\n    n += 1"),
    ("fresh_line_keeps_one_statement", "python",
     "x = 1\n", "y = foo(\n    x,\n)\nz = 3\n", "", "y = foo(\n    x,\n)"),
    ("partial_window_block", "python",
     "    x = 1\n    if x:\n", "        y = 2\n    z = 3\n", "", "        y = 2"),
    ("suffix_closes_the_statement", "python", "x = foo(", "a, b", ")\n", "a, b"),
    ("trailing_comment_stays", "python", "x = compute()", "  # why\nother()\n", "\n", "  # why"),
    ("comment_is_the_rest_of_its_line", "python", "# compute th", "e sum\nx = 1\n", "\n", "e sum"),
    ("cpp_block", "cpp",
     "int main() {\n", "  int x = 1;\n  return x;\n}\nint other() { return 2; }\n", "",
     "  int x = 1;\n  return x;\n}"),
    ("cpp_rest_of_statement", "cpp", "int main() {\n  int x = ", "1;\n  return x;\n", "\n}\n", "1;"),
    ("js_arrow_body", "javascript",
     "const f = (a) => {\n", "  return a.b;\n};\nconsole.log(f(1));\n", "", "  return a.b;\n}"),
    ("js_function_from_its_parameters", "javascript",
     "function g(", "a, b) {\n  return a + b;\n}\n\ng(1, 2);\n", "", "a, b) {\n  return a + b;\n}"),
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
    assert TEACHER.truncate(gap) == "    total += x"


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


# --- whole units or nothing ---------------------------------------------------------------------

@pytest.mark.parametrize("prefix,committed,suffix", [
    ("for x in xs:\n", "    total += x\n    n += 1", ""),  # the block may go on past the cut
    ("x = foo(", "a,\n        b", ""),  # the bracket is still open
    ("x = ", "compute_tot", None),  # the line was cut inside a name, no suffix logged
    ("def f():\n    return ", "a + b", ""),  # nothing says the line ended
])
def test_a_unit_cut_at_the_end_of_an_open_gap_is_dropped(prefix: str, committed: str, suffix: str | None) -> None:
    answer = TEACHER.answer(Gap("r", prefix, suffix, committed, "python"))
    assert answer.drop_reason == UNIT_CUT and answer.text == ""


def test_a_whole_unit_before_a_cut_one_is_kept() -> None:
    answer = TEACHER.answer(Gap("r", "x = 1\n", "", "y = 2\nz = foo(a,\n    b", "python"))
    assert answer == UnitAnswer("y = 2")


def test_the_suffix_closes_the_unit_at_the_end_of_a_closed_gap() -> None:
    """With a suffix anchor the gap's end is known: a unit that runs to it is whole."""
    line = Gap("r", "def f():\n    return ", suffix="\n\nx = 1\n", committed="a + b", language="python")
    assert TEACHER.answer(line) == UnitAnswer("a + b")
    block = Gap("r", "for x in xs:\n", suffix="\nprint(total)\n", committed="    total += x\n    n += 1", language="python")
    assert TEACHER.answer(block) == UnitAnswer("    total += x\n    n += 1")


def test_pipeline_drops_a_cut_unit_with_its_reason() -> None:
    from echo_spark.config import CurateConfig
    from echo_spark.curate.pipeline import RowCurator

    curator = RowCurator(CurateConfig(), TEACHER, ())
    rows = [{"request_id": "r", "prefix": "x = foo(", "suffix": "", "committed": "a,\n    b", "language": "python"}]
    [staged] = curator.curate(rows)
    assert (staged["kept"], staged["drop_stage"], staged["drop_reason"]) == (False, "teacher", UNIT_CUT)


# --- one definition: the teacher on the developer's own text gives the simulator's unit ----------

SOURCE = '''import os


class Store(object):
    """Keeps values."""

    LIMITS = {
        "small": 1,
        "large": compute(2,
                         3),
    }

    def get(self, key, default=None):
        if key in self.LIMITS:  # known
            return self.LIMITS[key]
        return default


def main(argv):
    store = Store()
    for arg in argv:
        print(store.get(arg))
'''


@pytest.mark.parametrize("end_line", [4, 9, 12, 17, 22])
def test_teacher_and_simulator_share_one_unit(end_line: int) -> None:
    """For every cursor in a region of whole lines typed into a blank line (as the simulator
    types it), the teacher given the region's rest as C_N answers the simulator's unit."""
    lines = SOURCE.splitlines(keepends=True)
    end = sum(map(len, lines[:end_line])) - 1  # the region's last line break is the blank line's
    checked = 0
    for pos in range(1, end):
        unit = atomic_unit(SOURCE, pos, end, "python")
        if not unit.strip():
            continue
        answer = TEACHER.answer(Gap("r", SOURCE[:pos], SOURCE[end:], SOURCE[pos:end], "python"))
        assert answer == UnitAnswer(unit), (pos, SOURCE[pos:end][:40])
        checked += 1
    assert checked > 20


# --- a suffix-less gap cut by the bound's line limit ends at a line end -----------------------------

def _cut(committed: str, finalize: str | None, proposal: str | None = "x = 1") -> Gap:
    # A one-line proposal: the default bound (2 x its lines) keeps fewer than 2 line breaks.
    return Gap("r", "import os\n", suffix="", committed=committed, language="python", proposal=proposal,
               finalize_reason=finalize)


def test_a_statement_ending_where_the_bound_cut_the_line_is_whole() -> None:
    """The cursor left the region (the developer typed on past the bound) and C_N holds as many
    line breaks as the bound allows: the bound cut it at the next line break, so its last line
    is complete."""
    assert TEACHER.answer(_cut("\nx = compute(a, b)", "left_region")) == UnitAnswer("\nx = compute(a, b)")


def test_a_gap_not_known_to_be_cut_at_a_line_end_still_drops() -> None:
    # finalized by the session's end: the developer may have stopped mid-line
    assert TEACHER.answer(_cut("\nx = compute(a, b)", "session_end")).drop_reason == UNIT_CUT
    # fewer line breaks than the bound allows: the text ended there, not at a cut
    assert TEACHER.answer(_cut("x = compute(a, b)", "left_region")).drop_reason == UNIT_CUT
    # no proposal shown: the bound has no line limit, the cut may be mid-line
    assert TEACHER.answer(_cut("\nx = compute(a, b)", "left_region", proposal=None)).drop_reason == UNIT_CUT
    # a statement still inside brackets at the cut goes on past it
    assert TEACHER.answer(_cut("\nx = compute(a,", "left_region")).drop_reason == UNIT_CUT


def test_a_block_ending_where_the_bound_cut_is_not_known_whole() -> None:
    """The next line may be indented into the block: a block unit cut at a line end drops."""
    gap = Gap("r", "import os\n\ndef f(a):", suffix="", committed="\n    return a", language="python",
              proposal="pass", finalize_reason="left_region")
    assert TEACHER.answer(gap).drop_reason == UNIT_CUT


# --- the configured lifecycle's bound, not its defaults ---------------------------------------------

_BOUND_ROW = {"request_id": "cut", "session_id": "s", "user_id": "u", "language": "python",
              "prefix": "import os\n\npath = '/tmp/data.txt'\n", "suffix": "",
              "committed": "\nname = os.path.basename(path)", "proposal": "name = path",
              "finalize_reason": "left_region"}


@pytest.mark.parametrize("changed", [{"no_suffix_line_factor": 3}, {"no_suffix_max_gap_chars": 20}])
def test_the_curator_reads_the_configured_no_suffix_bound(changed: dict) -> None:
    """One line break in C_N under a one-line proposal: the default bound (fewer than 2 x 1 line
    breaks, 500 characters) cut it at a line end, so the statement is whole. Under a bound that
    allows 2 line breaks, or only 20 characters, it was not cut at a line end: the unit drops."""
    from echo_spark.config import CurateConfig, LifecycleConfig
    from echo_spark.curate.pipeline import RowCurator

    [default] = RowCurator.build(CurateConfig()).curate([dict(_BOUND_ROW)])
    assert (default["kept"], default["middle"]) == (True, _BOUND_ROW["committed"])
    [same] = RowCurator.build(CurateConfig(), LifecycleConfig()).curate([dict(_BOUND_ROW)])
    assert same["kept"]
    [other] = RowCurator.build(CurateConfig(), LifecycleConfig(**changed)).curate([dict(_BOUND_ROW)])
    assert (other["kept"], other["drop_stage"], other["drop_reason"]) == (False, "teacher", UNIT_CUT)


def test_the_job_passes_the_lifecycle_to_the_curator() -> None:
    """`curate_table` (what the job's per-gap stage runs in each worker) with the configured
    lifecycle: a changed bound changes the teacher's line-end decision."""
    import pyarrow as pa

    from echo_spark.config import CurateConfig, LifecycleConfig
    from echo_spark.curate.worker import curate_table
    from echo_spark.tables import CURATE_STAGING

    rows, schema = pa.Table.from_pylist([_BOUND_ROW]), CURATE_STAGING.arrow_schema
    [default] = curate_table(CurateConfig(), schema, rows).to_pylist()
    [other] = curate_table(CurateConfig(), schema, rows, LifecycleConfig(no_suffix_line_factor=3)).to_pylist()
    assert default["kept"] and (other["kept"], other["drop_reason"]) == (False, UNIT_CUT)
