"""The ground-truth gap rules and the atomic unit, on hand-made cases."""

from __future__ import annotations

from dataclasses import fields

import pytest

from echo_spark.simulate.editor import Document, Span
from echo_spark.simulate.gaps import ANCHOR_BROKEN, DOC_CLOSED, LEFT_REGION, MAX_LIFETIME, GapBook
from echo_spark.simulate.ground_truth import RequestTruth
from echo_spark.simulate.units import atomic_unit

TEXT = "def f(x):\n    return g(x)\n"


def _row() -> RequestTruth:
    blank = {"str": "", "int": 0, "bool": False}
    required = {f.name: blank[f.type] for f in fields(RequestTruth) if f.type in blank}
    return RequestTruth(**{**required, "proposal_kind": None})


def _doc(text: str = TEXT, cursor: int = 22, anchor: int = 4) -> tuple[Document, RequestTruth, GapBook]:
    gaps = GapBook(
        anchor, left_region_s=30.0, max_lifetime_s=600.0, last_seq=lambda: 0, no_suffix_max_gap_chars=500, no_suffix_line_factor=2
    )
    doc = Document(text, gaps)
    row = _row()
    gaps.open(row, cursor, len(text), now=0.0)
    return doc, row, gaps


def test_typing_in_the_gap_and_editing_elsewhere():
    doc, row, gaps = _doc()  # cursor after "return g": P1 "rn g", S1 "(x)\n"
    doc.edit([Span(22, 22, "et")], 1.0)  # at the gap: grows it
    doc.edit([Span(0, 0, "# hi\n")], 2.0)  # before the region: shifts it
    doc.edit([Span(len(doc.text), len(doc.text), "x = 1\n")], 3.0)  # after it: leaves it
    doc.edit([Span(29, 29, "_2")], 4.0)  # at the gap's end, before S1: inside
    gaps.close_all(DOC_CLOSED, 5.0, doc.text)
    assert (row.true_committed, row.finalize_reason) == ("et_2", DOC_CLOSED)
    assert doc.text == "# hi\ndef f(x):\n    return get_2(x)\nx = 1\n"


@pytest.mark.parametrize("span", [Span(21, 22, ""), Span(24, 25, "["), Span(20, 26, "zz")])
def test_an_edit_touching_an_anchor_breaks_it_with_the_gap_before(span):
    doc, row, _ = _doc()
    doc.edit([Span(22, 22, "et")], 1.0)  # gap [22, 24), S1 from 24
    doc.edit([span], 2.0)
    assert (row.true_committed, row.finalize_reason, row.finalize_ts_ms) == ("et", ANCHOR_BROKEN, 2000)


def test_cursor_away_longer_than_left_region_commits_as_it_left():
    doc, row, gaps = _doc()
    doc.edit([Span(22, 22, "et")], 1.0)
    gaps.cursor(0, 2.0, doc.text)
    gaps.cursor(23, 20.0, doc.text)  # back within 30 s: still open
    gaps.cursor(0, 25.0, doc.text)
    gaps.tick(54.0, doc.text)
    assert row.finalize_reason is None
    gaps.tick(55.0, doc.text)
    assert (row.true_committed, row.finalize_reason, row.finalize_ts_ms) == ("et", LEFT_REGION, 25000)


def test_a_rename_reaching_into_the_gap_while_the_cursor_is_away_is_not_committed():
    """One event of several changes places the caret once, after its last change (as the tracker
    reads it): a change into the gap while the cursor is away does not bring it back, and the gap
    commits as it stood when the cursor left."""
    doc, row, gaps = _doc()
    doc.edit([Span(22, 22, "et")], 1.0)
    gaps.cursor(0, 2.0, doc.text)
    doc.edit([Span(22, 24, "ot"), Span(0, 0, "# x\n")], 10.0)  # the last change is far from the region
    gaps.tick(40.0, doc.text)
    assert (row.true_committed, row.finalize_reason, row.finalize_ts_ms) == ("et", LEFT_REGION, 2000)


def test_max_lifetime():
    doc, row, gaps = _doc()
    gaps.tick(601.0, doc.text)
    assert (row.true_committed, row.finalize_reason, row.finalize_ts_ms) == ("", MAX_LIFETIME, 600000)


def test_utf16_offsets_count_emoji_twice():
    doc, _, _ = _doc("# 🚀\nx = 1\n", cursor=5)
    assert doc.utf16(5) == 6
    change = doc.edit([Span(9, 10, "2")], 1.0)
    assert change == [{"offset": 10, "length": 1, "text": "2"}]


CODE = """def f(a,
      b):
    if a:
        return g(a,
                 b)
    return b
x = f(1, 2)
"""


@pytest.mark.parametrize("after,expected", [
    ("b):", "\n    if a:\n        return g(a,\n                 b)\n    return b"),  # block after a multi-line opener
    ("if a:", "\n        return g(a,\n                 b)"),
    ("return g(", "a,\n                 b)"),  # the statement goes on while a bracket is open
    ("x = ", "f(1, 2)"),
    ("x = f(1, 2)", ""),  # the end of the file: nothing is left to write
    ("return b", "\nx = f(1, 2)"),  # the end of a line: the next statement, line break first
    ("\n      b", "):\n    if a:\n        return g(a,\n                 b)\n    return b"),  # a header takes its block
])
def test_python_units(after, expected):
    pos = CODE.index(after) + len(after)
    assert atomic_unit(CODE, pos, len(CODE), "python") == expected


