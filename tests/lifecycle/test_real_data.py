"""The tracker over the two real telemetry files: every request accounted for, C_N sane."""

from __future__ import annotations

from collections import Counter

import pytest

from echo_spark.config import LifecycleConfig
from echo_spark.lifecycle import SessionFacts, track_document
from tests.lifecycle.real_data import CUPS, TASKTRACKER, bronze_rows, track_file

pytestmark = pytest.mark.skipif(not TASKTRACKER.is_file() or not CUPS.is_file(), reason="shared real data not mounted")


@pytest.fixture(scope="module")
def tasktracker():
    return track_file(TASKTRACKER)


@pytest.fixture(scope="module")
def cups():
    return track_file(CUPS)


def test_tasktracker_every_request_has_one_tracked_row(tasktracker) -> None:
    rows, results = tasktracker
    requests = [r["request_id"] for r in rows if r["type"] == "completion_request"]
    records = [c for r in results for c in r.completions]
    assert len(requests) == 60
    assert sorted(c.request_id for c in records) == sorted(requests)
    assert all(r.skipped_reason is None and not r.orphans for r in results)
    assert {(c.tracking_mode, c.outcome, c.proposal) for c in records} == {("edits", "rejected", "foo();")}


def test_tasktracker_committed_is_what_the_participant_typed(tasktracker) -> None:
    _, results = tasktracker
    records = {c.request_id: c for r in results for c in r.completions}
    known = [c for c in records.values() if c.committed is not None]
    # The participant typed after every rejection. The few voids are requests whose own context
    # the participant edited before typing (a typo fix in P1): by definition C_N is the gap at the
    # last moment both anchors were intact, which was empty, and the reason says the anchor broke.
    assert len(known) == 60
    voids = [c for c in known if c.committed == ""]
    assert len(voids) <= 5 and all(c.finalize_reason == "anchor_broken" for c in voids)
    known = [c for c in known if c.committed]
    for c in known:  # not runaway: bounded, and never past the suffix anchor
        assert len(c.committed) < 600 and c.committed.count("\n") < 15
        assert c.suffix is not None and c.suffix[:32] not in c.committed
    # Checked by hand against the keystrokes.
    # The burst rule (lifecycle.burst_pause_s): "nt a, b, n;", Enter, 1.0 s, the next line typed,
    # Enter, then 10.9 s before "    int r,": the burst ends there, without that last line break.
    assert records["tt-r0001"].committed == "nt a, b, n;\n    cin >> a >> b >> n;"
    assert records["tt-r0001"].finalize_reason == "burst_end"
    # The body wiped, "    int a, b, c;" typed at the line start, Enter, then 4.5 s later the
    # developer goes to the top to add an include: without the rule the gap ran on and was read
    # after the body had been rewritten ("    char c;" as its first line).
    assert (records["tt-r0315"].committed, records["tt-r0315"].finalize_reason) == ("    int a, b, c;", "burst_end")
    assert records["tt-r0084"].committed == ' << r << " " << k << endl;'
    assert records["tt-r0203"].committed == "ng ans;"
    assert records["tt-r0407"].committed == "n"
    assert records["tt-r0247"].committed.startswith("in()")  # "s.beg" + IDE rewrite of "gin()"


def test_cups_every_request_and_verdict_event_is_accounted(cups) -> None:
    rows, results = cups
    records = [c for r in results for c in r.completions]
    orphans = [o for r in results for o in r.orphans]
    requests = {r["request_id"] for r in rows if r["type"] == "completion_request"}
    assert len(records) == len(requests) == 1101
    assert {c.request_id for c in records} == requests
    linked = {e for c in records for e in c.event_ids}
    completion_events = {r["event_id"] for r in rows if r["type"].startswith("completion_")}
    assert completion_events == (linked & completion_events) | {o.event_id for o in orphans}
    assert len(orphans) == 49
    assert {(o.reason, o.type) for o in orphans} == {("no_request", "completion_shown")}
    assert not {o.request_id for o in orphans} & requests


