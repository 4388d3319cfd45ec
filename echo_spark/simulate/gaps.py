"""Ground truth C_N: every request's gap followed exactly, edit by edit, in the true document.

The simulator knows each edit's exact span, so nothing is inferred from text: the region of a
request is P1 + gap + S1, where P1 and S1 are the `anchor_chars` characters before and after the
cursor at request time. An edit before the region shifts it, one after it leaves it alone, one
inside the gap (an insertion at either inner end included) grows or shrinks the gap, and one that
touches an anchor breaks it: C_N is then the gap just before that edit. A gap also commits when
the cursor has been outside the region for `left_region_s` (its content when the cursor left),
at `max_lifetime_s` after the request, and when the document closes or the session ends. With
edit telemetry, also where the burst of typing ends (`telemetry/gap_ends.py`): the gap holds typed
text and ends with a line break, and its content stays so for `burst_pause_s` (a new line started
after a pause); C_N is then that text without the line break, as the tracker reads it. Server logs
cannot time keystrokes, so their sessions' gaps run on as before.
A request at the very end of the document (writing a file top to bottom) has an empty S1, so
nothing marks where its answer ends: as in the lifecycle tracker (and Copilot's fallback), its gap
is then cut by a `GapBound` (at most `no_suffix_max_gap_chars` characters, fewer line breaks than
`no_suffix_line_factor` times the proposal's lines), and a cursor past the cut gap is outside the
region. The same rules as the lifecycle tracker's, with one difference: an anchor once touched
stays broken here, even if a later edit restores its text (the tracker forgives that within
`anchor_repair_s`). (An event of several changes, a rename, only
ever edits the text just accepted, inside the gaps: no change of it touches an anchor.)

Besides C_N, the *observable truth*: the gap as of the last moment a log event of the session's
mode could show it before it committed. Edit telemetry reports every change, so there it is C_N.
Server logs show a gap only in the window (prefix + suffix) of a later request in the document
that holds P1, the whole gap and S1 (for a suffix-less gap: the gap as the bound cuts it), and in
the request's own accept (the gap is then the accepted text); a gap committed because the cursor
left is also shown by a later window that holds it still as it was left (the tracker reads windows
until its own wait runs out, and a developer coming back may send a request before typing); what
the developer typed after the
last such moment is in no log, and no server-log tracker can recover it. A gap no event showed
has no observable truth (None).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..telemetry.gap_ends import BURST_END, GapBound, burst_text, ends_line, gap_bound
from ..telemetry.positions import utf16_len
from .ground_truth import RequestTruth

ANCHOR_BROKEN = "anchor_broken"
LEFT_REGION = "left_region"
MAX_LIFETIME = "max_lifetime"
DOC_CLOSED = "doc_closed"
SESSION_END = "session_end"
_NEVER = float("inf")


@dataclass(slots=True)
class _Gap:
    start: int  # gap start: the end of P1 (document index)
    end: int  # gap end: the start of S1
    p1: int  # anchor lengths
    s1: int
    expires: float  # request time + max lifetime
    away_since: float | None
    row: RequestTruth
    bound: GapBound | None  # an empty S1: the gap is cut by this bound
    left_with: str | None = None  # the gap's content when the cursor left (a left_region commit)
    shown: str | None = None  # server logs: the gap as the last event that showed it held it
    last: str = ""  # edit telemetry: the gap's content after the last edit that reached it
    line_end_since: float | None = None  # since when that content, ending a typed line, is unchanged

    def reach(self, text: str) -> int:
        """Where the region ends for the cursor, in `text`: S1's end, or the end of the cut gap."""
        if self.bound is None:
            return self.end + self.s1
        return self.start + len(self.bound.cut(text[self.start : self.end]))

    def content(self, text: str) -> str:
        if self.bound is None:
            return text[self.start : self.end]
        return self.bound.cut(text[self.start : min(self.end, self.start + self.bound.max_chars)])


