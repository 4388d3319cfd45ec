"""The default teacher: keep the atomic unit of the trigger, whole, or drop the gap.

The unit is the one the simulator calls `intended_unit`: both use `echo_spark.units`, one
definition (the rest of the statement, the block after an opener, the element of a literal on
the cursor's line, never the line break that ends it). It is read in the committed document
D = prefix + C_N + suffix at the cursor c = len(prefix):

- the unit ends inside C_N (a line break at depth 0, a dedented line, the closing brace): the
  answer is that prefix of C_N; what follows it (later, unrelated edits) falls away;
- the unit runs to the end of C_N and the gap has a suffix anchor (the suffix is known and not
  empty): the gap ends where existing text starts, so C_N's end is the unit's end (the suffix
  closes it, or the unit goes on in text that was already there, as the simulator clips a unit to
  the region being written);
- the unit runs to the end of C_N and there is no suffix (the end of the document, or a log
  without one): C_N was cut by the tracker's no-suffix bound, or the developer stopped mid-unit.
  The unit is not whole, and a cut unit would teach the model to stop in the wrong place: the gap
  is dropped (`unit_cut`). A C_N that holds a whole unit and then a cut one keeps the whole one.

A teacher changes scope only: the answer is always a prefix of C_N.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..units import unit_span
from .records import Gap

UNIT_CUT = "unit_cut"
NO_UNIT = "no_unit"


@dataclass(frozen=True)
class UnitAnswer:
    """The teacher's answer: `text` (a prefix of C_N), or a drop reason when no whole unit is there."""

    text: str
    drop_reason: str | None = None


class SyntaxTeacher:
    """Truncates C_N to the unit being written; see the module docstring."""

    def truncate(self, gap: Gap) -> str:
        """The unit as text; a dropped gap gives its whole C_N (callers that drop use `answer`)."""
        answer = self.answer(gap)
        return gap.committed if answer.drop_reason else answer.text

    def answer(self, gap: Gap) -> UnitAnswer:
        if gap.is_void:
            return UnitAnswer("")
        suffix = gap.suffix_text
        doc = gap.prefix + gap.committed + suffix
        cursor = len(gap.prefix)
        commit_end = cursor + len(gap.committed)
        span = unit_span(doc, cursor, commit_end, gap.language)
        if not span.closed:
            if not suffix:
                return UnitAnswer("", UNIT_CUT)
            whole = unit_span(doc, cursor, len(doc), gap.language)
            if whole.end <= commit_end:
                span = whole  # the suffix closes the unit where C_N ends
            # else the unit goes on in existing text: its part in the gap, clipped as `span` is
        text = gap.committed[: span.end - cursor]
        if not text.strip():
            return UnitAnswer("", NO_UNIT)
        return UnitAnswer(text)
