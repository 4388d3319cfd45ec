"""The editor habits of edit sessions (simulate.habits): auto-closed brackets and quotes, and
clients that report changes as snapshot diffs. Neither changes what the developer writes, and the
ground truth is what they typed, however the client reports it."""

from __future__ import annotations

from echo_spark.simulate.autoclose import AutoCloser, closing_at

from .helpers import by_document, read_landing, replay, simulate, truth

_PAIRS = {"()", "[]", "{}", '""', "''"}


def test_the_closer_is_where_the_plan_types_it() -> None:
    plan = 'print(f(x), "a(b", "c")\n'
    assert closing_at(plan, plan.index("("), len(plan)) == len(plan) - 2  # the string's `(` skipped
    assert closing_at(plan, plan.index('"c'), len(plan)) == len(plan) - 3
    assert closing_at(plan, plan.index('"a'), len(plan)) is None  # a bracket inside: left alone
    assert closing_at("f(x]\n", 1, 5) is None  # mismatched
    assert closing_at('x = "a\\"b"\n', 4, 11) is None  # an escape inside: not auto-closed


def test_the_editor_auto_closes_only_where_the_developer_types_over() -> None:
    editor = AutoCloser()
    plan = "f(g(x))\n"
    assert editor.opens(plan, 1, len(plan), "f\n", 2) is not None  # before a line break
    assert editor.opens(plan, 1, len(plan), "fabc", 2) is None  # before a word: VS Code leaves it
    outer = editor.opens(plan, 1, len(plan), "f\n", 2)
    assert outer is not None and outer.closer == ")" and outer.plan_at == 6
    editor.pending.append(outer)
    inner = editor.opens(plan, 3, len(plan), "f(g)\n", 4)
    assert inner is not None and inner.plan_at == 5 and not editor.types_over(5)
    editor.pending.append(inner)
    assert editor.run() == "))" and editor.types_over(5)
    # Inside a string the editor opened nothing is auto-closed; a quote after a word is not.
    quoted = AutoCloser()
    quoted.pending.append(quoted.opens('x = "(a)"\n', 4, 10, "x = \n", 4))
    assert quoted.opens('x = "(a)"\n', 5, 10, 'x = ""\n', 5) is None
    assert AutoCloser().opens('f"a"\n', 1, 5, "f\n", 1) is None


def _finished(rows: list[dict]) -> list[dict]:
    """Rows of the sessions a run finished (the event budget cuts its last one short)."""
    last = rows[-1]["session_id"]
    return [r for r in rows if r["session_id"] != last]


def test_auto_closing_never_changes_what_the_developer_writes(tmp_path) -> None:
    # No proposals: nothing the developer does depends on what the editor shows them.
    runs = {}
    for share in ("0", "1"):
        out = tmp_path / share
        simulate(out, 6_000, seed=5, mode="edits", overrides=[f"habits.auto_close={share}", "proposal.right=0",
                                                              "proposal.partial=0", "proposal.wrong=0",
                                                              "proposal.overrun=0", "proposal.empty=1"])
        runs[share] = (truth(out), read_landing(out))
    (plain, plain_docs), _ = runs["0"]
    (closed, closed_docs), landing = runs["1"]
    sessions = {r["session_id"] for r in _finished(closed)} & {r["session_id"] for r in _finished(plain)}
    assert len(sessions) >= 3
    final = {d["doc_id"]: d["final_text"] for d in plain_docs if d["session_id"] in sessions}
    assert final == {d["doc_id"]: d["final_text"] for d in closed_docs if d["session_id"] in sessions}
    events = [e for e in landing.events.values() if e["session_id"] in sessions]
    pairs = [e for e in events if e["type"] == "doc_change" and e["changes"][0]["text"] in _PAIRS]
    assert len(pairs) > 50
    # A request right after an auto-closed `(` has the `)` in its suffix, and the unit meant there
    # stops before it: the developer types over it rather than into the gap.
    after_paren = [r for r in closed if r["trigger_point"] == "paren" and r["suffix"].startswith(")")]
    assert len(after_paren) > 10
    assert all(r["intended_unit"].count("(") == r["intended_unit"].count(")") for r in after_paren)
    # Typing over is a cursor move, no change: the document as replayed still matches the truth.
    by_doc = by_document(landing.events)
    for doc in closed_docs:
        if doc["session_id"] in sessions:
            assert replay(by_doc[(doc["session_id"], doc["doc_id"])]) == doc["final_text"]


def test_snapshot_diff_clients_report_other_positions_for_the_same_typing(tmp_path) -> None:
    runs = {}
    for share in ("0", "1"):
        out = tmp_path / share
        simulate(out, 6_000, seed=6, mode="edits", overrides=[f"habits.snapshot_diff={share}"])
        runs[share] = (truth(out), by_document(read_landing(out).events))
    (lsp, _), lsp_docs = runs["0"]
    (diffed, documents), diffed_docs = runs["1"]
    sessions = {r["session_id"] for r in _finished(diffed)} & {r["session_id"] for r in _finished(lsp)}
    assert len(sessions) >= 3
    # The ground truth is what the developer typed, however the client reports it (but for
    # `committed_seq`: a snapshot-diff client sends nothing for an edit that changes no text).
    def same(rows: list[dict]) -> list[dict]:
        return [{k: v for k, v in r.items() if k != "committed_seq"} for r in rows if r["session_id"] in sessions]

    assert same(lsp) == same(diffed)
    moved = 0
    for key, events in diffed_docs.items():
        if key[0] not in sessions:
            continue
        changes = [e for e in events if e["type"] == "doc_change"]
        assert all(len(e["changes"]) == 1 for e in changes)  # one diff per event
        assert replay(events) == next(d["final_text"] for d in documents if d["doc_id"] == key[1])
        lsp_changes = {e["seq"]: e["changes"] for e in lsp_docs[key] if e["type"] == "doc_change"}
        moved += sum(e["changes"][0]["offset"] > lsp_changes[e["seq"]][0]["offset"]
                     for e in changes if len(lsp_changes.get(e["seq"], [])) == 1)
    # Where text repeats, the diff places the change further right than the developer made it.
    assert moved > 10
