"""Real accepted Copilot suggestions as a check no one here wrote: what is read, and how it is scored."""

from __future__ import annotations

import pytest

from echo_spark.evaluate.real_copilot import AcceptedSuggestion, accepted_suggestions, agreement, default_path, read


def _events(request_id, prefix, shown, accepted, with_request=True):
    out = []
    if with_request:
        out.append({"type": "completion_request", "request_id": request_id, "prefix": prefix, "language": "python"})
    out += [{"type": "completion_shown", "request_id": request_id, "text": text} for text in shown]
    if accepted:
        out.append({"type": "completion_accept", "request_id": request_id})
    return out


def test_only_accepted_suggestions_with_a_prompt_and_one_shown_text_are_kept():
    events = (
        _events("r1", "x = ", ["1"], True)
        + _events("r2", "y = ", ["2"], False)  # rejected
        + _events("r3", "z = ", ["3"], True, with_request=False)  # prompt lost: an orphan accept
        + _events("r4", "w = ", ["4", "5"], True)  # two different texts shown: which was taken is unknown
        + _events("r5", "v = ", ["   "], True)  # blank: nothing to compare
        + [{"type": "completion_accept", "request_id": "r1"}]  # a redelivered accept
    )
    assert accepted_suggestions(events) == [AcceptedSuggestion("r1", "python", "x = ", "1")]


def test_agreement_counts_equal_right_starts_and_silence():
    suggestions = [AcceptedSuggestion(f"r{i}", "python", "", text) for i, text in enumerate(
        ["foo(a, b)\n", "foo(a, b)", "foo(a, b)", "foo(a, b)"])]
    result = agreement(suggestions, ["foo(a, b)", "foo(", "bar()", "  "])
    assert result == {"suggestions": 4, "exact": 0.25, "right_start": 0.5, "silent": 0.25}
    with pytest.raises(ValueError):
        agreement(suggestions, ["x"])


def test_the_cups_study_file_gives_hundreds_of_accepted_suggestions():
    suggestions = read(default_path())
    assert len(suggestions) > 300
    assert all(isinstance(s.prefix, str) and s.accepted.strip() for s in suggestions)
    assert sum(bool(s.prefix) for s in suggestions) > 300
