"""Auto-closed brackets and quotes, as VS Code and JetBrains editors insert them by default.

Typing an opener inserts its closer after the caret (one change, `()`), and typing that closer
when the caret stands before it moves the caret over it: VS Code reports no content change there,
only the new selection, so the simulated client sends a `cursor` event and no `doc_change`. The
closers the editor inserted stand right after the caret, innermost first, while the developer
types everything between (typing always lands at the caret), so they are a stack.

The developer still writes their plan: an opener is auto-closed only where the plan types its
closer later with that stack intact (the closer found by bracket matching, inside the closer
still pending), so the document never holds a closer the developer did not mean. The editor's
own conditions: the caret is before whitespace, the end of the document or a closing character
(VS Code's `autoCloseBefore`), a quote not right after a word character, nothing inside a string
the editor opened.
"""

from __future__ import annotations

from dataclasses import dataclass

PAIRS = {"(": ")", "[": "]", "{": "}", '"': '"', "'": "'"}
_QUOTES = "\"'"
# VS Code's default `autoCloseBefore`: an opener auto-closes only before one of these (or the end).
_CLOSE_BEFORE = ";:.,=}])> \n\t\r"
# How far ahead in the plan a closer is looked for (a runaway bracket must not scan the file).
_MAX_SCAN = 4000


@dataclass(frozen=True)
class Pending:
    """A closer the editor inserted, standing after the caret; the plan types it at `plan_at`."""

    closer: str
    plan_at: int


def closing_at(plan: str, at: int, end: int) -> int | None:
    """Where the plan closes the opener at `plan[at]`, before `end`: the matching bracket (string
    literals on one line skipped), or for a quote the next same quote on its line with no escape
    or bracket between; None when there is none (or the brackets do not match)."""
    opener = plan[at]
    if opener in _QUOTES:
        line_end = plan.find("\n", at + 1, end)
        close = plan.find(opener, at + 1, end if line_end < 0 else line_end)
        if close < 0 or any(ch in plan[at + 1 : close] for ch in "\\([{)]}'\""):
            return None
        return close
    closers: list[str] = [PAIRS[opener]]
    k, stop = at + 1, min(end, at + _MAX_SCAN)
    while k < stop:
        ch = plan[k]
        if ch in _QUOTES:
            line_end = plan.find("\n", k + 1, stop)
            close = plan.find(ch, k + 1, stop if line_end < 0 else line_end)
            if close < 0:
                return None
            k = close
        elif ch in "([{":
            closers.append(PAIRS[ch])
        elif ch in ")]}":
            if closers.pop() != ch:
                return None
            if not closers:
                return k
        k += 1
    return None


class AutoCloser:
    """One developer's editor: decides where it auto-closes, and keeps the closers it inserted."""

    def __init__(self) -> None:
        self.pending: list[Pending] = []  # innermost (right after the caret) last

    def opens(self, plan: str, at: int, end: int, doc: str, caret: int) -> Pending | None:
        """The developer types the opener `plan[at]` at `caret` of `doc`: the closer the editor
        inserts with it, or None (not an opener, the editor's conditions fail, or the plan would
        not type the closer over)."""
        opener = plan[at]
        if opener not in PAIRS:
            return None
        if caret < len(doc) and doc[caret] not in _CLOSE_BEFORE:
            return None
        if self.pending and self.pending[-1].closer in _QUOTES:
            return None  # inside a string the editor opened
        if opener in _QUOTES and caret > 0 and (doc[caret - 1].isalnum() or doc[caret - 1] == "_"):
            return None
        close = closing_at(plan, at, end)
        if close is None or (self.pending and close >= self.pending[-1].plan_at):
            return None
        return Pending(PAIRS[opener], close)

    def types_over(self, plan_at: int) -> bool:
        """The plan types the innermost pending closer here: the caret moves over it."""
        return bool(self.pending) and self.pending[-1].plan_at == plan_at

    def run(self) -> str:
        """The closers after the caret, as they stand in the document."""
        return "".join(p.closer for p in reversed(self.pending))

    def leading(self, piece: str, plan_pos: int) -> list[Pending]:
        """Accepted text that starts with the closers the plan types next types over them (as
        the developer would have): those closers, innermost first, popped."""
        taken: list[Pending] = []
        while len(taken) < len(piece) and self.types_over(plan_pos + len(taken)) and piece[len(taken)] == self.pending[-1].closer:
            taken.append(self.pending.pop())
        return taken

    def merged(self, piece: str) -> list[Pending]:
        """Accepted text that ends with pending closers takes their place (the editor does not
        double a bracket it inserted): those closers, innermost first, popped."""
        k = len(self.pending)
        while k and not piece.endswith(self.run()[:k]):
            k -= 1
        taken = self.pending[len(self.pending) - k :][::-1]
        del self.pending[len(self.pending) - k :]
        return taken

    def restore(self, taken: list[Pending]) -> None:
        """Closers `merged` took stand after the caret again, pending as before."""
        self.pending.extend(reversed(taken))

    def stray(self, plan_pos: int) -> int:
        """Closers the plan has already passed (accepted text closed them): popped; their count."""
        count = 0
        while self.pending and self.pending[-1].plan_at < plan_pos:
            self.pending.pop()
            count += 1
        return count

    def shift(self, plan_from: int, delta: int) -> None:
        """The plan changed length from `plan_from` on (a deliberate rename of accepted text)."""
        self.pending = [p if p.plan_at < plan_from else Pending(p.closer, p.plan_at + delta) for p in self.pending]