class GapBook:
    """The open gaps of one document."""

    def __init__(
        self,
        anchor_chars: int,
        left_region_s: float,
        max_lifetime_s: float,
        last_seq: Callable[[], int],
        *,
        no_suffix_max_gap_chars: int,
        no_suffix_line_factor: int,
        server_logs: bool = False,
        burst_pause_s: float | None = None,
    ) -> None:
        self._last_seq = last_seq
        # Server logs only: what a log event can show of a gap is less than C_N (observable truth).
        self.server_logs = server_logs
        self.anchor_chars = anchor_chars
        self.no_suffix_max_gap_chars = no_suffix_max_gap_chars
        self.no_suffix_line_factor = no_suffix_line_factor
        self.left_region_s = left_region_s
        self.max_lifetime_s = max_lifetime_s
        # Edit telemetry: a burst of typing ends at a new line started after this pause (None: never).
        self.burst_pause_s = burst_pause_s
        self._open: list[_Gap] = []
        # Server logs: gaps committed because the cursor left, still in the document as left; a later
        # window holding one shows its C_N (the tracker reads windows until its own wait runs out).
        self._settled: list[_Gap] = []
        self._next_deadline = _NEVER

    def __len__(self) -> int:
        return len(self._open)

    def open(self, row: RequestTruth, cursor: int, doc_len: int, now: float, *, accepted: bool = False) -> None:
        """A request at `cursor`; `accepted`: its proposal will be accepted (the tracker knows the
        verdict from the start too), which stretches the bound of a suffix-less gap to hold it."""
        p1 = min(self.anchor_chars, cursor)
        s1 = min(self.anchor_chars, doc_len - cursor)
        bound = None
        if not s1:
            bound = gap_bound(self.no_suffix_max_gap_chars, self.no_suffix_line_factor, row.proposal, accepted=accepted)
        gap = _Gap(cursor, cursor, p1, s1, now + self.max_lifetime_s, None, row, bound)
        self._open.append(gap)
        self._next_deadline = min(self._next_deadline, gap.expires)

    def window(self, start: int, end: int, text: str) -> None:
        """A request logged the window `text[start:end]` (its prefix + suffix): record, for each open
        gap whose P1, whole gap and S1 it holds, the gap as it shows it (observable truth)."""
        for gap in self._open:
            shown = _in_window(gap, start, end, text)
            if shown is not None:
                gap.shown = shown
        for gap in self._settled:
            if _in_window(gap, start, end, text) == gap.row.true_committed:
                gap.row.observable_committed, gap.row.observable_shown = gap.row.true_committed, True

    def accepted(self, row: RequestTruth, text: str) -> None:
        """`row`'s proposal was just inserted into its gap: the accept event shows the gap holding it."""
        for gap in self._open:
            if gap.row is row:
                gap.shown = gap.content(text)

    def label(self, behaviour: str) -> None:
        """A behaviour happened while these gaps were still open: each request's row records it."""
        for gap in self._open:
            gap.row.behaviours.add(behaviour)

    def edit(self, start: int, end: int, new_len: int, text: str, after: str, now: float, *, final: bool = True) -> None:
        """`text[start:end]` (the document before the edit) is about to become `new_len`
        characters (giving `after`), and the caret to stand after them. One pass: this runs for
        every keystroke. Of an event of several changes (a rename), only the `final` one places
        the caret, as the tracker reads it: the others reach into gaps without the cursor."""
        delta = new_len - (end - start)
        caret = start + new_len
        broken = False
        for gap in self._open:
            gap_start, gap_end, p1, s1 = gap.start, gap.end, gap.p1, gap.s1
            region_start, region_end = gap_start - p1, gap_end + s1
            if end < region_start or (end == region_start and (start < end or p1)):
                gap_start += delta
                gap_end += delta
                gap.start, gap.end = gap_start, gap_end
            elif start > region_end or (start == region_end and (start < end or s1)):
                pass
            elif gap_start <= start and end <= gap_end:
                gap_end += delta
                gap.end = gap_end
                if self.burst_pause_s is not None:
                    self._changed(gap, after, now)
            else:
                self._commit(gap, ANCHOR_BROKEN, now, text)  # the gap just before the edit
                broken = True
                continue
            if not final:
                continue
            if gap_start - p1 <= caret <= (gap_end + s1 if gap.bound is None else gap.reach(after)):
                gap.away_since = None
            elif gap.away_since is None:
                gap.away_since, gap.left_with = now, gap.content(after)
                self._next_deadline = min(self._next_deadline, now + self.left_region_s)
        if broken:
            self._open = [g for g in self._open if g.row.finalize_reason is None]
        if self._settled:
            self._settled = [g for g in self._settled if _still_settled(g, start, end, delta, now)]

    def _changed(self, gap: _Gap, text: str, now: float) -> None:
        """An edit reached the gap: if its content changed, the burst clock starts again."""
        content = gap.content(text)
        if content == gap.last:
            return
        gap.last = content
        gap.line_end_since = now if ends_line(content) else None
        if gap.line_end_since is not None:
            self._next_deadline = min(self._next_deadline, now + (self.burst_pause_s or 0.0))

    def cursor(self, index: int, now: float, text: str) -> None:
        """The caret is at `index` in `text`: starts or stops each gap's left-region clock."""
        for gap in self._open:
            if gap.start - gap.p1 <= index <= gap.reach(text):
                gap.away_since = None
            elif gap.away_since is None:
                gap.away_since, gap.left_with = now, gap.content(text)
                self._next_deadline = min(self._next_deadline, now + self.left_region_s)

    def tick(self, now: float, text: str) -> None:
        """Commit the gaps whose time ran out by `now` (nothing changed since the last event)."""
        if now < self._next_deadline:
            return
        deadline = _NEVER
        for gap in self._open:
            left_at = _NEVER if gap.away_since is None else gap.away_since + self.left_region_s
            burst_at = _NEVER if gap.line_end_since is None else gap.line_end_since + (self.burst_pause_s or 0.0)
            due, reason = min((left_at, LEFT_REGION), (burst_at, BURST_END), (gap.expires, MAX_LIFETIME))
            if due > now:
                deadline = min(deadline, due)
            elif reason == LEFT_REGION:
                # Committed as it stood when the cursor left it.
                self._commit(gap, LEFT_REGION, gap.away_since, text)
            elif reason == BURST_END:
                # Committed as it stood at the line break that ended the burst (unchanged since).
                self._commit(gap, BURST_END, gap.line_end_since, text)
            else:
                self._commit(gap, MAX_LIFETIME, gap.expires, text)
        self._open = [g for g in self._open if g.row.finalize_reason is None]
        self._next_deadline = deadline

    def close_all(self, reason: str, now: float, text: str) -> None:
        self.tick(now, text)
        for gap in self._open:
            self._commit(gap, reason, now, text)
        self._open = []
        self._settled = []
        self._next_deadline = _NEVER

    def _commit(self, gap: _Gap, reason: str, at: float, text: str) -> None:
        """`text` is the document as the last event emitted left it (edits are committed before
        they are reported)."""
        row = gap.row
        # Left the region: committed as it stood when the cursor left (a rename of accepted text
        # elsewhere may reach into the gap while the cursor is away).
        row.true_committed = gap.left_with if reason == LEFT_REGION and gap.left_with is not None else gap.content(text)
        if reason == BURST_END:
            row.true_committed = burst_text(row.true_committed)
        row.finalize_reason = reason
        row.finalize_ts_ms = round(at * 1000)
        row.committed_offset = utf16_len(text[: gap.start])
        row.committed_seq = self._last_seq()
        if self.server_logs:
            row.observable_committed, row.observable_shown = gap.shown, gap.shown is not None
            if reason == LEFT_REGION:
                self._settled.append(gap)
        else:  # every change is reported: all of C_N is observable
            row.observable_committed, row.observable_shown = row.true_committed, True


