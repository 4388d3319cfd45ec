"""Edit-telemetry mode: follow each request's anchors through every document change, exactly.

Each request keeps the span of its region, P1 + gap + S1, as Python indexes into the current
document, updated for every change by Cody's range rules: an edit after the span leaves it,
one before shifts it, one inside grows or shrinks it, and one over an end extends the span
to take in the replacement. The anchors are intact while the span still starts with P1 and
ends with S1; the gap is what lies between.

Judging the anchors by their text, at exact outer positions, rather than by which positions an
edit touched has two consequences the real data needs. An insertion that snapshot-diffed
telemetry placed at the rightmost of its equivalent positions (inside S1, though the user typed
at the end of the gap) leaves S1 reading as before, so it lands in the gap: the leftmost
equivalent position, by construction. And an anchor edited and then restored (an undo, a
character deleted and retyped, an IDE rewriting a word with the same word) is only damaged for
a while; one that stays altered broke when it was first altered, which also covers an edit
spanning an anchor (Copilot's blind spot).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from echo_spark.config import LifecycleConfig
from echo_spark.lifecycle.anchors import Anchors, anchors_at
from echo_spark.lifecycle.events import TextChange, TrackerEvent
from echo_spark.lifecycle.gap_lifecycle import RequestSlot
from echo_spark.lifecycle.outcome import RETENTION_AGES_S
from echo_spark.lifecycle.positions import Edit, edit_from_change, edit_from_snapshots
from echo_spark.telemetry.gap_ends import GapBound, ends_line, gap_bound
from echo_spark.telemetry.positions import PositionError, to_index


class DocumentSkipped(Exception):
    """The document's events cannot be applied; `reason` says why, and nothing is guessed."""

    def __init__(self, reason: str, event_id: str) -> None:
        super().__init__(f"{reason} at event {event_id}")
        self.reason = reason


@dataclass(frozen=True)
class Region:
    """The span [start, end) of P1 + gap + S1 in the current document, and the anchors it must show.

    With an empty S1 (a request at the very end of the document) the span runs to the end of the
    document, and `bound` cuts the gap (see `GapBound`): the cursor beyond it has left the region.
    Such a region's `end` is not kept up to date: only P1 can break, and only the `max_chars`
    characters after P1 can reach the gap, so edits beyond them leave the region alone (writing a
    file top to bottom would otherwise touch every earlier request's region on every keystroke).
    """

    start: int
    end: int
    anchors: Anchors
    bound: GapBound | None = None

    @property
    def inner(self) -> tuple[int, int]:
        return self.start + len(self.anchors.before), self.end - len(self.anchors.after or "")

    def intact(self, text: str) -> bool:
        lo, hi = self.inner
        if self.bound is not None:
            return text[self.start : lo] == self.anchors.before
        return lo <= hi and text[self.start : lo] == self.anchors.before and text[hi : self.end] == (self.anchors.after or "")

    def gap(self, text: str) -> str:
        """The gap, meaningful while the anchors are intact."""
        lo, hi = self.inner
        return text[lo:hi] if self.bound is None else self.bound.cut(text[lo : lo + self.bound.max_chars])

    def holds_cursor(self, index: int, text: str) -> bool:
        """The cursor is in the region while it is on the anchors or in the (bounded) gap."""
        if self.bound is None:
            return self.start <= index <= self.end
        return self.start <= index <= self.inner[0] + len(self.gap(text))

    def precedes(self, edit: Edit) -> bool:
        """The edit lies before the region: it only shifts it."""
        # An insertion at an outer end belongs to the gap only when that anchor is empty (the
        # request was at the very start or end of the document): there, typing meets the gap.
        return edit.end < self.start or (edit.end == self.start and (edit.start < edit.end or bool(self.anchors.before)))

    def after(self, edit: Edit) -> Region | None:
        """The region once `edit` is applied; None when the edit leaves it alone."""
        if self.precedes(edit):
            return Region(self.start + edit.delta, self.end + edit.delta, self.anchors, self.bound)
        if self.bound is not None:
            if edit.start >= self.inner[0] + self.bound.max_chars:
                return None
            return Region(min(self.start, edit.start), self.end, self.anchors, self.bound)
        if edit.start > self.end or (edit.start == self.end and (edit.start < edit.end or self.anchors.after)):
            return None
        new_end = max(self.end + edit.delta, edit.start + len(edit.new_text))
        return Region(min(self.start, edit.start), new_end, self.anchors, self.bound)


