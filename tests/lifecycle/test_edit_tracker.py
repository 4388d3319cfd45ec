"""Edit-telemetry mode, hand-written edge cases: one document followed change by change."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from echo_spark.lifecycle.anchors import Anchors
from echo_spark.lifecycle.edit_tracker import Region
from echo_spark.lifecycle.positions import Edit
from tests.lifecycle.builders import T0_US, Stream, by_request

DOC = (
    "import math\n\n\n"
    "def area(width, height):\n"
    "    # the area of a rectangle\n"
    "    return \n\n\n"
    "print(area(2, 3))\n"
)
CUR = DOC.index("return ") + len("return ")
FAR = 0  # the first line: outside every region near CUR


def _opened(doc: str = DOC) -> Stream:
    stream = Stream()
    stream.open(0, doc)
    return stream


def _rejected_request(stream: Stream, at: float, rid: str, offset: int, proposal: str = "width * height") -> None:
    stream.request(at, rid, offset)
    stream.shown(at, rid, proposal)
    stream.verdict(at, rid, accepted=False)


def test_typed_gap_is_committed_when_the_cursor_leaves_for_good() -> None:
    s = _opened()
    _rejected_request(s, 1, "r1", CUR, proposal="width * h")
    s.type_at(2, CUR, "width")
    s.type_at(3, CUR + 5, " * height")
    s.add("cursor", 5, offset=FAR)
    s.type_at(6, FAR, "import os\n")  # an edit before the region only shifts it
    s.add("doc_save", 60)
    rec = by_request(s.track())["r1"]
    assert rec.committed == "width * height"
    assert rec.finalize_reason == "left_region"
    assert rec.finalize_ts == T0_US + 5_000_000  # committed when the cursor left, not when the wait ran out
    assert rec.gap_lifetime_ms == 4000
    assert rec.c1_edit_distance == 5 and rec.c1_survival == pytest.approx(2 / 3)  # tokens width, * kept; h not
    assert rec.prefix == DOC[:CUR] and rec.suffix == DOC[CUR:]  # derived from the document
    assert rec.event_ids[:3] == ["e2", "e3", "e4"] and "e5" in rec.event_ids and "e9" not in rec.event_ids


def test_coming_back_within_the_wait_keeps_the_gap_open() -> None:
    s = _opened()
    _rejected_request(s, 1, "r1", CUR)
    s.type_at(2, CUR, "width")
    s.add("cursor", 5, offset=FAR)
    s.add("cursor", 20, offset=CUR + 5)
    s.type_at(21, CUR + 5, " ** 2")
    s.add("doc_close", 30)
    rec = by_request(s.track())["r1"]
    assert (rec.committed, rec.finalize_reason) == ("width ** 2", "doc_closed")


def test_typo_fix_inside_the_prefix_anchor_breaks_it_at_the_fix() -> None:
    doc = DOC.replace("return ", "retrun ")
    s = _opened(doc)
    _rejected_request(s, 1, "r1", CUR)
    s.type_at(2, CUR, "w")
    s.change(4, doc.index("retrun"), 6, "return")  # same length, different text: P1 no longer reads the same
    s.type_at(5, CUR + 1, "idth")
    s.add("doc_save", 90)
    rec = by_request(s.track())["r1"]
    assert rec.finalize_reason == "anchor_broken"
    assert rec.committed == "w"
    assert rec.finalize_ts == T0_US + 4_000_000


def test_anchor_character_deleted_and_retyped_stays_intact() -> None:
    s = _opened()
    _rejected_request(s, 1, "r1", CUR)
    s.change(2, CUR - 1, 1, "")  # backspace over the space before the cursor ...
    s.type_at(3, CUR - 1, " ")  # ... and type it again
    s.type_at(4, CUR, "width")
    s.add("doc_close", 10)
    rec = by_request(s.track())["r1"]
    assert (rec.committed, rec.finalize_reason) == ("width", "doc_closed")


def test_break_before_anything_was_typed_is_void() -> None:
    """C_N is the gap at the last moment both anchors were intact: here the empty gap of the request."""
    s = _opened()
    _rejected_request(s, 1, "r1", CUR)
    s.change(2, CUR - 7, 7, "yield ")  # the user rewrites the context itself
    s.add("doc_close", 60)
    rec = by_request(s.track())["r1"]
    assert rec.finalize_reason == "anchor_broken"
    assert rec.committed == "" and rec.is_void is True


def test_edit_spanning_the_anchor_and_the_gap_breaks_it() -> None:
    s = _opened()
    _rejected_request(s, 1, "r1", CUR)
    s.type_at(2, CUR, "width")
    s.change(3, CUR - 3, 6, "X")  # "rn wi" -> "X": across the P1/gap boundary
    s.add("doc_close", 60)
    rec = by_request(s.track())["r1"]
    assert (rec.committed, rec.finalize_reason) == ("width", "anchor_broken")
    assert rec.finalize_ts == T0_US + 3_000_000


def test_accepted_then_undone_is_void() -> None:
    s = _opened()
    s.request(1, "r1", CUR)
    s.shown(1, "r1", "width * height")
    s.verdict(2, "r1", accepted=True)
    s.type_at(2, CUR, "width * height")
    s.change(5, CUR, 14, "")  # undo
    s.add("cursor", 6, offset=CUR)
    s.add("doc_close", 45)
    rec = by_request(s.track())["r1"]
    assert rec.outcome == "accepted" and rec.accepted_length == 14
    assert rec.committed == "" and rec.is_void is True
    assert rec.finalize_reason == "doc_closed"
    assert rec.c1_edit_distance == 14 and rec.c1_survival == 0.0
    assert rec.retention_30s == 0.0 and rec.kept_at_first_check is False
    assert rec.retention_2m is None  # the document closed before


def test_retention_is_measured_after_a_soft_finalization() -> None:
    s = _opened()
    s.request(1, "r1", CUR)
    s.shown(1, "r1", "width * height")
    s.verdict(2, "r1", accepted=True, accepted_length=5)  # partial: "width"
    s.type_at(2, CUR, "width")
    s.type_at(3, CUR + 5, " * height")
    s.change(100, CUR, 5, "w")  # at 100 s the accepted name is rewritten
    s.add("doc_save", 130)
    rec = by_request(s.track(session_end_at=200, max_lifetime_s=60))["r1"]
    assert rec.outcome == "partial" and rec.accepted_length == 5
    assert (rec.committed, rec.finalize_reason) == ("width * height", "max_lifetime")
    assert rec.gap_lifetime_ms == 60_000
    assert rec.kept_at_first_check is True and rec.retention_30s == 1.0
    assert rec.retention_2m == 0.0  # measured past the commit (None would mean not followed)
    assert rec.retention_5m is None  # the session ended at 200 s


def test_two_requests_in_one_gap_are_tracked_independently() -> None:
    s = _opened()
    _rejected_request(s, 1, "r1", CUR)
    s.type_at(2, CUR, "width")
    _rejected_request(s, 3, "r2", CUR + 5)
    s.type_at(4, CUR + 5, " * height")
    s.add("doc_close", 10)
    recs = by_request(s.track())
    assert recs["r1"].committed == "width * height"
    assert recs["r2"].committed == " * height"
    assert recs["r2"].prefix == DOC[:CUR] + "width"


@pytest.mark.parametrize(("encoding", "unit"), [("utf-16", lambda t: len(t.encode("utf-16-le")) // 2), ("utf-8", lambda t: len(t.encode()))])
def test_non_ascii_and_emoji_before_the_cursor(encoding: str, unit) -> None:
    doc = "# café 😀 naïve\nname = '😀'\nx = \nprint(x)\n"
    cursor = doc.index("x = ") + 4
    s = _opened(doc)
    _rejected_request(s, 1, "r1", unit(doc[:cursor]))
    s.change(2, unit(doc[:cursor]), 0, "'é'")
    s.change(3, unit(doc[:cursor] + "'é'"), 0, " + '🎉'")
    s.add("cursor", 4, offset=unit(doc[:cursor] + "'é' + '🎉'"))
    s.add("doc_close", 10)
    rec = by_request(s.track(encoding=encoding))["r1"]
    assert rec.committed == "'é' + '🎉'"
    assert rec.prefix == doc[:cursor]


def test_insertion_diffed_into_the_suffix_anchor_lands_in_the_gap() -> None:
    doc = "def f():\n    a = 1\n    \n    b = 2\n    return a + b\n"
    cursor = doc.index("    \n    b") + 4
    s = _opened(doc)
    _rejected_request(s, 1, "r1", cursor)
    s.type_at(2, cursor, "c = 3")
    typed = doc[:cursor] + "c = 3"
    # Enter with auto-indent at the end of the gap, reported as a snapshot: the diff places
    # "\n    " after the "\n    " that starts S1 (its rightmost equivalent position).
    s.add("doc_change", 3, text=typed + "\n    " + doc[cursor:])
    s.type_at(4, len(typed) + 5, "d = 4")
    s.add("doc_close", 10)
    rec = by_request(s.track())["r1"]
    assert (rec.committed, rec.finalize_reason) == ("c = 3\n    d = 4", "doc_closed")


@pytest.mark.parametrize(
    ("tail", "session_end_at", "config", "reason", "committed"),
    [
        ("close", None, {}, "doc_closed", "width"),
        ("none", 30.0, {}, "session_end", "width"),
        ("none", None, {}, "end_of_data", "width"),
        ("late_save", None, {"max_lifetime_s": 20}, "max_lifetime", "width"),
        ("away", None, {"left_region_s": 5}, "left_region", "width"),
    ],
)
def test_finalization_reasons(tail: str, session_end_at, config, reason: str, committed: str) -> None:
    s = _opened()
    _rejected_request(s, 1, "r1", CUR)
    s.type_at(2, CUR, "width")
    if tail == "close":
        s.add("doc_close", 8)
    elif tail == "late_save":
        s.add("doc_save", 50)
    elif tail == "away":
        s.add("cursor", 3, offset=FAR)
        s.add("doc_save", 9)
    rec = by_request(s.track(session_end_at=session_end_at, **config))["r1"]
    assert (rec.finalize_reason, rec.committed) == (reason, committed)


def test_request_never_followed_by_anything_is_never_observed() -> None:
    s = _opened()
    _rejected_request(s, 1, "r1", CUR)
    rec = by_request(s.track())["r1"]
    assert (rec.committed, rec.finalize_reason) == (None, "never_observed")


def test_left_alone_until_the_session_ends_is_void() -> None:
    s = _opened()
    _rejected_request(s, 1, "r1", CUR)
    rec = by_request(s.track(session_end_at=100))["r1"]
    assert (rec.committed, rec.is_void, rec.finalize_reason) == ("", True, "session_end")


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (lambda s: s.change(3, len(DOC) + 50, 0, "x"), "change_does_not_fit"),
        (lambda s: s.add("cursor", 3, offset=len(DOC) + 50), "offset_out_of_range"),
    ],
)
def test_document_whose_events_do_not_fit_is_skipped_with_its_requests_accounted(build, reason: str) -> None:
    s = _opened()
    _rejected_request(s, 1, "r1", CUR)
    s.type_at(2, CUR, "width")
    build(s)
    _rejected_request(s, 4, "r2", CUR)
    result = s.track()
    assert result.skipped_reason == reason
    assert [c.request_id for c in result.completions] == ["r1", "r2"]
    for rec in result.completions:
        assert rec.committed is None and rec.finalize_reason == "document_skipped"
        assert rec.skipped_reason == reason and rec.outcome == "rejected"


def test_request_before_doc_open_skips_the_document() -> None:
    s = Stream()
    s.request(0, "r1", 0, prefix="", suffix="")
    s.open(1, DOC)
    result = s.track()
    assert result.skipped_reason == "request_before_open"
    assert result.completions[0].prefix == "" and result.completions[0].committed is None


def test_duplicates_and_arrival_order_do_not_change_the_result() -> None:
    s = _opened()
    _rejected_request(s, 1, "r1", CUR)
    s.type_at(2, CUR, "width")
    s.type_at(3, CUR + 5, " * height")
    s.add("doc_close", 10)
    clean = s.track()
    shuffled = s.rows + s.rows[2:5]
    random.Random(3).shuffle(shuffled)
    s.rows = shuffled
    assert s.track() == clean


segments = st.text(alphabet="ab\n", max_size=12)


@st.composite
def _edits(draw: st.DrawFn, a: str, g: str, b: str) -> list[tuple[str, int, int, str]]:
    """Edits confined to A (before P1), the gap, or B (after S1), in segment coordinates."""
    lens = {"A": len(a), "G": len(g), "B": len(b)}
    edits = []
    for _ in range(draw(st.integers(0, 8))):
        seg = draw(st.sampled_from("AGB"))
        at = draw(st.integers(0, lens[seg]))
        length = draw(st.integers(0, lens[seg] - at))
        new = draw(segments)
        lens[seg] += len(new) - length
        edits.append((seg, at, length, new))
    return edits


@given(segments, st.text(alphabet="ab\n", min_size=1, max_size=6), segments, st.text(alphabet="ab\n", min_size=1, max_size=6), segments, st.data())
def test_region_mapped_through_random_edits_agrees_with_the_final_text(a, p1, g, s1, b, data) -> None:
    """Edits outside the anchors move the region exactly: its gap is the gap rebuilt from the pieces."""
    parts = {"A": a, "G": g, "B": b}
    region = Region(len(a), len(a) + len(p1) + len(g) + len(s1), Anchors(p1, s1))
    for seg, at, length, new in data.draw(_edits(a, g, b)):
        base = {"A": 0, "G": len(parts["A"]) + len(p1), "B": len(parts["A"]) + len(p1) + len(parts["G"]) + len(s1)}[seg]
        edit = Edit(base + at, base + at + length, new)
        region = region.after(edit) or region
        parts[seg] = parts[seg][:at] + new + parts[seg][at + length :]
    text = parts["A"] + p1 + parts["G"] + s1 + parts["B"]
    assert region.intact(text)
    assert region.gap(text) == parts["G"]


def test_a_proposal_shown_from_before_the_cursor_is_measured_after_it() -> None:
    """The shown text repeats "return " (replace_start at the line's start); the editor inserts only
    what follows the cursor. First check, survival and edit distance are about that part."""
    line_start = DOC.rindex("\n", 0, CUR) + 1
    s = _opened()
    s.request(1, "r1", CUR)
    s.add("completion_shown", 1, request_id="r1", text="    return width * height", model="m", replace_start=line_start)
    s.verdict(2, "r1", accepted=True)
    s.type_at(2, CUR, "width * height")
    s.add("doc_close", 45)
    rec = by_request(s.track())["r1"]
    assert rec.proposal == "    return width * height" and rec.committed == "width * height"
    assert (rec.kept_at_first_check, rec.retention_30s, rec.c1_edit_distance, rec.c1_survival) == (True, 1.0, 0, 1.0)


def test_left_region_commits_the_gap_as_it_stood_when_the_cursor_left() -> None:
    """An IDE rewrite reaches into the gap while the cursor is away (one event, its last change
    elsewhere): the gap commits as it stood when the cursor left, not as read left_region_s later."""
    s = _opened()
    _rejected_request(s, 1, "r1", CUR)
    s.type_at(2, CUR, "width")
    s.add("cursor", 5, offset=FAR)
    s.add("doc_change", 10, changes=[{"offset": CUR, "length": 5, "text": "w"}, {"offset": FAR, "length": 0, "text": "# x\n"}])
    s.add("doc_save", 60)
    rec = by_request(s.track())["r1"]
    assert (rec.committed, rec.finalize_reason, rec.finalize_ts) == ("width", "left_region", T0_US + 5_000_000)


# --- the burst rule (lifecycle.burst_pause_s, telemetry/gap_ends.py) ---

_FUNC = "def f(x):\n    y = \n    return y\n"
_AT = _FUNC.index("y = ") + 4


def _typed_line_then_next(stream: Stream, pause: float, snapshot: bool = False) -> None:
    """`x + 1` typed in the gap, Enter (at the end of the gap), a pause, then the next line there."""
    _rejected_request(stream, 1, "r1", _AT, proposal="x + 1")
    stream.type_at(2, _AT, "x + 1")
    enter_at = _AT + len("x + 1")
    if snapshot:  # a snapshot diff places Enter + indentation at the start of S1, which reads the same
        typed = _FUNC[:_AT] + "x + 1" + _FUNC[_AT:]
        text = typed[:enter_at] + "\n    " + typed[enter_at:]
        stream.add("doc_change", 3, text=text)
        stream.add("cursor", 3, offset=enter_at + 5)
    else:
        stream.type_at(3, enter_at, "\n    ")
    stream.type_at(3 + pause, enter_at + 5, "z = y * 2")
    stream.add("doc_close", 200)


@pytest.mark.parametrize("snapshot", [False, True])
def test_a_new_line_started_after_a_pause_ends_the_burst(snapshot: bool) -> None:
    s = _opened(_FUNC)
    _typed_line_then_next(s, pause=5, snapshot=snapshot)
    rec = by_request(s.track())["r1"]
    assert (rec.committed, rec.finalize_reason) == ("x + 1", "burst_end")
    assert rec.finalize_ts == T0_US + 3_000_000  # as the gap stood at the Enter
    # Without the rule the next line flows into the gap until the document closes.
    rec = by_request(s.track(burst_pause_s=None))["r1"]
    assert (rec.committed, rec.finalize_reason) == ("x + 1\n    z = y * 2", "doc_closed")


def test_typing_on_at_once_and_pauses_inside_a_line_keep_the_burst() -> None:
    s = _opened(_FUNC)
    _typed_line_then_next(s, pause=0.5)
    rec = by_request(s.track())["r1"]
    assert (rec.committed, rec.finalize_reason) == ("x + 1\n    z = y * 2", "doc_closed")
    s = _opened(_FUNC)
    _rejected_request(s, 1, "r1", _AT, proposal="x + 1")
    s.type_at(2, _AT, "x +")
    s.type_at(30, _AT + 3, " 1")  # a long pause in the middle of the line
    s.add("doc_close", 40)
    assert by_request(s.track())["r1"].committed == "x + 1"


def test_enter_alone_after_a_request_at_a_line_end_is_no_burst() -> None:
    """A request at the end of an opener's line: Enter, then thinking before the body: the gap
    holds no typed text yet, so nothing ends; the body typed after the pause is the answer."""
    doc = "def f(x):\n\nprint(f(1))\n"
    at = doc.index(":") + 1
    s = _opened(doc)
    _rejected_request(s, 1, "r1", at, proposal="\n    return x")
    s.type_at(2, at, "\n    ")
    s.type_at(10, at + 5, "return x")
    s.add("doc_close", 20)
    assert by_request(s.track())["r1"].committed == "\n    return x"


# --- what auto-closing editors and snapshot-diff clients report (the simulator's habits) ---


def test_an_anchor_reads_as_restored_only_with_the_gap_as_before_the_damage() -> None:
    """S1 starts with the `)` the editor auto-closed; the developer types `a`, moves over the `)`
    and types on after it, which breaks S1. A line that ends with `)` again makes the region read
    P1 + gap + S1 once more, but with everything typed since in the gap: no repair."""
    doc = "y = f()\nprint(y)\n"
    at = doc.index("(") + 1
    s = _opened(doc)
    _rejected_request(s, 1, "r1", at, proposal="a")
    s.type_at(2, at, "a")
    s.add("cursor", 3, offset=at + 2)  # typed over the auto-closed `)`
    s.type_at(4, at + 2, " + h(b")
    s.type_at(5, at + 8, ")")  # the span ends with `)\nprint(y)\n` again
    s.add("doc_close", 60)
    rec = by_request(s.track())["r1"]
    assert (rec.committed, rec.finalize_reason, rec.finalize_ts) == ("a", "anchor_broken", T0_US + 4_000_000)


def _snapshot(stream: Stream, at: float, text: str) -> None:
    """A snapshot-diff client (as the TaskTracker file): the change between consecutive snapshots,
    and the cursor at the end of what the diff inserted."""
    stream.add("doc_change", at, text=text)
    old = next(r["text"] for r in reversed(stream.rows[:-1]) if r.get("text") is not None)
    start = next((i for i, (a, b) in enumerate(zip(old, text)) if a != b), min(len(old), len(text)))
    stream.add("cursor", at, offset=start + len(text) - len(old))


def test_enter_that_a_snapshot_diff_places_past_s1_is_read_at_the_gap_end() -> None:
    """The gap runs up to the line break that ends the document (S1 = "\\n"): Enter typed at the end
    of the gap is diffed after that line break, past S1, where the region would never see it and
    the cursor would seem to have left. Read at the gap's end, the two lines typed in one go end
    their burst together."""
    s = _opened("x = 1\n")
    _rejected_request(s, 1, "r1", 5, proposal=" + 2")
    _snapshot(s, 2, "x = 1 + 2\n")
    _snapshot(s, 3, "x = 1 + 2\n\n")  # Enter at 9, diffed at 10
    _snapshot(s, 3.5, "x = 1 + 2\ny = 3\n")
    _snapshot(s, 4, "x = 1 + 2\ny = 3\n\n")  # Enter at 15, diffed at 16
    _snapshot(s, 20, "x = 1 + 2\ny = 3\nz = 4\n")
    s.add("doc_close", 30)
    rec = by_request(s.track())["r1"]
    assert (rec.committed, rec.finalize_reason, rec.finalize_ts) == (" + 2\ny = 3", "burst_end", T0_US + 4_000_000)


def test_an_edit_where_the_client_showed_the_caret_keeps_its_position() -> None:
    """The same text, but the client showed the caret past S1 first: the developer typed there,
    outside the region, so the gap stays as it was and the cursor has left."""
    s = _opened("x = 1\n")
    _rejected_request(s, 1, "r1", 5, proposal=" + 2")
    s.type_at(2, 5, " + 2")
    s.add("cursor", 3, offset=10)  # the start of the last line, right after S1
    s.type_at(4, 10, "\n")
    s.type_at(4.5, 11, "y = 3")
    s.add("doc_close", 60)
    rec = by_request(s.track())["r1"]
    assert (rec.committed, rec.finalize_reason, rec.finalize_ts) == (" + 2", "left_region", T0_US + 4_000_000)
