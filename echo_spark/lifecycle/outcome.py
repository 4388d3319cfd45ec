"""What the user did with a proposal, and how much of it survived.

The verdict (accepted / partial / rejected / ignored) comes from the completion events; the
survival numbers compare a text with what later stood in the gap, using rapidfuzz so that
long gaps stay cheap.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz.distance import LCSseq, Levenshtein
from rapidfuzz.fuzz import partial_ratio_alignment

from echo_spark.lifecycle.events import TrackerEvent
from echo_spark.telemetry.positions import PositionError, to_index, unit_length

# Ages (seconds after the accept) at which retention is measured, as Copilot and Cody do.
# Fixed, because each one is a column of the completions table.
RETENTION_AGES_S = (30, 120, 300, 600)

_TOKEN = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True)
class Verdict:
    """The proposal C1 of a request and what the user did with it."""

    proposal: str | None
    model: str | None
    outcome: str
    accepted_text: str | None
    accept_event_id: str | None
    event_ids: tuple[str, ...]
    # completion_shown.replace_start: where the shown text begins (an offset at or before the request's).
    replace_start: int | None = None

    @property
    def accepted_length(self) -> int | None:
        """Accepted characters (code points, like Python and Spark string lengths)."""
        return None if self.accepted_text is None else len(self.accepted_text)


def _accepted_text(proposal: str | None, accepted_length: int | None, encoding: str) -> str | None:
    """The accepted head of the proposal; `accepted_length` counts position-encoding units."""
    if proposal is None or accepted_length is None:
        return proposal
    units = unit_length(proposal, encoding)
    try:
        return proposal[: to_index(proposal, min(accepted_length, units), encoding)]
    except PositionError:
        # A partial accept that ends inside a surrogate pair keeps the whole last character.
        return proposal[: to_index(proposal, min(accepted_length + 1, units), encoding)]


def verdict_of(shown: Sequence[TrackerEvent], verdicts: Sequence[TrackerEvent], encoding: str) -> Verdict:
    """The last shown proposal, judged by the last accept/reject (a later verdict overrides an earlier one).

    An accept of fewer units than the proposal is `partial`; an accept of zero units took
    nothing and counts as `rejected`; no verdict at all is `ignored`.
    """
    last_shown = shown[-1] if shown else None
    proposal = last_shown.text if last_shown is not None else None
    model = last_shown.model if last_shown is not None else None
    start = last_shown.replace_start if last_shown is not None else None
    event_ids = tuple(e.event_id for e in (*shown, *verdicts))
    final = verdicts[-1] if verdicts else None
    if final is None:
        return Verdict(proposal, model, "ignored", None, None, event_ids, start)
    if final.type == "completion_reject":
        return Verdict(proposal, model, "rejected", None, None, event_ids, start)
    if final.accepted_length is not None and final.accepted_length <= 0:
        return Verdict(proposal, model, "rejected", None, None, event_ids, start)
    accepted = _accepted_text(proposal, final.accepted_length, encoding)
    partial = proposal is not None and accepted is not None and len(accepted) < len(proposal)
    return Verdict(proposal, model, "partial" if partial else "accepted", accepted, final.event_id, event_ids, start)


def repeated_head(text: str, prefix: str | None, replace_start: int | None, offset: int | None, encoding: str) -> int:
    """Characters at the head of a shown `text` that stand before the cursor, not new at it.

    Many services show a proposal that starts before the cursor: it repeats the rest of the
    current word or line and goes on from there (telemetry v1, `completion_shown.replace_start`).
    With `replace_start` and the request's `offset` (position-encoding units) the repeated head
    is the `offset - replace_start` units of `text`; without them, it is the longest head of
    `text` that the prefix already ends with (as the spec says to read it). 0 when unknown.
    """
    if not text:
        return 0
    if replace_start is not None and offset is not None:
        units = offset - replace_start
        if units <= 0:
            return 0
        try:
            return to_index(text, min(units, unit_length(text, encoding)), encoding)
        except PositionError:
            return to_index(text, min(units + 1, unit_length(text, encoding)), encoding)
    if not prefix:
        return 0
    last = prefix[-1]
    for k in range(min(len(text), len(prefix)), 0, -1):
        if text[k - 1] == last and prefix.endswith(text[:k]):
            return k
    return 0


def _without_line_end_space(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.split("\n"))


def kept_intact(accepted: str, gap: str) -> bool:
    """Does `gap` start with the `accepted` text, whitespace at line ends aside?

    Editors trim it on their own: VS Code removes the indentation of a line left blank (an accepted
    text ending in "\n    \n" stands as "\n\n" once the developer moves on), and spaces at the
    end of a line change no code. Whitespace inside a line and line breaks still count.
    """
    wanted = _without_line_end_space(accepted).rstrip()
    if not wanted:
        return gap.startswith(accepted)
    return _without_line_end_space(gap).startswith(wanted)


def code_tokens(text: str) -> list[str]:
    """Identifiers, numbers and single punctuation marks; whitespace and layout do not count."""
    return _TOKEN.findall(text)


def surviving_share(original: str, container: str) -> float | None:
    """Share of the tokens of `original` still standing, in order, in `container` (0..1).

    Counted in tokens (Zeta's kept-rate), not characters: the characters of a deleted name
    turn up in any surrounding code ("width" inside "height"). And counted against the
    best-matching window of `container`, widened by the text's own length on each side so that
    words typed inside it do not hide it: a long gap holds the tokens of any short text
    somewhere in order. None when `original` has no token (nothing to survive).
    """
    wanted, found = code_tokens(original), code_tokens(container)
    if not wanted:
        return None
    if len(found) > 3 * len(wanted):
        window = partial_ratio_alignment(wanted, found)
        found = found[max(0, window.dest_start - len(wanted)) : window.dest_end + len(wanted)]
    return LCSseq.similarity(wanted, found) / len(wanted)


def edit_distance(proposal: str, committed: str) -> int:
    """Levenshtein distance C1 -> C_N (characters)."""
    return Levenshtein.distance(proposal, committed)