class _Equivalent:
    """Where else one pure insertion or deletion could have been made for the same document.

    Typing at the cursor lands at the end of the gap, but a snapshot diff places an insertion or
    deletion at the rightmost of its equivalent positions, which where text repeats can lie inside
    S1 (read right by the anchors' text) or past it (Enter before the line break that ends the
    document, a `)` typed before an auto-closed `)` at the end of a line): past S1 the region
    would never see it, and the cursor would seem to have left. So an edit that could have been
    made at a gap's end is read there, for that gap: the same document either way.
    """

    def __init__(self, before: str, after: str, edit: Edit, caret: int | None) -> None:
        self._edit = edit
        self._caret = caret
        self._size = len(edit.new_text) or edit.end - edit.start
        self._range: tuple[int, int] | None = None
        self._texts = (before, after)

    def _span(self) -> tuple[int, int]:
        """The lowest and highest start giving the same document (computed once, when asked)."""
        if self._range is None:
            (before, after), edit, n = self._texts, self._edit, self._size
            lo = hi = edit.start
            if edit.new_text:  # after[q:q + n] inserted at q
                while lo > 0 and before[lo - 1] == after[lo - 1 + n]:
                    lo -= 1
                while hi < len(before) and before[hi] == after[hi]:
                    hi += 1
            else:  # before[q:q + n] deleted
                while lo > 0 and before[lo - 1] == before[lo - 1 + n]:
                    lo -= 1
                while hi + n < len(before) and before[hi] == before[hi + n]:
                    hi += 1
            self._range = lo, hi
        return self._range

    def at_gap_end(self, region: Region) -> Edit:
        """The edit as `region` reads it: at the end of its gap if it could have been made there."""
        edit, caret = self._edit, self._caret
        if region.bound is not None or (edit.end > edit.start) == bool(edit.new_text):  # a replacement, or nothing
            return edit
        if caret is not None and caret in (edit.start, edit.end):
            return edit  # made where the client showed the caret: the position is the developer's
        lo_inner, hi_inner = region.inner
        # A diff only ever moves an edit right, to the highest of its equivalent starts.
        start = hi_inner - (0 if edit.new_text else self._size)
        if not lo_inner <= start < edit.start:
            return edit
        lo, hi = self._span()
        if not (lo <= start and hi == edit.start):
            return edit
        return Edit(start, start, self._texts[1][start : start + self._size]) if edit.new_text else Edit(start, hi_inner, "")


@dataclass
class _Follower:
    slot: RequestSlot
    region: Region
    # The gap as last read while C_N could still change (the burst rule times its changes).
    last_gap: str = ""


