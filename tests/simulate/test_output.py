"""One simulation, read back as the pipeline reads it: valid telemetry v1, exact ground truth."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from echo_spark.simulate.cohorts import HELDOUT, TRAIN, cohort_of
from echo_spark.telemetry.spec import COMPLETION_TYPES, DOCUMENT_TYPES

from .helpers import anchor_chars, by_document, read_landing, replay, simulate, truth

EVENTS = 15_000


@pytest.fixture(scope="module")
def output(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    metrics = simulate(out, EVENTS, seed=11)
    requests, documents = truth(out)
    return out, metrics, read_landing(out), requests, documents


def test_every_line_is_telemetry_v1_but_the_cut_last_lines(output):
    out, metrics, landing, _, _ = output
    assert metrics["events"] >= EVENTS and len(landing.files) == metrics["landing_files"] > 10
    # The only lines quarantined are cut uploads: the last line of a file, without a newline.
    assert landing.quarantined and all(last and q.reason == "truncated_line" for _, _, last, q in landing.quarantined)
    assert len(landing.quarantined) == metrics["truncated_files"]
    # ... and each cut event arrives whole in another upload: no event is lost.
    assert len(landing.events) == metrics["events"]
    seqs = defaultdict(list)
    for event in landing.events.values():
        seqs[event["session_id"]].append(event["seq"])
    assert all(sorted(s) == list(range(1, len(s) + 1)) for s in seqs.values())


def test_fields_follow_the_spec(output):
    _, _, landing, _, _ = output
    kinds = Counter()
    for event in landing.events.values():
        assert {"event_id", "type", "ts", "session_id", "seq", "user_id"} <= event.keys()
        kinds[type(event["ts"]).__name__] += 1
        if event["type"] in DOCUMENT_TYPES | COMPLETION_TYPES:
            assert event["doc_id"] and event["language"]
        if event["type"] == "session_start":
            assert event["position_encoding"] == "utf-16" and set(event["client"]) == {"name", "version"}
        if event["type"] == "completion_reject":
            assert event["reason"] in {"dismissed", "typed_over", "escaped", "timeout"}
        if isinstance(event["ts"], str):
            assert event["ts"][-1] == "Z" or event["ts"][-6] in "+-"
    assert kinds["int"] > 1000 and kinds["str"] > 1000  # epoch milliseconds and RFC 3339, mixed


def test_transport_faults_are_there(output):
    out, metrics, landing, requests, _ = output
    assert sum(n > 1 for n in landing.copies.values()) >= metrics["duplicated_events"] > 0
    # Out of order across files: some session has an event in a later file than one with a higher seq.
    order = {path: i for i, path in enumerate(landing.files)}
    late = 0
    for session_events in _sessions(landing).values():
        first_file = [min(order[p] for p in landing.file_of[e["event_id"]]) for e in session_events]
        late += any(a > b for a, b in zip(first_file, first_file[1:]))
    assert late > 0
    # A skewed client clock: a request's ts is off its true time by more than any rounding.
    skewed = 0
    request_events = {e["request_id"]: e for e in landing.events.values() if e["type"] == "completion_request"}
    for row in requests:
        ts = request_events[row["request_id"]]["ts"]
        if isinstance(ts, int) and abs(ts - row["request_ts_ms"]) > 1000:
            skewed += 1
    assert skewed > 0


def _sessions(landing):
    sessions = defaultdict(list)
    for event in landing.events.values():
        sessions[event["session_id"]].append(event)
    return {k: sorted(v, key=lambda e: e["seq"]) for k, v in sessions.items()}


def test_replaying_edits_by_utf16_offsets_gives_the_true_final_document(output):
    _, _, landing, _, documents = output
    docs = by_document(landing.events)
    edited = [d for d in documents if d["mode"] == "edits"]
    assert len(edited) >= 10
    # Astral characters (two UTF-16 units each) are typed into some documents, before the cursor.
    assert any(max(d["final_text"], default="a") > "\uffff" for d in edited)
    for d in edited:
        events = docs[(d["session_id"], d["doc_id"])]
        assert events[0]["type"] == "doc_open" and events[0]["text"] == d["initial_text"]
        assert replay(events) == d["final_text"]


def test_requests_mode_logs_windows_and_no_document_events(output):
    _, _, landing, requests, documents = output
    server_docs = {(d["session_id"], d["doc_id"]) for d in documents if d["mode"] == "requests"}
    assert server_docs
    events = {e["request_id"]: e for e in landing.events.values() if e["type"] == "completion_request"}
    for key, evs in by_document(landing.events).items():
        if key in server_docs:
            assert {e["type"] for e in evs} <= COMPLETION_TYPES
    for row in requests:
        if row["mode"] == "requests":
            logged = events[row["request_id"]]
            assert (logged["prefix"], logged["suffix"]) == (row["prefix"], row["suffix"])


def test_ground_truth_commit_is_what_the_replayed_document_holds_between_the_anchors(output):
    """At the moment C_N was fixed, the replayed document reads P1 + C_N + S1 at the recorded offset,
    and at request time the text before the request offset ends with the logged prefix window."""
    _, _, landing, requests, _ = output
    docs = by_document(landing.events)
    request_seq = {e["request_id"]: e["seq"] for e in landing.events.values() if e["type"] == "completion_request"}
    checked = Counter()
    size = anchor_chars()
    for row in requests:
        if row["mode"] != "edits":
            continue
        events = docs[(row["session_id"], row["doc_id"])]
        at_request = replay(events, request_seq[row["request_id"]]).encode("utf-16-le")
        assert at_request[: row["offset"] * 2].decode("utf-16-le").endswith(row["prefix"])
        assert at_request[row["offset"] * 2 :].decode("utf-16-le").startswith(row["suffix"])
        units = replay(events, row["committed_seq"]).encode("utf-16-le")
        start = row["committed_offset"] * 2
        committed = row["true_committed"].encode("utf-16-le")
        p1 = row["prefix"][-size:].encode("utf-16-le")  # the window is longer than an anchor
        s1 = row["suffix"][:size].encode("utf-16-le")
        assert units[:start].endswith(p1)
        assert units[start : start + len(committed)] == committed
        rest = units[start + len(committed) :]
        if row["finalize_reason"] == "burst_end":  # C_N leaves out the line break that ended the burst
            text, s1_text = rest.decode("utf-16-le"), s1.decode("utf-16-le")
            run = len(text) - len(text.lstrip(" \t\r\n"))
            assert any("\n" in text[:k] and text[k:].startswith(s1_text) for k in range(1, run + 1))
        else:
            assert rest.startswith(s1)
        checked[row["finalize_reason"]] += 1
    assert {"anchor_broken", "left_region", "burst_end", "doc_closed", "session_end"} <= checked.keys()


def test_proposals_are_what_their_kind_says(output):
    _, _, _, requests, _ = output
    for row in requests:
        kind, proposal, unit = row["proposal_kind"], row["proposal"], row["intended_unit"]
        if row["trigger_point"] == "typo":
            assert unit == ""  # the developer meant nothing at a typo: the next keys fix the word
            continue
        if row["replanned"]:
            continue  # the developer changed the plan after the proposal
        if kind == "right":
            assert proposal == unit
        elif kind == "empty":
            assert proposal == ""
        elif kind == "overrun":
            assert proposal.startswith(unit) and len(proposal) > len(unit)
        elif kind == "wrong":
            assert proposal and proposal.strip() != unit.strip()
        assert (row["reaction"] == "none") == (proposal == "")


def test_accepted_proposals_are_in_the_telemetry(output):
    _, _, landing, requests, _ = output
    accepts = {e["request_id"]: e for e in landing.events.values() if e["type"] == "completion_accept"}
    rejects = {e["request_id"]: e for e in landing.events.values() if e["type"] == "completion_reject"}
    for row in requests:
        if row["reaction"].startswith("accept"):
            assert ("accepted_length" in accepts[row["request_id"]]) == (row["reaction"] == "accept_partial")
            assert row["proposal"].startswith(row["accepted_text"])
        elif row["reaction"] in ("reject", "ignore"):
            expected = {"typed_over"} if row["reaction"] == "ignore" else {"escaped", "dismissed"}
            assert rejects[row["request_id"]]["reason"] in expected
        else:
            assert row["request_id"] not in accepts and row["request_id"] not in rejects


def test_cohorts_never_share_a_file(output):
    _, _, _, requests, documents = output
    files = defaultdict(set)
    for d in documents:
        files[d["cohort"]].add(d["file"])
        assert d["cohort"] == cohort_of(d["file"], 0.2)
    assert files[TRAIN] and files[HELDOUT] and not files[TRAIN] & files[HELDOUT]
    users = defaultdict(set)
    for row in requests:
        users[row["user_id"]].add(row["cohort"])
    assert all(len(c) == 1 for c in users.values())


def test_after_an_accept_c_n_starts_with_what_was_accepted(output):
    """Unless a later edit changed it (an undo, a fix of a proposal that was not the plan, a typo
    fixed or a note left by a jump inside the gap, a broken anchor), C_N starts with the accepted
    text, or is its start when the gap was cut. Before the fix of taken proposals, a wrong
    proposal stood in for the unit and the plan skipped ahead, so later text landed after it."""
    _, _, _, requests, _ = output
    later_edits = {"undo", "fix_accept", "typo", "cursor_jump"}
    checked = 0
    for row in requests:
        if row["reaction"] not in ("accept", "accept_partial") or row["true_committed"] is None:
            continue
        if row["undone"] or later_edits & set(row["behaviours"]) or row["finalize_reason"] == "anchor_broken":
            continue
        committed, accepted = row["true_committed"], row["accepted_text"]
        assert committed.startswith(accepted) or accepted.startswith(committed), row["request_id"]
        checked += 1
    assert checked >= 10


def test_the_curate_teacher_on_the_true_c_n_gives_the_intended_unit(output):
    """One unit definition: applied to C_N as the developer left it, the teacher answers the unit
    the simulator says was meant, or drops a unit that C_N holds only in part."""
    from echo_spark.curate.records import Gap
    from echo_spark.curate.syntax_teacher import SyntaxTeacher

    _, _, _, requests, _ = output
    teacher = SyntaxTeacher()
    answered = exact = 0
    for row in requests:
        if row["true_committed"] is None:
            continue
        answer = teacher.answer(Gap(row["request_id"], row["prefix"], row["suffix"], row["true_committed"], row["language"]))
        if answer.drop_reason is None:
            answered += 1
            exact += answer.text == row["intended_unit"]
    assert answered > 200 and exact / answered >= 0.95
