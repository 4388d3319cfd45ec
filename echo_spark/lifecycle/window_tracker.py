"""Server-log mode: see each request's gap through the prefix/suffix windows of later requests.

A later request's prefix + suffix is a contiguous slice of the document, so where P1 and S1
are both found in it, the text between them is the gap at that moment. With prefix-only logs
the gap runs from P1 to the later cursor. A window is a partial, truncated view, so an anchor's
absence is evidence of a break only when the window must have shown it: the other anchor is
on the cursor's side and the window does not end inside the missing one. Otherwise the
region is just out of view (the user is elsewhere), which starts the left-region clock. No
request at all in the document for longer than `window_silence_s` is the same evidence, seen late:
the gap the developer left is the one last seen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from echo_spark.config import LifecycleConfig
from echo_spark.lifecycle.anchors import Anchors, anchors_at, find_all
from echo_spark.lifecycle.events import TrackerEvent
from echo_spark.lifecycle.gap_lifecycle import RequestSlot
from echo_spark.telemetry.gap_ends import GapBound, gap_bound


@dataclass(frozen=True)
class Sighting:
    """What one later window shows of a request's region: `intact` (with the gap), `out_of_view`, `cut` or `broken`.

    `lower_bound`: the window ends inside the gap (a prefix-only window ends at the cursor), so
    the gap may run on past it. `anchor_choice`: how the P1 occurrence was chosen (`unique`,
    `offsets`: nearest where the requests' offsets put it, `cursor`: the only one whose region
    holds the cursor, `last_before_cursor`, `first`).
    """

    kind: str
    gap: str | None = None
    cursor_inside: bool = False
    lower_bound: bool = False
    anchor_choice: str | None = None


_OUT_OF_VIEW = Sighting("out_of_view")
_BROKEN = Sighting("broken")
# The window was cut inside an anchor: the cursor is in the gap, whose content it does not show.
_CURSOR_IN_GAP = Sighting("cut", None, True)
_MIN_CUT = 4


def _nearest(candidates: list[int], expected: int | None) -> int | None:
    """The candidate start nearest where P1 is expected, if one is strictly nearest."""
    if expected is None or not candidates:
        return None
    ranked = sorted(candidates, key=lambda p: abs(p - expected))
    if len(ranked) > 1 and abs(ranked[0] - expected) == abs(ranked[1] - expected):
        return None
    return ranked[0]


def _sight_bounded(
    p1: str, window: str, cursor: int, bound: GapBound, expected: int | None, *, prefix_only: bool = False
) -> Sighting:
    """No S1 (a request at the end of the document, or a log without suffixes): the gap is the
    text after P1 cut by `bound`, as in Copilot's fallback when the text after the cursor is unknown.

    The later cursor is in the region while it is on P1 or in the cut gap; past the cut the user
    has moved on, and the gap the window shows is complete. With prefix-only logs the window ends
    at the cursor, so a gap the bound has not cut yet is the gap so far: a lower bound.
    """
    starts = find_all(window, p1) if p1 else [0]
    if not starts:
        return _OUT_OF_VIEW
    choice = "unique" if len(starts) == 1 else "offsets"
    p = starts[0] if len(starts) == 1 else _nearest(starts, expected)
    if p is None:
        before_cursor = [p for p in starts if p + len(p1) <= cursor]
        p, choice = (before_cursor[-1], "last_before_cursor") if before_cursor else (starts[0], "first")
    shown = window[p + len(p1) :]
    gap = bound.cut(shown)
    return Sighting(
        "intact", gap, p <= cursor <= p + len(p1) + len(gap), lower_bound=prefix_only and gap == shown, anchor_choice=choice
    )


def _s1_missing(p1: str, s1: str, window: str, cursor: int, p_starts: list[int]) -> Sighting:
    """P1 is in view but no S1 follows it."""
    if not any(p + len(p1) <= cursor for p in p_starts):
        return _OUT_OF_VIEW  # the cursor is above the region, which may run past the window
    # The cursor is in the gap; the window must show S1 unless it was edited or the window
    # was cut inside S1 (shorter overlaps, like the final newline of a file, are coincidence).
    cut = any(window.endswith(s1[:k]) for k in range(_MIN_CUT, len(s1)))
    return _CURSOR_IN_GAP if cut else _BROKEN


def _choose_p1(p1: str, s1: str, p_starts: list[int], s_starts: list[int], cursor: int, expected: int | None) -> tuple[int | None, str]:
    """Which occurrence of P1 is the region's.

    One occurrence: that one. Several (the developer retyped P1's text, or it repeats nearby): the
    one nearest where the requests' document offsets put P1, among all occurrences. Without
    offsets, or with two equally near, the innermost pairs (each S1 with the last P1 before it)
    decide if exactly one holds the cursor; else nothing is chosen (never guess).
    """
    if len(p_starts) == 1:
        return p_starts[0], "unique"
    nearest = _nearest(p_starts, expected)
    if nearest is not None:
        return nearest, "offsets"
    last_p_of_s: dict[int, int] = {}
    for p in p_starts:
        s = next((s for s in s_starts if s >= p + len(p1)), None)
        if s is not None:
            last_p_of_s[s] = max(last_p_of_s.get(s, p), p)
    pairs = sorted((p, s) for s, p in last_p_of_s.items())
    if len(pairs) == 1:
        return pairs[0][0], "cursor"
    holding = [p for p, s in pairs if p <= cursor <= s + len(s1)]
    if len(holding) == 1:
        return holding[0], "cursor"
    return None, "ambiguous"


def _sight_both(anchors: Anchors, window: str, cursor: int, expected: int | None) -> Sighting:
    p1, s1 = anchors.before, anchors.after or ""
    p_starts = find_all(window, p1) if p1 else [0]
    s_starts = find_all(window, s1) if s1 else [len(window)]
    if not p_starts and not s_starts:
        return _OUT_OF_VIEW
    if not s_starts:
        return _s1_missing(p1, s1, window, cursor, p_starts)
    if not p_starts:
        if not any(s >= cursor for s in s_starts):
            return _OUT_OF_VIEW
        if expected is not None and expected < 0:
            # The offsets put P1 (at least its start) above the top of the window: it scrolled
            # out of view while the cursor, above S1, is in the gap. No evidence of a break.
            return _CURSOR_IN_GAP
        cut = any(window.startswith(p1[-k:]) for k in range(_MIN_CUT, len(p1)))
        return _CURSOR_IN_GAP if cut else _BROKEN
    p, choice = _choose_p1(p1, s1, p_starts, s_starts, cursor, expected)
    if p is None:
        return _OUT_OF_VIEW  # several equally good places: never guess
    after = [s for s in s_starts if s >= p + len(p1)]
    if not after:
        return _s1_missing(p1, s1, window, cursor, [p])
    # The first S1 after P1 that keeps the cursor inside the region (S1's text retyped in the
    # gap above the cursor is gap), else the first S1 after P1.
    s = next((s for s in after if s + len(s1) >= cursor), after[0]) if p <= cursor else after[0]
    return Sighting("intact", window[p + len(p1) : s], p <= cursor <= s + len(s1), anchor_choice=choice)


def sight(anchors: Anchors, prefix: str, suffix: str | None, bound: GapBound, expected: int | None = None) -> Sighting:
    """Find a request's anchors in a later window (`prefix` ends at the later cursor).

    `expected` is where P1 should start in this window by the requests' document offsets (None
    when unknown): where P1 occurs more than once, the occurrence nearest it is the region's, as
    long as the text before the region barely moves (edits above it shift it by their length).
    """
    if not anchors.after or suffix is None:
        return _sight_bounded(
            anchors.before, prefix + (suffix or ""), len(prefix), bound, expected, prefix_only=suffix is None
        )
    return _sight_both(anchors, prefix + suffix, len(prefix), expected)


@dataclass
class _Follower:
    slot: RequestSlot
    anchors: Anchors
    bound: GapBound
    # Document offset where P1 started at request time (None: the request logged no offset).
    p1_at: int | None = None
    # C_N so far: the gap at the last sighting (or the accepted text, until a window shows it).
    last_gap: str | None = None
    # The gap the last window showed, followed also after C_N is frozen (for retention).
    view: str | None = None
    # Last moment the logs put the cursor in the region: the request, its accept, a window
    # holding the cursor between the anchors (epoch microseconds).
    inside_at: int = 0


class WindowTracker:
    """Runs one document's ordered events in server-log mode; fills its requests' lifecycles."""

    def __init__(self, slots: Mapping[str, RequestSlot], config: LifecycleConfig) -> None:
        self._requests = {s.event.event_id: s for s in slots.values()}
        self._accepts = {s.verdict.accept_event_id: s for s in slots.values() if s.verdict.accept_event_id}
        self._config = config
        self._silence_us = round(config.window_silence_s * 1_000_000 * 1)
        self._now: int | None = None
        self._followers: list[_Follower] = []

    def run(self, events: Iterable[TrackerEvent], session_end_us: int | None) -> None:
        for event in events:
            now = event.ts_us if self._now is None else max(self._now, event.ts_us)
            self._advance(now)
            if event.type == "completion_request" and event.event_id in self._requests:
                if event.prefix is not None:
                    self._observe(event)
                self._start(self._requests[event.event_id], event)
            elif event.type == "doc_close":
                for follower in self._followers:
                    follower.slot.lifecycle.end("doc_closed", now, follower.last_gap)
                self._followers = []
            elif event.type == "completion_accept" and event.event_id in self._accepts:
                self._accept(self._accepts[event.event_id], now)
        self._finish(session_end_us)

    @property
    def _clock(self) -> int:
        assert self._now is not None
        return self._now

    def _start(self, slot: RequestSlot, event: TrackerEvent) -> None:
        if event.prefix is None or (event.prefix == "" and event.offset):
            # No prefix, or an empty one although the offset puts the cursor past the document's
            # start (a window cut to nothing; one real Copilot prompt is empty at offset 19): no
            # P1 marks the region, and the top of a later window is not where the gap starts.
            slot.lifecycle.end("no_context", self._clock, None)
            return
        window = event.prefix + (event.suffix or "")
        cfg = self._config
        anchors = anchors_at(
            window, len(event.prefix), cfg.anchor_chars, cfg.anchor_max_chars, suffix_known=event.suffix is not None
        )
        bound = gap_bound(cfg.no_suffix_max_gap_chars, cfg.no_suffix_line_factor, slot.verdict.proposal, accepted=slot.accepts)
        p1_at = None if event.offset is None else event.offset - len(anchors.before)
        self._followers.append(_Follower(slot, anchors, bound, p1_at, inside_at=self._clock))
        slot.lifecycle.looked(self._clock)

    def _accept(self, slot: RequestSlot, now: int) -> None:
        """The accepted text was inserted into the gap: until a later window shows otherwise, the
        gap is assumed to be that text. Only assumed: if no later window shows the region, C_N is
        the accepted text marked unverified (`committed_observed` false), never an observed gap."""
        accepted = slot.accepted_at_cursor()
        slot.lifecycle.accept(accepted, now)
        follower = next((f for f in self._followers if f.slot is slot), None)
        if follower is not None:
            follower.inside_at = now  # accepted at the cursor, in the region
        if follower is not None and accepted and not slot.lifecycle.frozen:
            slot.lifecycle.looked(now)
            gap = accepted if follower.anchors.after else follower.bound.cut(accepted)
            slot.lifecycle.sighted(gap, follower.last_gap, True, "accept")
            follower.last_gap = gap
            slot.lifecycle.assumed = True

    def _observe(self, event: TrackerEvent) -> None:
        assert event.prefix is not None
        now = self._clock
        for follower in self._followers:
            lifecycle = follower.slot.lifecycle
            expected = None
            if follower.p1_at is not None and event.offset is not None:
                expected = follower.p1_at - (event.offset - len(event.prefix))
            seen = sight(follower.anchors, event.prefix, event.suffix, follower.bound, expected)
            # The silence counts (max_silence_s) even when it ends following: C_N then is a guess.
            lifecycle.looked(now)
            silent = now - follower.inside_at > self._silence_us
            back = seen.cursor_inside and silent and not lifecycle.frozen and lifecycle.outside_since is None
            if back and follower.last_gap is not None:
                # Back in the region after a silence longer than window_silence_s since the logs last
                # put the cursor there: no request fired in this document meanwhile, so the
                # developer was most likely elsewhere (another file, reading) and came back. When
                # they left is unknown; the gap they left is the last one seen. (A window that
                # finds the cursor past the region instead shows the gap it was left with.)
                lifecycle.freeze("left_region", follower.inside_at, follower.last_gap)
            # Nothing seen before the silence: this window's gap, the only one the logs show, is C_N
            # (frozen below), rather than an unknown.
            back_unseen = back and follower.last_gap is None
            if seen.cursor_inside:
                follower.inside_at = now
            if seen.kind == "broken":
                lifecycle.end("anchor_broken", now, follower.last_gap)
                continue
            # The left-region clock. Unlike edit telemetry, a window shows the gap only at request
            # moments: one that shows it changed, with the cursor outside, means the developer was
            # back in between, so the latest sighting before the clock runs out is the gap they
            # left (C_N below), not the one of the first window that found the cursor away.
            lifecycle.cursor(seen.cursor_inside, now)
            if seen.gap is None:
                continue
            gap, decides = seen.gap, True
            if seen.lower_bound:
                # The window ends inside the gap: what it shows is how the gap starts, not where it
                # ends. A longer earlier gap that starts the same way still stands (a lower bound
                # never replaces it), and an accepted text it shows only the start of is not checked:
                # judged on what the window shows, not on the gap it leaves standing (a prompt that
                # ends right after P1 would otherwise "see" the assumed accepted text kept).
                accepted = lifecycle.accepted_text
                decides = accepted is None or not (len(gap) < len(accepted) and accepted.startswith(gap))
                known = follower.last_gap if not lifecycle.frozen else follower.view
                if known is not None and len(known) > len(gap) and known.startswith(gap):
                    gap = known
            follower.view = gap
            lifecycle.contribute(event.event_id)
            if not lifecycle.frozen:
                if gap is not follower.last_gap:
                    lifecycle.assumed = False
                lifecycle.observed = True
                lifecycle.sighted(gap, follower.last_gap, seen.cursor_inside, seen.anchor_choice)
                follower.last_gap = gap
                if back_unseen:
                    lifecycle.freeze("left_region", now, gap)
            if lifecycle.accept_ts is not None and decides:
                lifecycle.first_check(gap)
            ages = lifecycle.due_ages(now)
            if ages:
                lifecycle.measure(ages, gap)
        self._followers = [f for f in self._followers if f.slot.lifecycle.following]

    def _advance(self, now: int) -> None:
        self._now = now
        for follower in self._followers:
            timer = follower.slot.lifecycle.due_timer(now)
            if timer is not None:
                follower.slot.lifecycle.freeze(timer[0], timer[1], follower.last_gap)
        self._followers = [f for f in self._followers if f.slot.lifecycle.following]

    def _finish(self, session_end_us: int | None) -> None:
        if self._now is None:
            return
        if session_end_us is not None:
            end = max(self._now, session_end_us)
            self._advance(end)
            reason = "session_end"
        else:
            end, reason = self._now, "end_of_data"
        for follower in self._followers:
            follower.slot.lifecycle.end(reason, end, follower.last_gap)
        self._followers = []
