"""Server-log mode: gaps seen only through the prefix/suffix windows of later requests."""

from __future__ import annotations

import pytest

from tests.lifecycle.builders import T0_US, Stream, by_request

HEAD = "import numpy as np\n\n\ndef load(path):\n    data = np.loadtxt(path)\n    return "
TAIL = "\n\n\ndef main():\n    print(load('x.txt'))\n"


def _request(s: Stream, at: float, rid: str, prefix: str, suffix: str | None, proposal: str = "data") -> None:
    s.request(at, rid, len(prefix), prefix=prefix, suffix=suffix)
    s.shown(at, rid, proposal)
    s.verdict(at, rid, accepted=False)


def test_later_window_shows_the_gap_between_both_anchors() -> None:
    s = Stream()
    _request(s, 1, "r1", HEAD, TAIL)
    _request(s, 5, "r2", HEAD + "data.mean(", ")" + TAIL)  # the user typed, cursor inside the gap
    result = s.track(session_end_at=20)
    recs = by_request(result)
    assert (recs["r1"].committed, recs["r1"].finalize_reason) == ("data.mean()", "session_end")
    assert recs["r1"].tracking_mode == "requests"
    assert recs["r1"].event_ids[-1] == "e4"  # r2's request event showed the gap
    assert (recs["r2"].committed, recs["r2"].finalize_reason) == (None, "never_observed")


def test_truncated_windows_elsewhere_count_as_leaving_the_region() -> None:
    s = Stream()
    _request(s, 1, "r1", HEAD, TAIL)
    _request(s, 5, "r2", HEAD[-40:] + "data", TAIL[:40])  # truncated, but both anchors in view
    _request(s, 7, "r3", HEAD[-40:] + "data.T", TAIL[:10])  # cut inside S1: the gap is not shown
    _request(s, 10, "r4", "    print(load(", "'x.txt'))\n")  # a window that does not show the region
    _request(s, 50, "r5", "    print(load(", "'x.txt'))\n")
    recs = by_request(s.track())
    assert (recs["r1"].committed, recs["r1"].finalize_reason) == ("data", "left_region")
    assert recs["r1"].finalize_ts == T0_US + 10_000_000


def test_one_anchor_missing_where_the_window_must_show_it_is_a_break() -> None:
    s = Stream()
    _request(s, 1, "r1", HEAD, TAIL)
    _request(s, 5, "r2", HEAD + "data", TAIL)
    _request(s, 8, "r3", HEAD + "data", "\n\ndef run():\n    pass\n")  # S1 was rewritten
    recs = by_request(s.track())
    assert (recs["r1"].committed, recs["r1"].finalize_reason) == ("data", "anchor_broken")
    assert recs["r1"].finalize_ts == T0_US + 8_000_000


def test_prefix_only_gap_runs_to_the_later_cursor_within_bounds() -> None:
    s = Stream()
    _request(s, 1, "r1", HEAD, None, proposal="data.mean()")
    _request(s, 4, "r2", HEAD + "data.", None)
    _request(s, 6, "r3", HEAD + "data.sum()\n", None)
    _request(s, 9, "r4", HEAD + "data.sum()\n\ndef other():\n    ", None)  # two lines on: moved on
    recs = by_request(s.track(session_end_at=100))
    assert recs["r1"].tracking_mode == "prefix_only"
    assert (recs["r1"].committed, recs["r1"].finalize_reason) == ("data.sum()\n", "left_region")
    assert recs["r1"].finalize_ts == T0_US + 9_000_000
    # r4's cursor is two lines past r3's anchor too: the bound of a one-line proposal cuts r3's
    # gap before the cursor, so it is complete, and the user has left it.
    assert (recs["r3"].committed, recs["r3"].finalize_reason) == ("\ndef other():", "left_region")