def test_brace_block_and_region_end():
    code = "int f() {\n    if (x) {\n        y();\n    }\n    return 0;\n}\nint z;\n"
    pos = code.index("{") + 1
    assert atomic_unit(code, pos, len(code), "c") == "\n    if (x) {\n        y();\n    }\n    return 0;\n}"
    assert atomic_unit(code, pos, pos + 6, "c") == "\n    i"  # clipped to the region being written
    assert atomic_unit(code, pos, pos, "c") == ""


def test_observable_truth_is_the_gap_as_the_last_event_that_showed_it_held_it():
    """Server logs show a gap only in a later request's window holding P1, the gap and S1, or in the
    request's own accept: what is typed after the last such event is C_N but not observable."""
    gaps = GapBook(4, left_region_s=30.0, max_lifetime_s=600.0, last_seq=lambda: 0, no_suffix_max_gap_chars=500,
                   no_suffix_line_factor=2, server_logs=True)
    doc = Document(TEXT, gaps)
    row = _row()
    gaps.open(row, 22, len(TEXT), now=0.0)  # P1 "rn g" [18, 22), S1 "(x)\n" [22, 26)
    doc.edit([Span(22, 22, "et")], 1.0)
    gaps.window(10, len(doc.text), doc.text)  # holds P1, "et" and S1
    doc.edit([Span(24, 24, "_2")], 2.0)
    gaps.window(20, len(doc.text), doc.text)  # starts inside P1: does not show the gap
    gaps.window(0, 27, doc.text)  # ends inside S1: nor does this one
    doc.edit([Span(26, 26, "_3")], 3.0)
    gaps.close_all(DOC_CLOSED, 5.0, doc.text)
    assert (row.true_committed, row.observable_committed, row.observable_shown) == ("et_2_3", "et", True)
    # Never shown: no observable truth.
    gaps = GapBook(4, left_region_s=30.0, max_lifetime_s=600.0, last_seq=lambda: 0, no_suffix_max_gap_chars=500,
                   no_suffix_line_factor=2, server_logs=True)
    doc, row = Document(TEXT, gaps), _row()
    gaps.open(row, 22, len(TEXT), now=0.0)
    doc.edit([Span(22, 22, "x")], 1.0)
    gaps.close_all(DOC_CLOSED, 5.0, doc.text)
    assert (row.true_committed, row.observable_committed, row.observable_shown) == ("x", None, False)
    # The request's own accept shows the gap holding the accepted text.
    gaps = GapBook(4, left_region_s=30.0, max_lifetime_s=600.0, last_seq=lambda: 0, no_suffix_max_gap_chars=500,
                   no_suffix_line_factor=2, server_logs=True)
    doc, row = Document(TEXT, gaps), _row()
    gaps.open(row, 22, len(TEXT), now=0.0)
    doc.edit([Span(22, 22, "et")], 1.0)
    gaps.accepted(row, doc.text)
    doc.edit([Span(24, 24, "!")], 2.0)
    gaps.close_all(DOC_CLOSED, 5.0, doc.text)
    assert (row.true_committed, row.observable_committed) == ("et!", "et")
    # Committed when the cursor left: a later window that still holds the gap as left shows C_N;
    # once an edit touches the region, none does.
    gaps = GapBook(4, left_region_s=30.0, max_lifetime_s=600.0, last_seq=lambda: 0, no_suffix_max_gap_chars=500,
                   no_suffix_line_factor=2, server_logs=True)
    doc, row = Document(TEXT, gaps), _row()
    gaps.open(row, 22, len(TEXT), now=0.0)
    doc.edit([Span(22, 22, "et")], 1.0)
    gaps.window(10, len(doc.text), doc.text)
    doc.edit([Span(24, 24, "_2")], 2.0)
    gaps.cursor(0, 3.0, doc.text)
    gaps.tick(40.0, doc.text)
    assert (row.true_committed, row.finalize_reason, row.observable_committed) == ("et_2", LEFT_REGION, "et")
    doc.edit([Span(0, 0, "# hi\n")], 41.0)  # before the region: shifts it
    gaps.window(0, len(doc.text), doc.text)
    assert row.observable_committed == "et_2"
    gaps = GapBook(4, left_region_s=30.0, max_lifetime_s=600.0, last_seq=lambda: 0, no_suffix_max_gap_chars=500,
                   no_suffix_line_factor=2, server_logs=True)
    doc, row = Document(TEXT, gaps), _row()
    gaps.open(row, 22, len(TEXT), now=0.0)
    doc.edit([Span(22, 22, "et")], 1.0)
    gaps.cursor(0, 3.0, doc.text)
    gaps.tick(40.0, doc.text)
    doc.edit([Span(24, 24, "!")], 41.0)  # back in the gap, typing: no later window shows C_N
    gaps.window(0, len(doc.text), doc.text)
    assert (row.true_committed, row.observable_committed, row.observable_shown) == ("et", None, False)
    # Edit telemetry shows every change: the observable truth is C_N.
    doc, row, gaps = _doc()
    doc.edit([Span(22, 22, "et")], 1.0)
    gaps.close_all(DOC_CLOSED, 5.0, doc.text)
    assert (row.observable_committed, row.observable_shown) == ("et", True)
