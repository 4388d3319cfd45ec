"""A developer writing one document with a completion service in the loop.

The developer means to write real code: the `target` text, from `start` to `end` (a whole file
written top to bottom from an empty buffer, or a region cut out of an existing file, so real
text follows the cursor). `pos` is how far through that plan they are; `cursor` is where the
caret is in the true document, which drifts from the plan as proposals are accepted, edited or
kept. Requests are sent where a plugin sends them (line starts, after `( . = :`, after a pause),
and the ground truth follows each request's gap in the true document.
"""

from __future__ import annotations

from ..errors import UsageError
from ..telemetry.positions import utf16_len
from .autoclose import AutoCloser, Pending
from .corpus import CorpusFile, read_source
from .editor import Document, Span
from .gaps import DOC_CLOSED, SESSION_END, GapBook
from .ground_truth import DocumentTruth, RequestTruth
from .policy import ACCEPT_EDIT, ACCEPT_PARTIAL, ACCEPTS, CHANGE_ARGUMENT, IGNORE, NO_REACTION, REJECT, RENAME
from .proposer import Foresight, NoisyOracle
from .session import Session
from .units import WORD, atomic_unit, line_comment, next_token

WRITE, INSERT = "write", "insert"
CLIENTS = (("echo-sim-vscode", "1.96.2"), ("echo-sim-vscode", "1.97.0"), ("echo-sim-jetbrains", "2025.1"))
# Tries at picking a readable file before a document is skipped.
_PICK_TRIES = 8
TRIGGER_CHARS = {"(": "paren", ".": "dot", "=": "equals", ":": "colon"}
# Non-ASCII text typed into some documents: accents and CJK (one UTF-16 unit each), emoji (two).
NON_ASCII_LINES = (
    "Grüße aus Köln: naïve café façade — ✓ 🚀",
    "日本語のコメント: 変数を初期化する 🐍",
    "Привет, мир! Ошибка при чтении файла 📄",
    "Ελληνικά: δοκιμή ∑ αβγ 😀 and a ZWJ 👩‍💻",
)
NOTES = ("TODO: check this", "FIXME", "NOTE: keep in sync with the caller", "see below")
# Characters of the region beyond the unit that the oracle may run on into.
_LOOKAHEAD = 2000