def test_accepted_proposal_checked_in_later_windows() -> None:
    s = Stream()
    s.request(1, "r1", len(HEAD), prefix=HEAD, suffix=TAIL)
    s.shown(1, "r1", "data")
    s.verdict(2, "r1", accepted=True)
    _request(s, 3, "r2", HEAD + "data", TAIL)
    _request(s, 20, "r2b", HEAD + "data.", TAIL)
    _request(s, 40, "r3", HEAD + "dat", "a.T" + TAIL)
    recs = by_request(s.track(session_end_at=60))
    rec = recs["r1"]
    assert rec.outcome == "accepted" and rec.kept_at_first_check is True
    assert rec.retention_30s == 1.0 and rec.retention_2m is None
    assert rec.committed == "data.T"


def test_orphans_and_duplicate_requests_are_accounted() -> None:
    s = Stream()
    _request(s, 1, "r1", HEAD, TAIL)
    s.add("completion_request", 2, request_id="r1", offset=0, prefix="", suffix="")  # same id, new event
    s.shown(3, "ghost", "x")
    s.verdict(4, "ghost", accepted=True)
    result = s.track()
    assert [c.request_id for c in result.completions] == ["r1"]
    assert {(o.event_id, o.reason) for o in result.orphans} == {
        ("e4", "duplicate_request"),
        ("e5", "no_request"),
        ("e6", "no_request"),
    }


def _accept_no_window_shows(accepted_at: float) -> Stream:
    """A proposal of r1 accepted at `accepted_at`, then the document closed at 30 s with no later request."""
    s = Stream()
    s.request(1, "r1", len(HEAD), prefix=HEAD, suffix=TAIL)
    s.shown(1, "r1", "data.sum()")
    s.verdict(accepted_at, "r1", accepted=True)
    s.add("doc_close", 30)
    return s


def test_an_accept_with_no_later_window_commits_the_accepted_text() -> None:
    """The server saw the proposal go into the gap; nothing it logged later contradicts that, nor
    verifies it: committed, marked unverified."""
    rec = by_request(_accept_no_window_shows(2).track())["r1"]
    assert (rec.committed, rec.committed_observed, rec.finalize_reason) == ("data.sum()", False, "doc_closed")


def test_an_accept_at_the_end_of_the_document_is_cut_by_the_bound() -> None:
    s = Stream()
    s.request(1, "r1", len(HEAD), prefix=HEAD, suffix="")
    s.shown(1, "r1", "data\n\n\ndef main():\n    pass\n")
    s.verdict(2, "r1", accepted=True)
    s.add("doc_close", 30)
    rec = by_request(s.track())["r1"]
    # A proposal of six lines bounds the gap at twelve line breaks: the whole proposal fits.
    assert rec.committed == "data\n\n\ndef main():\n    pass\n"
    s = Stream()
    s.request(1, "r1", len(HEAD), prefix=HEAD, suffix="")
    s.shown(1, "r1", "x" * 20)
    s.verdict(2, "r1", accepted=True)
    _request(s, 5, "r2", HEAD + "x" * 600, "")
    s.add("doc_close", 30)
    assert by_request(s.track())["r1"].committed == "x" * 500  # no_suffix_max_gap_chars
    # An accepted text longer than the cap stretches it: the accepted text fits in its own gap.
    s = Stream()
    s.request(1, "r1", len(HEAD), prefix=HEAD, suffix="")
    s.shown(1, "r1", "x" * 600)
    s.verdict(2, "r1", accepted=True)
    s.add("doc_close", 30)
    assert by_request(s.track())["r1"].committed == "x" * 600