class EditTracker:
    """Runs one document's ordered events; fills the lifecycles of its requests' slots."""

    def __init__(self, slots: Mapping[str, RequestSlot], encoding: str, config: LifecycleConfig) -> None:
        self._requests = {s.event.event_id: s for s in slots.values()}
        self._accepts = {s.verdict.accept_event_id: s for s in slots.values() if s.verdict.accept_event_id}
        self._encoding = encoding
        self._config = config
        self._text: str | None = None
        self._now: int | None = None
        self._followers: list[_Follower] = []
        # Where the client last showed the caret (a cursor event, or the end of the last edit).
        self._caret: int | None = None

    def run(self, events: Iterable[TrackerEvent], session_end_us: int | None) -> None:
        """Follow every request to its end; raises `DocumentSkipped` when the events do not fit."""
        for event in events:
            self._advance(event.ts_us if self._now is None else max(self._now, event.ts_us))
            try:
                self._handle(event)
            except PositionError as err:
                raise DocumentSkipped(err.reason, event.event_id) from None
        self._finish(session_end_us)

    def _handle(self, event: TrackerEvent) -> None:
        kind = event.type
        if kind == "doc_open":
            if self._text is None:
                self._text = event.text or ""
            else:
                self._apply_edits(event, [edit_from_snapshots(self._text, event.text or "")])
        elif kind == "doc_change":
            self._change(event)
        elif kind == "cursor":
            if self._text is not None and event.offset is not None:
                index = to_index(self._text, event.offset, self._encoding)
                self._caret = index
                self._observe(index)
        elif kind == "doc_save":
            self._observe(None)
        elif kind == "doc_close":
            for follower in self._followers:
                follower.slot.lifecycle.seen_intact()
                follower.slot.lifecycle.end("doc_closed", self._clock, follower.region.gap(self._doc))
            self._followers = []
            self._text = None
        elif kind == "completion_request" and event.event_id in self._requests:
            self._start(self._requests[event.event_id], event)
        elif kind == "completion_accept" and event.event_id in self._accepts:
            slot = self._accepts[event.event_id]
            slot.lifecycle.accept(slot.accepted_at_cursor(), self._clock)

    @property
    def _clock(self) -> int:
        assert self._now is not None
        return self._now

    @property
    def _doc(self) -> str:
        assert self._text is not None
        return self._text

    def _start(self, slot: RequestSlot, event: TrackerEvent) -> None:
        if self._text is None:
            raise DocumentSkipped("request_before_open", event.event_id)
        if event.offset is None:
            raise DocumentSkipped("request_without_offset", event.event_id)
        cursor = to_index(self._text, event.offset, self._encoding)
        cfg = self._config
        anchors = anchors_at(self._text, cursor, cfg.anchor_chars, cfg.anchor_max_chars)
        bound = None
        if not anchors.after:
            bound = gap_bound(cfg.no_suffix_max_gap_chars, cfg.no_suffix_line_factor, slot.verdict.proposal, accepted=slot.accepts)
        region = Region(cursor - len(anchors.before), cursor + len(anchors.after or ""), anchors, bound)
        if slot.prefix is None:
            slot.prefix = self._text[:cursor]
        if slot.suffix is None:
            slot.suffix = self._text[cursor:]
        self._followers.append(_Follower(slot, region))

    def _change(self, event: TrackerEvent) -> None:
        if self._text is None:
            raise DocumentSkipped("change_before_open", event.event_id)
        if event.changes is not None:
            self._apply_changes(event, event.changes)
        elif event.text is not None:
            self._apply_edits(event, [edit_from_snapshots(self._text, event.text)])
        else:
            raise DocumentSkipped("change_without_content", event.event_id)

    def _apply_changes(self, event: TrackerEvent, changes: Iterable[TextChange]) -> None:
        """LSP semantics: each change is relative to the document the previous one left."""
        edits: list[Edit] = []
        text = self._doc
        for change in changes:
            edit = edit_from_change(text, change, self._encoding)
            edits.append(edit)
            text = edit.apply(text)
        self._apply_edits(event, edits)

    def _apply_edits(self, event: TrackerEvent, edits: list[Edit]) -> None:
        """Apply one event's edits; only the state after the whole event counts as a moment seen."""
        text_before = self._doc
        # The regions as the event found them, of the followers its edits reach: the gap before
        # the event is read from them only if an anchor turns out damaged (slicing every gap on
        # every keystroke was most of the tracker's time).
        regions_before: dict[int, Region] = {}
        # Followers whose region an edit reached (not only shifted): their gap may have changed.
        reached: set[int] = set()
        # Followers that read the event's edit at their gap's end: where their cursor is.
        cursors: dict[int, int] = {}
        cursor: int | None = None
        for edit in edits:
            after = edit.apply(self._doc)
            equivalent = _Equivalent(self._doc, after, edit, self._caret) if len(edits) == 1 else None
            for follower in self._followers:
                own = edit if equivalent is None else equivalent.at_gap_end(follower.region)
                region = follower.region.after(own)
                if region is not None:
                    regions_before.setdefault(id(follower), follower.region)
                    if not follower.region.precedes(own):
                        reached.add(id(follower))
                    follower.region = region
                if own is not edit:
                    cursors[id(follower)] = own.start + len(own.new_text)
            self._text = after
            cursor = edit.start + len(edit.new_text)
        # Where the developer typed, as best known: at a gap's end when a follower read it there.
        self._caret = next(iter(cursors.values()), cursor)
        for follower in self._followers:
            before = regions_before.get(id(follower))
            if before is None:
                continue
            lifecycle = follower.slot.lifecycle
            if follower.region.intact(self._doc) and lifecycle.restores(follower.region.gap(self._doc)):
                lifecycle.repair()
                if id(follower) in reached and not lifecycle.frozen and lifecycle.burst_pause_us is not None:
                    gap = follower.region.gap(self._doc)
                    if gap != follower.last_gap:
                        follower.last_gap = gap
                        lifecycle.gap_changed(self._clock, ends_line(gap))
            else:
                lifecycle.damage(self._clock, before.gap(text_before))
                lifecycle.gap_changed(self._clock, False)
            lifecycle.contribute(event.event_id)
        self._observe(cursor, cursors)

    def _observe(self, cursor: int | None, cursors: Mapping[int, int] | None = None) -> None:
        """A document event after the request saw every intact gap (and maybe where the cursor is;
        `cursors`: where it is for followers that read the event's edit elsewhere)."""
        for follower in self._followers:
            lifecycle = follower.slot.lifecycle
            lifecycle.seen_intact()
            at = cursor if not cursors else cursors.get(id(follower), cursor)
            if at is not None:
                region, text = follower.region, self._doc
                lifecycle.cursor(region.holds_cursor(at, text), self._clock, lambda: region.gap(text))

    def _advance(self, now: int) -> None:
        """Let time pass up to `now`: measure retention ages and fire timers that came due."""
        self._now = now
        for follower in self._followers:
            lifecycle = follower.slot.lifecycle
            ages = lifecycle.due_ages(now)
            if ages:
                # With an anchor damaged at that age there is no gap to measure.
                gap = follower.region.gap(self._doc) if lifecycle.damaged_since is None else None
                if RETENTION_AGES_S[0] in ages:
                    lifecycle.first_check(gap)
                lifecycle.measure(ages, gap)
            timer = lifecycle.due_timer(now)
            if timer is not None:
                # Full edit telemetry: no event means no change, so the gap was seen intact until then.
                lifecycle.seen_intact()
                lifecycle.freeze(timer[0], timer[1], follower.region.gap(self._doc))
        self._followers = [f for f in self._followers if f.slot.lifecycle.following]

    def _finish(self, session_end_us: int | None) -> None:
        if session_end_us is not None and self._now is not None:
            end = max(self._now, session_end_us)
            self._advance(end)
            for follower in self._followers:
                follower.slot.lifecycle.seen_intact()
                follower.slot.lifecycle.end("session_end", end, follower.region.gap(self._doc))
        else:
            for follower in self._followers:
                follower.slot.lifecycle.end("end_of_data", self._clock, follower.region.gap(self._doc))
        self._followers = []
