"""The tracker over the two real telemetry files: every request accounted for, C_N sane."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.lifecycle.real_data import CUPS, TASKTRACKER, track_file

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
    assert records["tt-r0001"].committed.startswith("nt a, b, n;\n    cin >> a >> b >> n;\n")
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
    assert all((c.committed is None) == (c.finalize_reason == "never_observed") for c in records)
    assert all(len(c.committed) <= 500 for c in records if c.committed is not None)
    kept = [c.kept_at_first_check for c in records if c.outcome == "accepted" and c.kept_at_first_check is not None]
    assert 0 < sum(kept) < len(kept)