def test_cups_outcomes_and_prefix_only_gaps(cups) -> None:
    rows, results = cups
    records = [c for r in results for c in r.completions]
    accepted = {r["request_id"] for r in rows if r["type"] == "completion_accept"}
    assert Counter(c.outcome for c in records)["accepted"] == len(accepted) == 385
    assert {c.tracking_mode for c in records} == {"prefix_only"}
    assert all((c.committed is None) == (c.finalize_reason in ("never_observed", "no_context")) for c in records)
    # The one request without context: cups-17's first prompt is empty at offset 19.
    assert [c.request_id for c in records if c.finalize_reason == "no_context"] == ["cups-17-r0001"]
    # The gap cap: 500 characters, or an accepted proposal's length when longer (cups-12-r0008, 647).
    assert all(len(c.committed) <= max(500, len(c.proposal or "")) for c in records if c.committed is not None)
    kept = [c.kept_at_first_check for c in records if c.outcome == "accepted" and c.kept_at_first_check is not None]
    assert 0 < sum(kept) < len(kept)


# --- edge cases found in the real Copilot log (issue 19), expected values written from its lines ---


def test_cups_a_proposal_that_repeats_the_end_of_the_prompt_is_measured_after_the_cursor(cups) -> None:
    _, results = cups
    recs = {c.request_id: c for r in results for c in r.completions}
    # The prompt ends "    out_vecto"; Copilot shows "vector = []", of which "r = []" is new at the cursor.
    rec = recs["cups-00-r0041"]
    assert rec.prefix.endswith("out_vecto") and rec.proposal == "vector = []"
    assert rec.committed.startswith("r = []\n    for i, value1 in enumerate(X_vector):")
    assert (rec.kept_at_first_check, rec.retention_30s, rec.committed_observed) == (True, 1.0, True)
    # "return np.arra" + ".array(out_vector)": the later prompt holds "y(out_vector)" and a line break.
    rec = recs["cups-00-r0047"]
    assert (rec.proposal, rec.committed, rec.c1_edit_distance) == (".array(out_vector)", "y(out_vector)\n", 1)
    assert rec.kept_at_first_check is True
    # "train_test_split(" + "(X, Y, test_size=0.2, random_state=42)": the next prompt rewrote the
    # line in front of P1 ("X_train, X_test, y_train, y_test = "), so no later prompt shows the
    # region: C_N is the accepted text after the cursor, unverified, and nothing was checked.
    rec = recs["cups-00-r0001"]
    assert rec.proposal == "(X, Y, test_size=0.2, random_state=42)"
    assert (rec.committed, rec.committed_observed) == ("X, Y, test_size=0.2, random_state=42)", False)
    assert (rec.c1_edit_distance, rec.c1_survival, rec.kept_at_first_check) == (0, 1.0, None)
    # A shown text made only of the prompt's last 135 characters puts nothing at the cursor.
    rec = recs["cups-14-r0117"]
    assert rec.outcome == "accepted" and len(rec.proposal) == 135 and rec.prefix.endswith(rec.proposal)
    assert (rec.committed, rec.finalize_reason) == (None, "never_observed")