def _in_window(gap: _Gap, start: int, end: int, text: str) -> str | None:
    """The gap as the window `text[start:end]` shows it, if it holds P1, the whole gap and S1 (a
    suffix-less gap: all of it, or the bound cuts it inside the window); else None."""
    if start > gap.start - gap.p1:
        return None
    if gap.bound is None:
        return text[gap.start : gap.end] if gap.end + gap.s1 <= end else None
    seen = text[gap.start : min(gap.end, end)]
    cut = gap.bound.cut(seen)
    return cut if end >= gap.end or len(cut) < len(seen) else None


def _still_settled(gap: _Gap, start: int, end: int, delta: int, now: float) -> bool:
    """Follow a committed gap's region through an edit; False once the edit touches it (or it expired)."""
    if now >= gap.expires:
        return False
    region_start, region_end = gap.start - gap.p1, gap.end + gap.s1
    if end < region_start or (end == region_start and (start < end or gap.p1)):
        gap.start += delta
        gap.end += delta
        return True
    if start > region_end or (start == region_end and (start < end or gap.s1)):
        return True
    committed = gap.row.true_committed or ""
    if gap.bound is not None and start >= gap.start + len(committed):
        gap.end += delta  # typing on past the cut: the cut gap stays as committed
        return True
    return False
