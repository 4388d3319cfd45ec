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
  One case is known to be a cut at a line end: the gap was finalized because the cursor left its
  region (`left_region`: the developer typed on past the bound) and C_N holds exactly one line
  break fewer than the bound allows, under its character limit. The bound cut it at the next line
  break, so C_N's last line is complete: a statement ending there is whole and kept. A block
  ending there is not known to be whole (its next line may be indented into it) and is dropped.

A teacher changes scope only: the answer is always a prefix of C_N.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import LifecycleConfig
from ..telemetry.gap_ends import gap_bound
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
    """Truncates C_N to the unit being written; see the module docstring.

    `max_gap_chars` and `line_factor` are the lifecycle's no-suffix bound (`lifecycle.
    no_suffix_max_gap_chars`, `no_suffix_line_factor`; their defaults when not given).
    """

    def __init__(self, max_gap_chars: int | None = None, line_factor: int | None = None) -> None:
        defaults = LifecycleConfig()
        self.max_gap_chars = defaults.no_suffix_max_gap_chars if max_gap_chars is None else max_gap_chars
        self.line_factor = defaults.no_suffix_line_factor if line_factor is None else line_factor

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
                if not self.cut_at_line_end(gap):
                    return UnitAnswer("", UNIT_CUT)
                # The bound cut the line break after C_N: the unit is whole if that closes it.
                span = unit_span(doc + "\n", cursor, commit_end + 1, gap.language)
                if not span.closed or span.end > commit_end:
                    return UnitAnswer("", UNIT_CUT)
            whole = unit_span(doc, cursor, len(doc), gap.language)
            if whole.end <= commit_end:
                span = whole  # the suffix closes the unit where C_N ends
            # else the unit goes on in existing text: its part in the gap, clipped as `span` is
        text = gap.committed[: span.end - cursor]
        if not text.strip():
            return UnitAnswer("", NO_UNIT)
        return UnitAnswer(text)

    def cut_at_line_end(self, gap: Gap) -> bool:
        """Was a suffix-less C_N cut by the no-suffix bound's line limit (so at a line break)?"""
        if gap.finalize_reason != "left_region" or gap.proposal is None:
            return False
        bound = gap_bound(self.max_gap_chars, self.line_factor, gap.proposal)
        assert bound.max_lines is not None
        return gap.committed.count("\n") == bound.max_lines - 1 and len(gap.committed) < bound.max_chars
