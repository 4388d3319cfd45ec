"""The developer of a held-out request, shown a candidate model's proposal instead of production's.

The simulator's own policy draws its reactions at configured rates, whatever the proposal (it
generates telemetry of known statistics); replaying a candidate needs a developer whose reaction
depends on the proposal. This one knows what the simulator says they meant to write at the cursor
(the atomic unit) and reacts as the simulator's reactions are defined:

- silence (an empty proposal): nothing to react to;
- accept: the proposal is the unit; or the unit followed by more of exactly what the developer
  went on to write (a prefix of their C_N: a multi-line proposal that is what they were about to
  type is taken whole); or close enough to the unit to fix (similarity at least
  `accept_edit_similarity`: accept, then edit, as `accept_edit` does);
- accept partially: the proposal's first lines (or, failing that, its next word) are how the unit
  starts, the rest is not (the simulator's "accept next line / word"); a right start that stops
  short is taken whole but counts as partial too, so that acceptance is not won by proposing less;
- reject: anything else, and any proposal where the developer meant to write nothing.

It is deterministic: every arm meets the same developer on the same requests, so arms differ only
by their proposals. Characters saved are the unit's characters the developer did not type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz.distance import Indel, Levenshtein

from ..simulate.policy import first_word
from .heldout import HeldoutRequest

SILENT, ACCEPTED, PARTIAL, REJECTED = "silent", "accepted", "partial", "rejected"
OUTCOMES = (ACCEPTED, PARTIAL, REJECTED, SILENT)


@dataclass(frozen=True)
class Reaction:
    outcome: str  # accepted | partial | rejected | silent
    how: str  # exact, ahead, edited, short, lines, word, wrong, unwanted, silent
    chars_saved: int


def similarity(a: str, b: str) -> float:
    """Normalized Indel similarity (rapidfuzz's `ratio`), 0..1; two empty texts are equal."""
    return Indel.normalized_similarity(a, b)


def leading_lines(proposal: str, intended: str) -> str:
    """The most whole lines of the proposal, from its start, that are also how the unit starts."""
    taken, end = "", 0
    while end < len(proposal):
        stop = proposal.find("\n", end + 1)
        piece = proposal if stop < 0 else proposal[:stop]
        if not intended.startswith(piece):
            break
        taken, end = piece, len(piece)
    return taken


def react(proposal: str, intended: str, committed: str, accept_edit_similarity: float) -> Reaction:
    """The reaction to `proposal` of a developer who meant to write `intended` at the cursor and
    ended up with `committed` (C_N) in the gap."""
    if not proposal.strip():
        return Reaction(SILENT, "silent", 0)
    meant = intended.rstrip()
    if not meant.strip():
        return Reaction(REJECTED, "unwanted", 0)
    shown = proposal.rstrip()
    if shown == meant:
        return Reaction(ACCEPTED, "exact", len(meant))
    if shown.startswith(meant) and committed.startswith(shown):
        return Reaction(ACCEPTED, "ahead", len(meant))
    if similarity(shown, meant) >= accept_edit_similarity:
        return Reaction(ACCEPTED, "edited", max(0, len(meant) - Levenshtein.distance(shown, meant)))
    lines = leading_lines(shown, meant)
    if lines.strip():
        return Reaction(PARTIAL, "short" if lines == shown else "lines", len(lines))
    word = first_word(shown)
    if word.strip() and meant.startswith(word):
        return Reaction(PARTIAL, "word", len(word))
    return Reaction(REJECTED, "wrong", 0)


@dataclass(frozen=True)
class Replayed:
    """One held-out request replayed with a candidate's proposal; what the metrics are made of."""

    request_id: str
    language: str
    trigger: str
    length_bucket: str
    proposal: str
    outcome: str
    how: str
    chars_saved: int
    intended_chars: int
    # Against the true C_N cut to its unit (trailing blanks aside): the training target's definition.
    exact_match: bool
    edit_similarity: float
    void_target: bool


def replay_one(request: HeldoutRequest, proposal: str, accept_edit_similarity: float) -> Replayed:
    reaction = react(proposal, request.intended, request.committed, accept_edit_similarity)
    shown, target = proposal.rstrip(), request.target.rstrip()
    return Replayed(
        request_id=request.request_id,
        language=request.language,
        trigger=request.trigger,
        length_bucket=request.length_bucket,
        proposal=proposal,
        outcome=reaction.outcome,
        how=reaction.how,
        chars_saved=reaction.chars_saved,
        intended_chars=len(request.intended.rstrip()),
        exact_match=shown == target,
        edit_similarity=similarity(shown, target),
        void_target=request.is_void,
    )


def replay(requests: Sequence[HeldoutRequest], proposals: Sequence[str], accept_edit_similarity: float) -> list[Replayed]:
    """Each request with the proposal a candidate made for it (what the production server would
    have shown), and the developer's reaction to it."""
    if len(requests) != len(proposals):
        raise ValueError(f"{len(requests)} requests but {len(proposals)} proposals")
    return [replay_one(r, p, accept_edit_similarity) for r, p in zip(requests, proposals)]
