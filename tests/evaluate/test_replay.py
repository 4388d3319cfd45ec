import pytest

from echo_spark.evaluate.heldout import HeldoutRequest
from echo_spark.evaluate.replay import ACCEPTED, PARTIAL, REJECTED, SILENT, leading_lines, react, replay

THRESHOLD = 0.8


@pytest.mark.parametrize("proposal,intended,outcome,how,saved", [
    ("", "x = 1", SILENT, "silent", 0),
    ("  \n", "x = 1", SILENT, "silent", 0),
    ("x = 1", "", REJECTED, "unwanted", 0),
    ("x = 1\n", "x = 1", ACCEPTED, "exact", 5),
    ("assertEqual(a, b)", "assertEqual(a, c)", ACCEPTED, "edited", 16),
    ("self.assert", "self.assertEqual(a, b)", PARTIAL, "short", 11),
    ("for x in y:\n    print(z)\n", "for x in y:\n    total += x", PARTIAL, "lines", 11),
    ("return foo(bar)", "return baz(qux, quux)", PARTIAL, "word", 6),
    ("pass", "return value", REJECTED, "wrong", 0),
])
def test_the_developer_reacts_to_how_the_proposal_matches_what_they_meant(proposal, intended, outcome, how, saved):
    reaction = react(proposal, intended, intended + "\nlater()\n", THRESHOLD)
    assert (reaction.outcome, reaction.how, reaction.chars_saved) == (outcome, how, saved)


def test_a_proposal_running_past_the_unit_is_taken_line_by_line_up_to_it():
    reaction = react("x = 1\ny = 2\nz = 3\nw = 4\n", "x = 1\ny = 2", "x = 1\ny = 2\nz = 0\n", THRESHOLD)
    assert reaction.outcome == PARTIAL and reaction.how == "lines" and reaction.chars_saved == len("x = 1\ny = 2")


def test_a_proposal_running_past_the_unit_into_what_the_developer_wrote_next_is_accepted():
    committed = "if ready:\n    go()\n    stop()\n"
    reaction = react("if ready:\n    go()\n", "if ready:", committed, THRESHOLD)
    assert (reaction.outcome, reaction.how, reaction.chars_saved) == (ACCEPTED, "ahead", len("if ready:"))
    # the same start, but not what came next: the developer takes only the right lines
    assert react("if ready:\n    wait()\n", "if ready:", committed, THRESHOLD).how == "lines"


def test_leading_lines_stop_at_the_first_line_that_departs():
    assert leading_lines("a\nb\nc", "a\nb\nd") == "a\nb"
    assert leading_lines("q\nb", "a\nb") == ""


def _request(intended: str, target: str) -> HeldoutRequest:
    return HeldoutRequest("r1", "u1", "d1", "python", "dot", "x.", "\n", intended, target, target, "<=16" if target else "void")


def test_replay_scores_against_the_true_commit_and_reacts_to_the_intended_unit():
    [row] = replay([_request("append(x)", "append(x)\n")], ["append(x)"], THRESHOLD)
    assert row.outcome == ACCEPTED and row.exact_match and row.edit_similarity == 1.0 and not row.void_target
    [silent] = replay([_request("append(x)", "")], [""], THRESHOLD)
    assert silent.outcome == SILENT and silent.void_target and silent.exact_match
    with pytest.raises(ValueError, match="proposals"):
        replay([_request("a", "a")], [], THRESHOLD)
