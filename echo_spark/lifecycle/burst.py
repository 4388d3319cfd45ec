"""Where a burst of typing in a gap ends: the rule shared by the edit tracker and the simulator's truth.

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

BURST_END = "burst_end"
_TRAILING = " \t\r\n"


def ends_line(gap: str) -> bool:
    """The gap holds typed text and ends with a line break, then only whitespace."""
    body = gap.rstrip(_TRAILING)
    return bool(body) and "\n" in gap[len(body) :]


def burst_text(gap: str) -> str:
    """C_N at the end of a burst: the gap without the line break (and indentation) that ended it."""
    return gap.rstrip(_TRAILING)