def test_cups_a_prompt_that_ends_inside_the_gap_does_not_shorten_it() -> None:
    """cups-00: after r0023 the prompt shows r0017's gap as "transform_vector(X_vector):\\n    for i, ";
    r0024's prompt then ends at offset 338, back at the end of the def line (the developer goes on
    to insert "out_vector = []" there). That prompt is a lower bound: the gap still holds "for i, ".

    r0023 comes 120 s after r0022 (at "for i"), a silence past `window_silence_s`: by default the
    developer counts as having been elsewhere and C_N stays what r0022 showed; the lower-bound rule
    is checked with a wait longer than that silence."""
    rows = [r for r in bronze_rows(CUPS) if r["session_id"] == "cups-00" and r.get("doc_id")]
    cut = next(r["seq"] for r in rows if r["type"] == "completion_request" and r["request_id"] == "cups-00-r0024")
    kept = [r for r in rows if r["seq"] <= cut]
    result = track_document(kept, SessionFacts("cups-00"), LifecycleConfig(window_silence_s=300))
    rec = next(c for c in result.completions if c.request_id == "cups-00-r0017")
    assert rec.prefix.endswith("    return X\n\ndef ")
    assert (rec.committed, rec.finalize_reason) == ("transform_vector(X_vector):\n    for i, ", "end_of_data")
    result = track_document(kept, SessionFacts("cups-00"), LifecycleConfig())
    rec = next(c for c in result.completions if c.request_id == "cups-00-r0017")
    assert (rec.committed, rec.finalize_reason) == ("transform_vector(X_vector):\n    for i", "left_region")


def test_cups_an_empty_prompt_past_the_document_start_has_no_region(cups) -> None:
    """cups-17-r0001: the prompt is empty although its offset is 19, and "() {...Hello World...}" was
    accepted. No P1 marks where it went: the next prompt starts "// Language: javascript", which is
    not the gap. Before, the top of every later prompt counted as the gap (kept_at_first_check false)."""
    _, results = cups
    rec = next(c for r in results for c in r.completions if c.request_id == "cups-17-r0001")
    assert (rec.prefix, rec.outcome) == ("", "accepted")
    assert (rec.committed, rec.finalize_reason, rec.kept_at_first_check) == (None, "no_context", None)


def test_cups_an_accepted_body_longer_than_the_gap_cap_is_seen_kept(cups) -> None:
    """cups-12-r0008: a 647-character fit() body accepted after "def fit(self, X, Y):\n       \n";
    the next prompt (r0009) holds all of it and goes on ("\n            \n"). The gap of a prefix-only
    request was cut at 500 characters, shorter than the body, so it was never seen kept."""
    _, results = cups
    rec = next(c for r in results for c in r.completions if c.request_id == "cups-12-r0008")
    assert len(rec.proposal) == 647 and rec.proposal.endswith("self.bias -= self.learning_rate * db")
    assert (rec.committed, rec.committed_observed, rec.kept_at_first_check) == (rec.proposal, True, True)
    assert (rec.c1_edit_distance, rec.c1_survival) == (0, 1.0)


def test_cups_whitespace_the_editor_trims_at_line_ends_does_not_unkeep(cups) -> None:
    """cups-12-r0011: "    def _" + "_sigmoid(self, x):\n        return 1 / (1 + np.exp(-x))\n    \n"
    accepted; the first later prompt that decides (r0032) holds "...np.exp(-x)) \n\n\n\nclf = ": a
    space after the line, the indentation of the blank line gone. The code is as accepted."""
    _, results = cups
    rec = next(c for r in results for c in r.completions if c.request_id == "cups-12-r0011")
    assert rec.prefix.endswith("    def _") and rec.proposal == "_sigmoid(self, x):\n        return 1 / (1 + np.exp(-x))\n    \n"
    assert rec.kept_at_first_check is True


def test_cups_a_prompt_ending_at_the_prefix_anchor_does_not_check_the_accepted_text(cups) -> None:
    """cups-04-r0015: "#print the max value o" + "f the correlation matrix" accepted; the next prompt
    (r0016) ends right after P1, which shows nothing of the gap, and the one after (r0017) shows
    "f all the ": the developer rewrote it. The empty view used to leave the assumed accepted text
    standing and count that as kept."""
    _, results = cups
    rec = next(c for r in results for c in r.completions if c.request_id == "cups-04-r0015")
    assert rec.prefix.endswith("#print the max value o") and rec.proposal == " of the correlation matrix"
    assert rec.kept_at_first_check is False and rec.committed.startswith("f all the ")
