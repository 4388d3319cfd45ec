"""What the simulated developer does: reactions to proposals, and the noise of human editing.

Every decision is one draw from the session's random source against a configured rate, so that
the ground truth's labels can be checked against the configuration. A reaction is the policy's
choice; what it did to the text (the accepted piece, the edit made after accepting) is decided
here too, from the proposal and the unit the developer had in mind.
"""

from __future__ import annotations

import keyword
import random
import re

from ..config import SimulateConfig
from .editor import Span
from .units import TOKEN, WORD

ACCEPT, ACCEPT_PARTIAL, ACCEPT_EDIT, REJECT, IGNORE = "accept", "accept_partial", "accept_edit", "reject", "ignore"
REACTIONS = (ACCEPT, ACCEPT_PARTIAL, ACCEPT_EDIT, REJECT, IGNORE)
# An empty proposal (silence) leaves nothing to react to.
NO_REACTION = "none"
ACCEPTS = frozenset({ACCEPT, ACCEPT_PARTIAL, ACCEPT_EDIT})
RENAME, CUT_TAIL, CHANGE_ARGUMENT = "rename", "cut_tail", "change_argument"

_NEXT_WORD = re.compile(r"\s*(?:\w+|[^\w\s]+)")
_CALL_ARGS = re.compile(r"\(([^()\n]+)\)")
_RENAME_SUFFIXES = ("_2", "_new", "s", "_tmp", "_value")
_ARGUMENT_STAND_INS = ("None", "0", "True", "''", "self")
# A key's right-hand neighbour on a QWERTY row (the last key's left-hand one).
_NEIGHBOUR_KEYS = {
    row[i]: row[i + 1] if i + 1 < len(row) else row[i - 1]
    for row in ("qwertyuiop", "asdfghjkl", "zxcvbnm")
    for i in range(len(row))
}


def first_word(text: str) -> str:
    """What "accept next word" takes: leading spaces and one word or run of punctuation."""
    match = _NEXT_WORD.match(text)
    return match.group() if match else text


def first_line(text: str) -> str:
    """What "accept next line" takes: up to the end of the first line that holds anything."""
    stop = text.find("\n", 1 if text.startswith("\n") else 0)
    return text if stop < 0 else text[:stop]


class Policy:
    def __init__(self, config: SimulateConfig, rng: random.Random) -> None:
        self.config = config
        self.rng = rng
        rates = dict(config.reaction)
        self._reactions, self._weights = list(rates), list(rates.values())

    def chance(self, rate: float) -> bool:
        return self.rng.random() < rate

    def react(self, proposal: str) -> str:
        if not proposal:
            return NO_REACTION
        return self.rng.choices(self._reactions, self._weights)[0]

    def partial_piece(self, text: str, by_line: bool) -> str:
        return first_line(text) if by_line else first_word(text)

    # Human timing, in seconds.
    def think_s(self) -> float:
        return 0.3 + self.rng.expovariate(1.0)

    def typing_s(self, chars: int) -> float:
        return max(1, chars) / self.config.typing_chars_per_s * self.rng.uniform(0.5, 1.5)

    def pause_s(self) -> float:
        return 1.0 + self.rng.expovariate(1.0 / self.config.pause_mean_s)

    def away_s(self) -> float:
        return self.rng.expovariate(1.0 / self.config.jump_away_mean_s)

    def mistype(self, word: str) -> str:
        """The word as a hurried typist hits it: two letters swapped, a neighbour key, or a double."""
        i = self.rng.randrange(len(word) - 1)
        how = self.rng.randrange(3)
        if how == 0 and word[i] != word[i + 1]:
            return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        if how == 1 and word[i].lower() in _NEIGHBOUR_KEYS:
            return word[:i] + _NEIGHBOUR_KEYS[word[i].lower()] + word[i + 1 :]
        return word[: i + 1] + word[i] + word[i + 1 :]

    def edit_after_accept(self, accepted: str, unit: str) -> tuple[str | None, list[Span]]:
        """How the developer edits a just-accepted text: (kind, spans in it, each in the text the
        previous one left)."""
        makers = {RENAME: self._rename, CUT_TAIL: self._cut_tail, CHANGE_ARGUMENT: self._change_argument}
        options = [(kind, changes) for kind, make in makers.items() if (changes := make(accepted, unit))]
        if not options:
            return None, []
        return self.rng.choice(options)

    def _rename(self, text: str, unit: str) -> list[Span]:
        names = sorted({m.group() for m in WORD.finditer(text) if not keyword.iskeyword(m.group())})
        if not names:
            return []
        name = self.rng.choice(names)
        new = name + self.rng.choice(_RENAME_SUFFIXES)
        changes, shift = [], 0
        for match in re.finditer(rf"\b{re.escape(name)}\b", text):
            changes.append(Span(match.start() + shift, match.end() + shift, new))
            shift += len(new) - len(name)
        return changes

    def _cut_tail(self, text: str, unit: str) -> list[Span]:
        if unit and len(text) > len(unit) and text.startswith(unit):
            return [Span(len(unit), len(text), "")]  # trimmed back to the unit it ran past
        tokens = TOKEN.findall(text)
        if len(tokens) < 2:
            return []
        cut = len("".join(tokens[: self.rng.randint(1, len(tokens) - 1)]))
        return [Span(cut, len(text), "")]

    def _change_argument(self, text: str, unit: str) -> list[Span]:
        spans = []
        for call in _CALL_ARGS.finditer(text):
            at = call.start(1)
            for arg in call.group(1).split(","):
                stripped = arg.strip()
                if stripped:
                    start = at + arg.index(stripped)
                    spans.append((start, start + len(stripped), stripped))
                at += len(arg) + 1
        if not spans:
            return []
        start, end, old = self.rng.choice(spans)
        new = self.rng.choice([s for s in _ARGUMENT_STAND_INS if s != old])
        return [Span(start, end, new)]