class DocumentWork:
    def __init__(self, session: Session, number: int, file: CorpusFile, source: str) -> None:
        self.s = session
        self.cfg = cfg = session.config
        self.rng = rng = session.rng
        self.policy = session.policy
        self.tally = session.ctx.tally
        self.file = file
        self.language = file.language
        self.doc_key = (f"{session.session_id}-d{number}", file.language)
        lines = source.splitlines(keepends=True)
        if len(lines) > cfg.region_min_lines and rng.random() < cfg.insert_share:
            self.scenario = INSERT
            size = rng.randint(cfg.region_min_lines, cfg.region_max_lines)
            first = rng.randrange(1, max(2, len(lines) - size + 1))
            last = min(len(lines), first + size)
        else:
            self.scenario = WRITE
            first, last = 0, min(len(lines), cfg.write_max_lines)
        if rng.random() < cfg.non_ascii_rate:
            first, last = self._add_non_ascii(lines, first, last)
        self.lines = lines
        self.target = "".join(lines)
        self.start = sum(map(len, lines[:first]))
        self.end = self.start + sum(map(len, lines[first:last]))
        if self.scenario == INSERT and self.end > self.start and self.target[self.end - 1] == "\n":
            # A developer adding lines inside a file opens a blank line first and types into it:
            # the region's last line break is already there, so the text after the cursor starts
            # on a line of its own (typing in front of existing code would glue the two lines).
            self.end -= 1
        self.pos = self.start
        life = session.ctx.lifecycle
        self.gaps = GapBook(
            life.anchor_chars,
            life.left_region_s,
            life.max_lifetime_s,
            lambda: session.emitter.seq,
            no_suffix_max_gap_chars=life.no_suffix_max_gap_chars,
            no_suffix_line_factor=life.no_suffix_line_factor,
            server_logs=not session.edits,
            # The burst rule needs every keystroke's time: edit telemetry only (as the tracker).
            burst_pause_s=life.burst_pause_s if session.edits else None,
        )
        initial = self.target[: self.start] + self.target[self.end :] if self.scenario == INSERT else ""
        self.doc = Document(initial, self.gaps, snapshot_diff=session.snapshot_diff)
        # The developer's editor auto-closes brackets and quotes (autoclose.py), or not.
        self.closer = AutoCloser() if session.auto_close else None
        self.initial = initial
        self.cursor = self.start
        self.rows: list[RequestTruth] = []
        self.unit_at: dict[str, int] = {}  # request id -> where its unit starts in the plan

    def _add_non_ascii(self, lines: list[str], first: int, last: int) -> tuple[int, int]:
        """A comment line of non-ASCII text inside the region (and one before it, when there is text)."""
        comment = line_comment(self.language)
        at = self.rng.randrange(first, last) if last > first else first
        model = lines[at] if at < len(lines) else ""
        indent = model[: len(model) - len(model.lstrip(" \t"))] if model.strip() else ""
        lines.insert(at, f"{indent}{comment} {self.rng.choice(NON_ASCII_LINES)}\n")
        last += 1
        if first > 0:
            lines.insert(self.rng.randrange(0, first), f"{comment} {self.rng.choice(NON_ASCII_LINES)}\n")
            first, last = first + 1, last + 1
        return first, last

    # --- time, edits and telemetry -------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        self.s.t += seconds
        self.gaps.tick(self.s.t, self.doc.text)

    def emit(self, event_type: str, **fields: object) -> None:
        self.s.emitter.emit(event_type, self.s.t, self.doc_key, **fields)

    def emit_edit(self, event_type: str, **fields: object) -> None:
        """Document events exist only in edit telemetry."""
        if self.s.edits:
            self.emit(event_type, **fields)

    def change(self, spans: list[Span]) -> None:
        changes = self.doc.edit(spans, self.s.t)
        if changes:
            self.emit_edit("doc_change", version=self.doc.version, changes=changes)

    def insert(self, text: str) -> None:
        self.change([Span(self.cursor, self.cursor, text)])
        self.cursor += len(text)

    def move_cursor(self, index: int) -> None:
        self.cursor = index
        self.gaps.cursor(index, self.s.t, self.doc.text)
        self.emit_edit("cursor", offset=self.doc.utf16(index))

    def type_text(self, text: str) -> None:
        # Enter is one keystroke, whatever indentation the editor adds.
        self.advance(self.policy.typing_s(1 if text.startswith("\n") else len(text)))
        self.insert(text)

    # --- the document's life ------------------------------------------------------------------

    def run(self, last: bool) -> None:
        tally, cfg, policy = self.tally, self.cfg, self.policy
        tally.documents += 1
        abandon_at = None
        if policy.chance(cfg.abandon_rate):
            tally.abandon_chosen += 1
            abandon_at = self.start + int((self.end - self.start) * self.rng.uniform(0.1, 0.9))
        self.emit_edit("doc_open", version=self.doc.version, text=self.initial)
        self.move_cursor(self.cursor)
        outcome = "done"
        if self._triggered():
            self.request("line_start")  # the developer clicks into place and waits
        while self.pos < self.end:
            if self.s.ctx.budget.exhausted:
                outcome = "budget"
                break
            if abandon_at is not None and self.pos >= abandon_at:
                outcome = "abandoned"
                break
            self.step()
        self.finish(outcome, last)

    def step(self) -> None:
        """Type the next token of the plan, and what may follow it: noise, a request."""
        tally, policy = self.tally, self.policy
        token = next_token(self.target, self.pos, self.end)
        if WORD.fullmatch(token):
            tally.words += 1
            if policy.chance(self.cfg.typo_rate):
                self.typo(token)
                return
        self.type_key(token)
        self.pos += len(token)
        if token[0] == "\n":
            self.after_line()
        tally.tokens += 1  # a chance to pause (a typo's own pause is the typo trigger point)
        paused = policy.chance(self.cfg.pause_rate)
        if paused:
            tally.pauses += 1
            self.gaps.label("pause")
            self.advance(policy.pause_s())
        point = "line_start" if token[0] == "\n" else TRIGGER_CHARS.get(token[-1])
        if point is not None and self._triggered():
            self.request(point)
        elif paused:
            self.request("pause")

    def type_key(self, token: str) -> None:
        """Type the plan's next token; the editor may auto-close an opener, or type over a closer
        it inserted (no change: the caret moves, and the client reports where it stands)."""
        closer = self.closer
        if closer is None:
            self.type_text(token)
        elif closer.types_over(self.pos):
            closer.pending.pop()
            self.advance(self.policy.typing_s(1))
            self.move_cursor(self.cursor + 1)
        else:
            pending = closer.opens(self.target, self.pos, self.end, self.doc.text, self.cursor) if len(token) == 1 else None
            if pending is None:
                self.type_text(token)
            else:
                self.advance(self.policy.typing_s(1))
                self.change([Span(self.cursor, self.cursor, token + pending.closer)])
                closer.pending.append(pending)
                self.move_cursor(self.cursor + 1)

    def _triggered(self) -> bool:
        """At a trigger point: did the developer pause long enough for the plugin to send a request?"""
        self.tally.trigger_points += 1
        triggered = self.policy.chance(self.cfg.trigger_request_rate)
        self.tally.triggered += triggered
        return triggered

    def after_line(self) -> None:
        tally, policy = self.tally, self.policy
        tally.lines += 1
        if policy.chance(self.cfg.save_rate):
            tally.saves += 1
            self.gaps.label("save")
            self.emit_edit("doc_save", version=self.doc.version)
        if policy.chance(self.cfg.cursor_jump_rate):
            self.jump()

    def typo(self, word: str) -> None:
        """Mistype `word`; maybe the plugin fires at the pause where the developer notices; fix it."""
        self.tally.typos += 1
        wrong = self.policy.mistype(word)
        start = self.cursor
        self.type_text(wrong)
        self.pos += len(word)
        word_end = self.pos
        if self._triggered():
            self.request("typo")
        keep = next(i for i, (a, b) in enumerate(zip(wrong, word + "\0")) if a != b)
        self.gaps.label("typo")
        self.advance(self.policy.think_s())
        # Backspace to the first wrong letter (over whatever the request brought in), retype.
        self.change([Span(start + keep, self.cursor, "")])
        self.cursor = start + keep
        self.type_text(word[keep:])
        self.pos = word_end

    def jump(self) -> None:
        """The cursor goes elsewhere (maybe leaving a note there) and comes back."""
        policy, text = self.policy, self.doc.text
        self.tally.jumps += 1
        self.gaps.label("cursor_jump")
        home = self.cursor
        spot = text.rfind("\n", 0, self.rng.randrange(len(text) + 1)) + 1
        self.advance(self.rng.uniform(0.3, 2.0))
        self.move_cursor(spot)
        if policy.chance(self.cfg.jump_edit_share):
            note = f"{line_comment(self.language)} {self.rng.choice(NOTES)}\n"
            self.advance(policy.typing_s(len(note)))
            self.change([Span(spot, spot, note)])
            home += len(note) if spot <= home else 0
        self.advance(policy.away_s())
        self.move_cursor(home)

    def finish(self, outcome: str, last: bool) -> None:
        """Abandoned: closed unsaved. Done: saved, then closed, or (the session's last document)
        left open when the session ends. Out of event budget: the session just ends."""
        if outcome == "abandoned":
            self.tally.abandoned += 1
            self.gaps.label("abandon")
        elif outcome == "done":
            self.advance(self.policy.think_s())
            self.emit_edit("doc_save", version=self.doc.version)
        self.advance(self.policy.think_s())
        if outcome == "abandoned" or (outcome == "done" and not last):
            self.gaps.close_all(DOC_CLOSED, self.s.t, self.doc.text)
            self.emit_edit("doc_close", version=self.doc.version)
        else:
            self.gaps.close_all(SESSION_END, self.s.t, self.doc.text)
        truth = self.s.ctx.truth
        for row in self.rows:
            truth.requests.add(row)
        truth.documents.add(
            DocumentTruth(
                session_id=self.s.session_id,
                doc_id=self.doc_key[0],
                user_id=self.s.user.user_id,
                cohort=self.s.user.cohort,
                mode=self.s.mode,
                file=self.file.rel_path,
                language=self.language,
                scenario=self.scenario,
                initial_text=self.initial,
                final_text=self.doc.text,
                outcome=outcome,
            )
        )

    # --- completion ---------------------------------------------------------------------------

    def request(self, trigger_point: str) -> None:
        s, cfg, doc, cursor = self.s, self.cfg, self.doc, self.cursor
        self.tally.requests += 1
        text = doc.text
        prefix = text[max(0, cursor - cfg.prefix_window_chars) : cursor]
        suffix = text[cursor : cursor + cfg.suffix_window_chars]
        # At a typo the developer's next keys fix the word before the cursor: nothing was meant
        # for the gap (void), and no proposal is taken there.
        typo = trigger_point == "typo"
        # A void trigger (`void_trigger_rate`): the plugin fired where the developer wants nothing;
        # they dismiss whatever is shown and go elsewhere, so the gap stays empty. No draw at rate 0
        # (the output is then what it was before the knob existed).
        away = None
        if not typo and cfg.void_trigger_rate:
            self.tally.void_chances += 1
            if self.policy.chance(cfg.void_trigger_rate):
                away = self._void_spot()
                self.tally.voids += away is not None
        void = typo or away is not None
        unit = "" if void else self.unit_at_pos(self.pos)
        after = self.pos + len(unit)
        proposer = s.proposer
        if isinstance(proposer, NoisyOracle):
            proposer.foresee(Foresight(unit, self.target[after : min(self.end, after + _LOOKAHEAD)], self.lines))
        proposal = proposer.propose(prefix, suffix, self.language)
        if not isinstance(proposal, str):
            raise UsageError(f"proposer {proposer.name!r} returned {type(proposal).__name__}, not text")
        s.requests += 1
        request_id = f"{s.session_id}-r{s.requests:05d}"
        offset = doc.utf16(cursor)
        context = {"version": doc.version} if s.edits else {"prefix": prefix, "suffix": suffix}
        self.emit("completion_request", request_id=request_id, offset=offset, trigger="auto", **context)
        if not s.edits:
            self.gaps.window(cursor - len(prefix), cursor + len(suffix), text)
        if away is not None:
            reaction = REJECT if proposal else NO_REACTION
        else:
            reaction = self.policy.react(proposal)
            if typo and reaction in ACCEPTS:
                reaction = IGNORE
        row = RequestTruth(
            request_id=request_id,
            session_id=s.session_id,
            user_id=s.user.user_id,
            cohort=s.user.cohort,
            mode=s.mode,
            doc_id=self.doc_key[0],
            file=self.file.rel_path,
            language=self.language,
            scenario=self.scenario,
            trigger_point=trigger_point,
            request_ts_ms=round(s.t * 1000),
            offset=offset,
            prefix=prefix,
            suffix=suffix,
            prefix_truncated=len(prefix) < cursor,
            suffix_truncated=len(suffix) < len(text) - cursor,
            proposer=proposer.name,
            proposal=proposal,
            proposal_kind=proposer.last_kind if isinstance(proposer, NoisyOracle) else None,
            intended_unit=unit,
            reaction=reaction,
        )
        self.rows.append(row)
        self.unit_at[request_id] = self.pos
        self.gaps.open(row, cursor, len(text), s.t, accepted=reaction in ACCEPTS)
        self.advance(self.rng.uniform(0.1, 0.5))  # the model's latency
        # The text goes in at the cursor, and the log says so: without replace_start a reader takes
        # a head of the text that the prefix ends with (a newline after a newline) as repeated.
        self.emit("completion_shown", request_id=request_id, text=proposal, model=proposer.name, replace_start=offset)
        if away is not None:
            self.leave_void(row, away)
            return
        if reaction == NO_REACTION:
            return
        self.advance(self.policy.think_s())
        if reaction == REJECT:
            self.emit("completion_reject", request_id=request_id, reason=self.rng.choice(("escaped", "dismissed")))
        elif reaction == IGNORE:
            self.emit("completion_reject", request_id=request_id, reason="typed_over")
        else:
            assert reaction in ACCEPTS
            self.accept(row, proposal, unit)

    def _void_spot(self) -> int | None:
        """A line start elsewhere in the document, outside the region of a request at the cursor
        (P1 and S1 around it), for a developer who wants nothing here; None in a document too
        short to have one (the trigger is then not void)."""
        text, reach = self.doc.text, self.s.ctx.lifecycle.anchor_chars
        for _ in range(4):
            spot = text.rfind("\n", 0, self.rng.randrange(len(text) + 1)) + 1
            if spot < self.cursor - reach or spot > self.cursor + reach:
                return spot
        return None

    def leave_void(self, row: RequestTruth, spot: int) -> None:
        """The developer dismisses the proposal (if any), goes to `spot` and stays away longer
        than `lifecycle.left_region_s`, so the gap commits empty; then comes back and types on.
        The request's row records `void`; the other open gaps, left too, `left_void`."""
        self.gaps.label("left_void")
        row.behaviours.discard("left_void")
        row.behaviours.add("void")
        home = self.cursor
        self.advance(self.policy.think_s())
        if row.proposal:
            self.emit("completion_reject", request_id=row.request_id, reason="dismissed")
        self.move_cursor(spot)
        self.advance(self.s.ctx.lifecycle.left_region_s + self.policy.away_s())
        self.move_cursor(home)

    def accept(self, row: RequestTruth, proposal: str, unit: str) -> None:
        """Take the proposal (or its next word or line), maybe edit or undo it; fix what is not the plan."""
        policy = self.policy
        piece = proposal
        if row.reaction == ACCEPT_PARTIAL:
            piece = policy.partial_piece(proposal, policy.chance(self.cfg.partial_by_line_share))
            self.emit("completion_accept", request_id=row.request_id, accepted_length=utf16_len(piece))
        else:
            self.emit("completion_accept", request_id=row.request_id)
        self.tally.accepts += 1
        row.accepted_text = piece
        start = self.cursor
        # Closers the editor inserted that the accepted text starts with (the plan's next
        # characters) or ends with are typed over, not doubled: the caret moves over them.
        lead = self.closer.leading(piece, self.pos) if self.closer is not None else []
        taken = self.closer.merged(piece[len(lead) :]) if self.closer is not None else []
        if lead:
            self.move_cursor(start + len(lead))
        if len(piece) > len(lead) + len(taken):
            self.insert(piece[len(lead) : len(piece) - len(taken)])
        if taken:
            self.move_cursor(start + len(piece))
        self.gaps.accepted(row, self.doc.text)
        if row.reaction == ACCEPT_EDIT:
            row.edit_kind, changes = policy.edit_after_accept(piece, unit)
            if changes:
                self.advance(policy.think_s())
                self.change([Span(start + c.start, start + c.end, c.new) for c in changes])
                length = len(piece) + sum(len(c.new) - (c.end - c.start) for c in changes)
                piece = self.doc.text[start : start + length]
                self.move_cursor(start + length)
        if policy.chance(self.cfg.undo_rate):
            self.tally.undos += 1
            row.undone = True
            self.gaps.label("undo")
            self.advance(policy.think_s())
            # Undo brings the document back as before the accept, the editor's closers included.
            text = self.doc.text
            head = len(lead) if text.startswith(_closers(lead), start) else 0
            tail = len(taken) if text.endswith(_closers(taken), 0, self.cursor) else 0
            if self.cursor - tail > start + head:
                self.change([Span(start + head, self.cursor - tail, "")])
            self.cursor = start
            if head or tail:
                self.move_cursor(start)
                self._restore((lead if head else []) + (taken if tail else []))
            return
        if self.target.startswith(piece, self.pos, self.end):
            self.pos += len(piece)
        elif row.reaction == ACCEPT_EDIT and row.edit_kind in (RENAME, CHANGE_ARGUMENT) and self.target.startswith(
            row.accepted_text or "", self.pos, self.end
        ):
            # The developer took what they meant and deliberately changed it: the plan changes
            # with them, and what they meant at this request is the unit of the changed plan.
            self.target = self.target[: self.pos] + piece + self.target[self.pos + len(row.accepted_text or "") :]
            self.end += len(piece) - len(row.accepted_text or "")
            if self.closer is not None:
                self.closer.shift(self.pos + len(row.accepted_text or ""), len(piece) - len(row.accepted_text or ""))
            self.replan(self.pos)
            self.pos += len(piece)
        else:
            self.fix_accepted(start, piece, taken)
        self._drop_stray()

    def _restore(self, taken: list[Pending]) -> None:
        if self.closer is not None:
            self.closer.restore(taken)

    def _drop_stray(self) -> None:
        """Closers the editor inserted that the accepted text already closed: the developer deletes them."""
        if self.closer is None:
            return
        run = self.closer.run()
        count = self.closer.stray(self.pos)
        if count:
            assert self.doc.text.startswith(run[:count], self.cursor)
            self.advance(self.policy.typing_s(count))
            self.change([Span(self.cursor, self.cursor + count, "")])

    def unit_at_pos(self, at: int) -> str:
        """The unit the developer means to write at plan position `at`: `atomic_unit`, up to the
        first closer their editor already inserted (it stands after the cursor, in the suffix: the
        developer types over it rather than into the gap)."""
        unit = atomic_unit(self.target, at, self.end, self.language)
        if self.closer is not None:
            closes = [p.plan_at for p in self.closer.pending if at <= p.plan_at < at + len(unit)]
            if closes:
                unit = unit[: min(closes) - at]
        return unit

    def replan(self, changed_at: int) -> None:
        """The plan changed from `changed_at` on: a still open request whose unit reaches there
        meant the changed text (its gap will hold it), so its unit is read again."""
        for row in self.rows:
            at = self.unit_at[row.request_id]
            if row.finalize_reason is None and at <= changed_at <= at + len(row.intended_unit):
                unit = self.unit_at_pos(at)
                row.replanned |= unit != row.intended_unit
                row.intended_unit = unit

    def fix_accepted(self, start: int, piece: str, taken: list[Pending]) -> None:
        """Text taken from a proposal that is not what the developer means to write is corrected
        at once, like a typo: backspace to the first character that differs, then type on with the
        plan. (Keeping it would leave code the developer never meant, and a C_N that does not
        hold the unit they wanted.) C_N still starts with the part of the accepted text they kept.
        `taken`: the editor's closers the accepted text ended on (`AutoCloser.merged`)."""
        keep = 0
        limit = min(len(piece), self.end - self.pos)
        while keep < limit and piece[keep] == self.target[self.pos + keep]:
            keep += 1
        self.gaps.label("fix_accept")
        self.advance(self.policy.think_s())
        # Closers of the editor's that the accepted text took over stay, pending again, unless kept.
        closers = _closers(taken) if piece.endswith(_closers(taken)) else ""
        typed = len(piece) - len(closers)
        if keep < typed:
            self.change([Span(start + keep, start + typed, "")])
            self.cursor = start + keep
        else:
            self.move_cursor(start + keep)
        if closers:
            self._restore(taken[max(0, keep - typed) :])
        self.pos += keep


