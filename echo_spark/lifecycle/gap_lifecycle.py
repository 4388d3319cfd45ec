"""The life of one request's gap, shared by the edit and the window trackers.

A gap is *active* from the request until its first finalization (anchor broken, cursor away
too long, document closed, session over, maximum lifetime): that moment freezes C_N. It is then
*followed* a while longer only to measure the retention of an accepted proposal (Cody and
Copilot look at 30 s to 10 min, longer than a gap usually stays active), until its anchors break,
the document or session ends, or the last retention age is measured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from echo_spark.lifecycle.events import TrackerEvent
from echo_spark.lifecycle.outcome import RETENTION_AGES_S, Verdict, kept_intact, repeated_head, surviving_share
from echo_spark.telemetry.gap_ends import BURST_END, burst_text

_US_PER_S = 1_000_000

# Finalizations that do not end the following: the anchors are still intact afterwards.
SOFT_REASONS = frozenset({"left_region", "max_lifetime", BURST_END})
# Finalizations that, before any sighting of the gap, leave nothing to report but that fact.
_NEVER_SEEN_REASONS = frozenset({"left_region", "max_lifetime", "doc_closed", "session_end", "end_of_data"})


@dataclass
class GapLifecycle:
    request_ts: int
    left_region_us: int
    max_lifetime_us: int
    # How long a damaged anchor may take to be restored before it counts as broken.
    repair_us: int
    # Edit telemetry: how long a gap that ends with a typed line break must stay unchanged for its
    # burst to end (`burst.py`); None: no burst rule (server logs cannot time keystrokes).
    burst_pause_us: int | None = None
    committed: str | None = None
    # Whether the gap was ever seen with both anchors intact after the request.
    observed: bool = False
    # Server logs: the gap is the accepted text, which no later window has shown yet.
    assumed: bool = False
    # Set at the freeze: False when C_N is such an assumed accepted text (unverified).
    committed_observed: bool | None = None
    finalize_reason: str | None = None
    finalize_ts: int | None = None
    following: bool = True
    outside_since: int | None = None
    # The gap as it stood when the cursor left (a left_region finalization commits that, not
    # the gap up to left_region_s later); None: read it at the freeze.
    gap_when_left: str | None = None
    # While an anchor is edited but may still be restored (an undo, a character deleted and retyped):
    # since when, and the gap as it stood at that last intact moment.
    damaged_since: int | None = None
    intact_gap: str | None = None
    # Since when the gap has held its current content, while that content ends a line (burst.py).
    line_end_since: int | None = None
    accepted_text: str | None = None
    accept_ts: int | None = None
    retention: dict[int, float | None] = field(default_factory=dict)
    kept_at_first_check: bool | None = None
    first_check_done: bool = False
    event_ids: list[str] = field(default_factory=list)
    # Server logs only (None with edit telemetry, which shows every state): how sure C_N is.
    # The last sighting that gave C_N found the cursor in the gap and the gap changed since the
    # sighting before: the developer may have typed on unseen.
    open_at_last_sighting: bool | None = None
    # The gap at the sighting before that one ("" for the request itself).
    previous_gap: str | None = None
    # How the P1 occurrence of that sighting was chosen (window_tracker.Sighting), `accept` when
    # C_N is the accepted text.
    anchor_choice: str | None = None
    # Longest time between two log events that could show the gap (the request, its accept, later
    # requests in the document) while C_N could still change; when the last one was.
    max_silence_us: int | None = None
    last_look_us: int | None = None

    @property
    def frozen(self) -> bool:
        return self.finalize_reason is not None

    @property
    def needs_retention(self) -> bool:
        return self.accepted_text is not None and len(self.retention) < len(RETENTION_AGES_S)

    def accept(self, accepted_text: str | None, ts: int) -> None:
        if self.following and accepted_text:
            self.accepted_text, self.accept_ts = accepted_text, ts

    def looked(self, ts: int) -> None:
        """Server logs: an event that could show the gap came at `ts` (longest silence so far)."""
        if self.frozen:
            return
        if self.last_look_us is not None:
            self.max_silence_us = max(self.max_silence_us or 0, ts - self.last_look_us)
        self.last_look_us = ts

    def sighted(self, gap: str, previous: str | None, cursor_inside: bool, anchor_choice: str | None) -> None:
        """Server logs: an event showed the gap holding `gap` (C_N so far); `previous` is what it held before."""
        if self.frozen:
            return
        before = "" if previous is None else previous
        self.previous_gap, self.anchor_choice = before, anchor_choice
        self.open_at_last_sighting = cursor_inside and gap != before

    def contribute(self, event_id: str) -> None:
        """Provenance: an event that shaped C_N (only while C_N can still change)."""
        if not self.frozen and event_id not in self.event_ids:
            self.event_ids.append(event_id)

    def cursor(self, inside: bool, ts: int, gap: Callable[[], str | None] | None = None) -> None:
        """Start or stop the left-region clock; `gap` reads the gap as it stands when the cursor leaves."""
        if inside:
            self.outside_since = self.gap_when_left = None
        elif self.outside_since is None:
            self.outside_since = ts
            self.gap_when_left = None if gap is None else gap()

    def gap_changed(self, at: int, ends_line: bool) -> None:
        """Edit telemetry: the gap's content changed at `at`; `ends_line`: it now ends a typed line
        (a damaged anchor passes False: no burst ends while the gap is unknown)."""
        if not self.frozen:
            self.line_end_since = at if ends_line and self.burst_pause_us is not None else None

    def seen_intact(self) -> None:
        """The gap was looked at after the request, with both anchors as at request time (if not damaged)."""
        if self.damaged_since is None:
            self.observed = True

    def damage(self, at: int, gap: str) -> None:
        """An anchor no longer reads as at request time; `gap` is the gap just before.

        Edit telemetry shows every state of the document, so that gap, the last one with both
        anchors intact (the empty gap of the request itself when the very next edit breaks an
        anchor), was seen.
        """
        if self.damaged_since is None:
            self.damaged_since, self.intact_gap = at, gap
            self.observed = True

    def restores(self, gap: str) -> bool:
        """Anchors that read as at request time again restore the region only with the gap as it
        was before the damage: text typed past an anchor's first characters can end with them
        again (a line ending in `)` typed after the `)` that starts S1), and reading that as a
        repair would pull every line typed meanwhile into the gap."""
        return self.damaged_since is None or gap == self.intact_gap

    def repair(self) -> None:
        self.damaged_since = self.intact_gap = None

    def due_timer(self, now: int) -> tuple[str, int] | None:
        """The earliest time-based finalization that has come due by `now`, with its instant."""
        if self.frozen:
            return None
        due: list[tuple[int, str]] = [(self.request_ts + self.max_lifetime_us, "max_lifetime")]
        if self.outside_since is not None:
            # The gap was committed when the cursor left, not when the wait ran out.
            due.append((self.outside_since + self.left_region_us, "left_region"))
        if self.damaged_since is not None:
            due.append((self.damaged_since + self.repair_us, "anchor_broken"))
        if self.line_end_since is not None and self.burst_pause_us is not None:
            due.append((self.line_end_since + self.burst_pause_us, BURST_END))
        deadline, reason = min(due)
        if deadline > now:
            return None
        # Left the region, or the burst ended: committed as the gap stood then, not when the wait ran out.
        since = {"left_region": self.outside_since, BURST_END: self.line_end_since}.get(reason)
        return reason, deadline if since is None else since

    def due_ages(self, now: int) -> list[int]:
        """Retention ages not yet measured whose time has come by `now`."""
        if self.accepted_text is None or self.accept_ts is None:
            return []
        return [a for a in RETENTION_AGES_S if a not in self.retention and self.accept_ts + a * _US_PER_S <= now]

    def measure(self, ages: list[int], gap: str | None) -> None:
        """Retention at `ages` from the gap seen then (None: not observable at that moment)."""
        for age in ages:
            self.retention[age] = None if gap is None else surviving_share(self.accepted_text or "", gap)
        if self.frozen and not self.needs_retention:
            self.following = False

    def first_check(self, gap: str | None) -> None:
        """Was the accepted text found intact right after P1 the first time it was checked (whitespace
        at line ends aside, which editors trim)?"""
        if self.accepted_text is not None and not self.first_check_done:
            self.first_check_done = True
            self.kept_at_first_check = None if gap is None else kept_intact(self.accepted_text, gap)

    def freeze(self, reason: str, at: int, gap: str | None) -> None:
        """Fix C_N to `gap`, the gap at the last moment both anchors were intact.

        A gap never seen intact after the request is unknown (None), not void (""); unless the
        reason itself explains that (an anchor break, no context), it becomes `never_observed`.
        An anchor that stayed damaged broke when it was damaged, whatever ends the wait. A break
        that comes while the gap is empty gives the void sample "": by the definition, C_N is the
        gap at the last moment both anchors were intact, and that gap was empty.
        """
        if self.frozen:
            return
        if self.damaged_since is not None:
            reason, at, gap = "anchor_broken", self.damaged_since, self.intact_gap
        elif reason == "left_region" and self.gap_when_left is not None:
            gap = self.gap_when_left
        elif reason == BURST_END and gap is not None:
            gap = burst_text(gap)
        known = self.observed or self.assumed
        if not known and reason in _NEVER_SEEN_REASONS:
            reason = "never_observed"
        self.committed = gap if known else None
        self.committed_observed = None if self.committed is None else not self.assumed
        self.finalize_reason, self.finalize_ts = reason, max(at, self.request_ts)
        if reason not in SOFT_REASONS or not self.needs_retention:
            self.following = False

    def end(self, reason: str, at: int, gap: str | None) -> None:
        """Stop following for good; ages not measured by now stay unobservable."""
        self.freeze(reason, at, gap)
        self.following = False


@dataclass
class RequestSlot:
    """One completion request with everything the trackers fill in for it."""

    event: TrackerEvent
    verdict: Verdict
    lifecycle: GapLifecycle
    tracking_mode: str
    # C0 as the model saw it; derived from the tracked document when the request omitted it.
    prefix: str | None = None
    suffix: str | None = None
    encoding: str = "utf-16"

    @property
    def accepts(self) -> bool:
        """The proposal was accepted, wholly or in part (its verdict is known from the start)."""
        return self.verdict.accepted_text is not None

    def _new_from(self) -> int:
        """Characters at the head of the shown proposal that repeat text before the cursor."""
        proposal = self.verdict.proposal
        if not proposal:
            return 0
        return repeated_head(proposal, self.prefix, self.verdict.replace_start, self.event.offset, self.encoding)

    def proposal_at_cursor(self) -> str | None:
        """C1 as it lands at the cursor: the shown proposal without the head it repeats of the prefix."""
        proposal = self.verdict.proposal
        return None if proposal is None else proposal[self._new_from() :]

    def accepted_at_cursor(self) -> str | None:
        """The accepted text as it lands at the cursor (what a later window can show in the gap)."""
        accepted = self.verdict.accepted_text
        return None if accepted is None else accepted[self._new_from() :]
