"""Where a gap ends, defined once for the lifecycle tracker that recovers C_N and for the
simulator's ground truth that judges it, so neither imports the other: how far a gap with no
suffix anchor reaches (`GapBound`), and where a burst of typing in a gap ends (below).

Typing at the cursor lands at the end of the gap, and so does the Enter after the typed line (a
real editor reports it there; a snapshot diff that places it at the start of S1 reads the same).
Without a rule, every later line the developer writes from there flows into the gap until an
anchor breaks, the document closes or the maximum lifetime passes, and a gap read that late can
hold a rewritten body whose first line is no longer the one typed.

The rule: the burst ends at a new line started after a pause. Once the gap holds typed text and
ends with a line break (and only whitespace after it: the editor's indentation), and its content
then stays unchanged for `lifecycle.burst_pause_s`, C_N is the gap as it stood, without that
trailing line break and whitespace (the Enter belongs to the next line, as a unit never includes
the line break that ends it). Like Zed's settled predictions, the gap counts as settled after a
quiet period, but only at a line end: a pause in the middle of a line (thinking of the next
argument) does not end anything, and a developer who goes on typing the next line at once is
still in the same burst (a block typed in one go stays whole).
"""

from __future__ import annotations

from dataclasses import dataclass

BURST_END = "burst_end"
_TRAILING = " \t\r\n"


def ends_line(gap: str) -> bool:
    """The gap holds typed text and ends with a line break, then only whitespace."""
    body = gap.rstrip(_TRAILING)
    return bool(body) and "\n" in gap[len(body) :]


def burst_text(gap: str) -> str:
    """C_N at the end of a burst: the gap without the line break (and indentation) that ended it."""
    return gap.rstrip(_TRAILING)


@dataclass(frozen=True)
class GapBound:
    """How far past P1 the gap of a request without a suffix anchor reaches.

    A request at the very end of the document (an empty suffix, like writing a file top to
    bottom) or logged without a suffix has no S1: nothing marks where the text that answers it
    ends. As Copilot's fallback does when the text after the cursor is unknown, the gap is then
    bounded: at most `max_chars` characters, and fewer than `max_lines` line breaks (a multiple
    of the proposal's lines; None: no line bound). The simulator's ground truth uses the same
    bound, so truth and tracker share one definition.
    """

    max_chars: int
    max_lines: int | None = None

    def holds(self, gap: str) -> bool:
        return len(gap) <= self.max_chars and (self.max_lines is None or gap.count("\n") < self.max_lines)

    def cut(self, text: str) -> str:
        """The longest start of `text` the bound holds: the gap when `text` follows P1."""
        text = text[: self.max_chars]
        if self.max_lines is not None:
            at = -1
            for _ in range(self.max_lines):
                at = text.find("\n", at + 1)
                if at < 0:
                    return text
            return text[:at]
        return text


def gap_bound(max_chars: int, line_factor: int, proposal: str | None, *, accepted: bool = False) -> GapBound:
    """The bound of a suffix-less gap: `line_factor` times the proposal's lines (none when unknown),
    and `max_chars`, stretched to the proposal's length when it was accepted: the accepted text is
    in the gap (a 647-character function body in the real Copilot log was cut, never seen kept)."""
    if proposal is None:
        return GapBound(max_chars)
    chars = max(max_chars, len(proposal)) if accepted else max_chars
    return GapBound(chars, line_factor * (proposal.count("\n") + 1))