def work_session(session: Session) -> float:
    """The developer's whole session: opened, documents worked on in turn, closed and uploaded;
    returns its end (true time, seconds)."""
    tally = session.ctx.tally
    tally.sessions += 1
    tally.edit_sessions += session.edits
    name, version = session.rng.choice(CLIENTS)
    session.emitter.emit("session_start", session.t, client={"name": name, "version": version}, position_encoding="utf-16")
    documents = session.rng.randint(1, session.config.docs_per_session)
    for number in range(documents):
        if session.ctx.budget.exhausted:
            break
        picked = _pick_file(session)
        if picked is None:
            continue
        if number:
            session.t += session.rng.uniform(5.0, 60.0)
        DocumentWork(session, number, *picked).run(last=number == documents - 1)
    session.emitter.emit("session_end", session.t)
    session.upload()
    return session.t


def _pick_file(session: Session) -> tuple[CorpusFile, str] | None:
    files = session.ctx.files[session.user.cohort]
    for _ in range(_PICK_TRIES):
        file = session.rng.choice(files)
        text = read_source(file)
        if text is not None:
            return file, text
    return None


def _closers(taken: list[Pending]) -> str:
    """The closers `AutoCloser.merged` took, as they stand in the document (innermost first)."""
    return "".join(p.closer for p in taken)