def test_where_p1_repeats_the_offsets_pick_the_region() -> None:
    from echo_spark.lifecycle.anchors import Anchors
    from echo_spark.telemetry.gap_ends import GapBound
    from echo_spark.lifecycle.window_tracker import sight

    anchors, bound = Anchors(before="P1XX", after="S1YY"), GapBound(500)
    prefix, suffix = "P1XXoneS1YY\n\n\nP1XXtwoS1YY\n", "end"
    second = prefix.index("P1XX", 1)
    assert second % 2 == 0
    assert sight(anchors, prefix, suffix, bound).kind == "out_of_view"  # two places, no offsets: never guess
    assert sight(anchors, prefix, suffix, bound, expected=0).gap == "one"
    assert sight(anchors, prefix, suffix, bound, expected=0).anchor_choice == "offsets"
    assert sight(anchors, "xxP1XXoneS1YY", "", bound).anchor_choice == "unique"
    assert sight(anchors, prefix, suffix, bound, expected=second + 2).gap == "two"  # moved a little: still nearest
    assert sight(anchors, prefix, suffix, bound, expected=second // 2).kind == "out_of_view"  # halfway: a tie
    no_suffix = Anchors(before="P1XX", after=None)
    assert sight(no_suffix, "P1XXone\nP1XXtwo", None, bound).gap == "two"  # the last before the cursor
    assert sight(no_suffix, "P1XXone\nP1XXtwo", None, bound, expected=0).gap == "one\nP1XXtwo"


# --- issue 19: server-log fidelity -------------------------------------------------------------


def _window(s: Stream, at: float, rid: str, doc: str, cursor: int, before: int | None = None, after: int | None = None) -> None:
    """A later request at `cursor` of the document `doc`, its windows cut to `before`/`after` characters."""
    start = 0 if before is None else max(0, cursor - before)
    end = len(doc) if after is None else cursor + after
    _request(s, at, rid, doc[start:cursor], doc[cursor:end])
    s.rows[-3]["offset"] = cursor  # the document offset, whatever the window's size


def test_p1_retyped_inside_the_gap_is_found_by_the_offsets() -> None:
    """The developer types P1's text again in the gap: the region's P1 is the occurrence where the
    offsets put it, not the innermost one before S1 (which made the gap collapse to its tail)."""
    s = Stream()
    _request(s, 1, "r1", HEAD, TAIL)
    gap = "data\n    if data is None:\n        return 0\n    return data"
    assert " return " in gap and HEAD.endswith(" return ")  # P1 at anchor_chars=8 is " return "
    _window(s, 5, "r2", HEAD + gap + TAIL, len(HEAD + gap))
    recs = by_request(s.track(session_end_at=20, anchor_chars=8))
    assert recs["r1"].committed == gap


def test_s1_retyped_in_the_gap_before_the_cursor_stays_in_the_gap() -> None:
    """S1's text typed in the gap, cursor after it: the first S1 after P1 that keeps the cursor
    inside is the region's."""
    s = Stream()
    _request(s, 1, "r1", HEAD, TAIL)
    gap = "data\n\n\ndef make():\n    pass"
    assert TAIL[:8] == "\n\n\ndef m" and TAIL[:8] in gap  # S1 at anchor_chars=8, typed again in the gap
    _window(s, 5, "r2", HEAD + gap + TAIL, len(HEAD + gap))
    recs = by_request(s.track(session_end_at=20, anchor_chars=8))
    assert recs["r1"].committed == gap


def test_p1_scrolled_out_of_the_top_of_a_later_window_is_out_of_view_not_broken() -> None:
    """A long gap pushes P1 out of the top of the later prefix window; the offsets say it is just
    above, so the anchor is not broken and a later full window still shows the gap."""
    s = Stream()
    _request(s, 1, "r1", HEAD, TAIL)
    first = "data.mean()"
    _window(s, 4, "r2", HEAD + first + TAIL, len(HEAD + first))
    long_gap = first + " + sum(x * x for x in data) / len(data)"
    doc = HEAD + long_gap + TAIL
    _window(s, 8, "r3", doc, len(HEAD + long_gap), before=30, after=40)  # P1 above the window's top
    _window(s, 12, "r4", doc, len(HEAD + long_gap))
    recs = by_request(s.track(session_end_at=20))
    assert (recs["r1"].committed, recs["r1"].finalize_reason) == (long_gap, "session_end")


def test_a_prefix_only_window_ending_inside_the_gap_does_not_shorten_it() -> None:
    """The later cursor moved back into the gap: the prefix-only window shows how the gap starts,
    a lower bound, not a new (shorter) value."""
    s = Stream()
    _request(s, 1, "r1", HEAD, None, proposal="data.mean()")
    _request(s, 4, "r2", HEAD + "data.mean()", None)
    _request(s, 6, "r3", HEAD + "data.", None)  # the cursor back inside the gap
    recs = by_request(s.track(session_end_at=20))
    assert recs["r1"].committed == "data.mean()"
    # A window that disagrees with the earlier gap is new evidence and replaces it.
    s = Stream()
    _request(s, 1, "r1", HEAD, None, proposal="data.mean()")
    _request(s, 4, "r2", HEAD + "data.mean()", None)
    _request(s, 6, "r3", HEAD + "data.s", None)
    assert by_request(s.track(session_end_at=20))["r1"].committed == "data.s"


def test_an_accept_is_verified_only_by_a_window_after_it() -> None:
    # A window before the accept does not verify what the accept put in the gap.
    s = Stream()
    s.request(1, "r1", len(HEAD), prefix=HEAD, suffix=TAIL)
    s.shown(1, "r1", "data.sum()")
    _request(s, 1.5, "r2", HEAD, TAIL)
    s.verdict(2, "r1", accepted=True)
    s.add("doc_close", 30)
    rec = by_request(s.track())["r1"]
    assert (rec.committed, rec.committed_observed) == ("data.sum()", False)
    # A later window that shows it verifies it.
    s = Stream()
    s.request(1, "r1", len(HEAD), prefix=HEAD, suffix=TAIL)
    s.shown(1, "r1", "data.sum()")
    s.verdict(2, "r1", accepted=True)
    _request(s, 5, "r2", HEAD + "data.sum()", TAIL)
    s.add("doc_close", 30)
    rec = by_request(s.track())["r1"]
    assert (rec.committed, rec.committed_observed) == ("data.sum()", True)


def test_a_proposal_that_repeats_the_end_of_the_prefix_is_measured_after_the_cursor() -> None:
    """Copilot's text starts before the cursor (the prefix ends with "split(", the text repeats
    it): kept_at_first_check, survival and edit distance are about what follows the cursor."""
    prefix = "X, Y = load()\nparts = train_test_split("
    s = Stream()
    s.request(1, "r1", len(prefix), prefix=prefix, suffix=None)
    s.shown(1, "r1", "split(X, Y)")
    s.verdict(2, "r1", accepted=True)
    _request(s, 4, "r2", prefix + "X, Y)", None)
    _request(s, 40, "r3", prefix + "X, Y)", None)
    rec = by_request(s.track(session_end_at=60))["r1"]
    assert rec.proposal == "split(X, Y)"  # C1 as shown
    assert rec.committed == "X, Y)"
    assert (rec.kept_at_first_check, rec.c1_edit_distance, rec.c1_survival, rec.retention_30s) == (True, 0, 1.0, 1.0)


def test_replace_start_says_where_the_shown_text_begins() -> None:
    """With replace_start at the cursor nothing is repeated, even where the prefix happens to end
    with the text's head; before the cursor, that many units are."""
    from echo_spark.lifecycle.events import event_from_row
    from echo_spark.lifecycle.outcome import repeated_head

    assert repeated_head("(a)", "f(", None, None, "utf-16") == 1  # the overlap rule
    assert repeated_head("(a)", "f(", 2, 2, "utf-16") == 0  # replace_start at the cursor
    assert repeated_head("f(a)", "f(", 0, 2, "utf-16") == 2
    assert repeated_head("\U0001f600(a)", "\U0001f600", 0, 2, "utf-16") == 1  # two UTF-16 units, one character
    prefix = "y = f("
    s = Stream()
    s.request(1, "r1", len(prefix), prefix=prefix, suffix=None)
    s.add("completion_shown", 1, request_id="r1", text="(a)", model="m", replace_start=len(prefix))
    s.verdict(2, "r1", accepted=True)
    _request(s, 4, "r2", prefix + "(a)", None)
    rec = by_request(s.track(session_end_at=60))["r1"]
    assert (rec.committed, rec.kept_at_first_check, rec.c1_edit_distance) == ("(a)", True, 0)
    # Bronze keeps the field among the event's unknown fields until it has a column of its own.
    row = {"event_id": "e", "type": "completion_shown", "ts": 0, "extra": '{"replace_start": 7}'}
    assert event_from_row(row).replace_start == 7
    assert event_from_row({**row, "extra": '{"other": 1}'}).replace_start is None



def test_a_silence_longer_than_window_silence_s_ends_following_the_gap() -> None:
    """No request in the document for longer than window_silence_s after the logs last put the
    cursor in the gap, then a window finds it back inside: the developer was elsewhere (typing sends
    requests), so C_N is the gap last seen, committed when it was last seen."""
    s = Stream()
    _request(s, 1, "r1", HEAD, TAIL)
    _request(s, 5, "r2", HEAD + "data", TAIL)
    _request(s, 60, "r3", HEAD + "data.mean(", ")" + TAIL)  # 55 s later, back in the gap
    recs = by_request(s.track(session_end_at=80))
    assert (recs["r1"].committed, recs["r1"].finalize_reason) == ("data", "left_region")
    assert recs["r1"].finalize_ts == T0_US + 5_000_000
    assert recs["r1"].max_silence_s == 55.0  # flagged: when they left, and what they typed first, is unknown
    # Nothing seen before the silence: the first window after it, the only one that shows the gap,
    # gives C_N (flagged by the silence) rather than an unknown.
    s = Stream()
    _request(s, 1, "r1", HEAD, TAIL)
    _request(s, 60, "r2", HEAD + "data.mean(", ")" + TAIL)
    _request(s, 65, "r3", HEAD + "data.mean(axis=0", ")" + TAIL)
    rec = by_request(s.track(session_end_at=80))["r1"]
    assert (rec.committed, rec.finalize_reason, rec.finalize_ts) == ("data.mean()", "left_region", T0_US + 60_000_000)
    assert rec.max_silence_s == 59.0
    # A shorter silence is typing with few requests: the gap is followed on.
    s = Stream()
    _request(s, 1, "r1", HEAD, TAIL)
    _request(s, 5, "r2", HEAD + "data", TAIL)
    _request(s, 40, "r3", HEAD + "data.mean(", ")" + TAIL)
    recs = by_request(s.track(session_end_at=80))
    assert (recs["r1"].committed, recs["r1"].finalize_reason) == ("data.mean()", "session_end")
    # After the silence a window that finds the cursor past the region shows the gap it was left with.
    s = Stream()
    _request(s, 1, "r1", HEAD, TAIL)
    _request(s, 5, "r2", HEAD + "data", TAIL)
    _request(s, 60, "r3", HEAD + "data.T" + TAIL, "")  # the cursor past S1
    recs = by_request(s.track(session_end_at=120))
    assert (recs["r1"].committed, recs["r1"].finalize_reason) == ("data.T", "left_region")


def test_uncertainty_columns_say_how_sure_c_n_is() -> None:
    """Server logs: whether the window that gave C_N found the cursor in a gap still changing, the
    gap before it, the longest silence between log events that could show it, how P1 was chosen."""
    s = Stream()
    _request(s, 1, "r1", HEAD, TAIL)
    _request(s, 5, "r2", HEAD + "data", TAIL)
    _request(s, 25, "r3", HEAD + "data.mean(", ")" + TAIL)  # cursor inside, gap changed: still open
    recs = by_request(s.track(session_end_at=30))
    rec = recs["r1"]
    assert rec.committed == "data.mean()"
    assert (rec.gap_open_at_last_sighting, rec.committed_previous, rec.anchor_choice) == (True, "data", "unique")
    assert rec.max_silence_s == 20.0
    # The same gap seen again with the cursor past the region: settled.
    _request(s, 28, "r4", HEAD + "data.mean()" + TAIL, "")
    rec = by_request(s.track(session_end_at=30))["r1"]
    assert (rec.committed, rec.gap_open_at_last_sighting, rec.committed_previous) == ("data.mean()", False, "data.mean()")
    # An accepted proposal no window showed: C_N from the accept.
    rec = by_request(_accept_no_window_shows(3).track())["r1"]
    assert (rec.committed, rec.anchor_choice, rec.committed_previous, rec.gap_open_at_last_sighting) == (
        "data.sum()", "accept", "", True)
    assert rec.max_silence_s == 2.0
    # Edit telemetry shows every state: no such columns.
    s = Stream()
    s.open(0, HEAD + TAIL)
    s.request(1, "r1", len(HEAD))
    s.type_at(2, len(HEAD), "data")
    rec = by_request(s.track(session_end_at=10))["r1"]
    assert rec.committed == "data"
    assert (rec.gap_open_at_last_sighting, rec.max_silence_s, rec.committed_previous, rec.anchor_choice) == (None,) * 4


# --- rules the real Copilot log needed (issue 19): each fails without its fix ---


def _accept(s: Stream, at: float, rid: str, prefix: str, text: str) -> None:
    s.request(at, rid, len(prefix), prefix=prefix, suffix=None)
    s.shown(at, rid, text)
    s.verdict(at + 1, rid, accepted=True)


def test_a_prompt_that_ends_at_the_prefix_anchor_does_not_check_the_accepted_text() -> None:
    """The next prompt ends right after P1 (the cursor went back there): it shows nothing of the
    gap, so it does not check the accepted text; the prompt after it, which shows the text
    rewritten, does."""
    s = Stream()
    _accept(s, 1, "r1", HEAD, "data.mean()")
    _request(s, 4, "r2", HEAD, None)
    _request(s, 8, "r3", HEAD + "data.sum()\n", None)
    rec = by_request(s.track(session_end_at=20))["r1"]
    assert (rec.kept_at_first_check, rec.committed) == (False, "data.sum()\n")


def test_an_accepted_text_longer_than_the_gap_cap_fits_the_gap() -> None:
    """A prefix-only gap is capped at no_suffix_max_gap_chars, or at the proposal's length when it
    was accepted and is longer: an accepted body longer than the cap can be seen kept. A proposal
    not accepted leaves the cap as it is."""
    body = "".join(f"    x{i} = {i}\n" for i in range(10))  # 110 characters
    prefix = "def f():\n"
    s = Stream()
    _accept(s, 1, "r1", prefix, body)
    _request(s, 4, "r2", prefix + body + "\n", None)
    rec = by_request(s.track(session_end_at=20, no_suffix_max_gap_chars=100))["r1"]
    assert (rec.committed, rec.kept_at_first_check, rec.c1_edit_distance) == (body, True, 0)
    s = Stream()
    _request(s, 1, "r1", prefix, None, proposal=body)
    _request(s, 4, "r2", prefix + body + "\n", None)
    assert by_request(s.track(session_end_at=20, no_suffix_max_gap_chars=100))["r1"].committed == body[:100]


def test_whitespace_at_line_ends_does_not_unkeep_an_accepted_text() -> None:
    """The editor trims the indentation of a line left blank and a space after a line changes no
    code: kept. A changed indentation or word is not."""
    from echo_spark.lifecycle.outcome import kept_intact

    text = "f(x):\n        return x\n    \n"
    assert kept_intact(text, "f(x): \n        return x\n\n\nnext")
    assert not kept_intact(text, "f(x):\n    return x\n")
    assert not kept_intact(text, "f(y):\n        return x\n    \n")
    assert kept_intact("\n", "\nx") and not kept_intact("\n", "x")
    s = Stream()
    _accept(s, 1, "r1", HEAD, "data\n    \n")
    _request(s, 4, "r2", HEAD + "data \n\nprint(", None)
    assert by_request(s.track(session_end_at=20))["r1"].kept_at_first_check is True


@pytest.mark.parametrize("offset, shown, later, expected", [
    (19, "() {}", "// header\nfunction f() {}\n", (None, "no_context", None)),
    (0, "import os", "import os\n", ("import os\n", "session_end", True)),
])
def test_an_empty_prefix_past_the_document_start_has_no_region(offset, shown, later, expected) -> None:
    """An empty prefix at offset 0 is the start of the document; at a later offset the window was
    cut to nothing, and the top of a later window is not where the gap is."""
    s = Stream()
    s.request(1, "r1", offset, prefix="", suffix=None)
    s.shown(1, "r1", shown)
    s.verdict(2, "r1", accepted=True)
    _request(s, 4, "r2", later, None)
    rec = by_request(s.track(session_end_at=20))["r1"]
    assert (rec.committed, rec.finalize_reason, rec.kept_at_first_check) == expected
