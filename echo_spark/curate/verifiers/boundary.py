"""Boundary verifier: void versus fill, and the classic fill-in-the-middle duplication.

A commit that ends by repeating the start of the suffix (or starts by repeating the end of the
prefix) teaches the model to duplicate code around the gap, the most common FIM failure. This
happens in telemetry when the anchors of the gap slipped (the user rewrote a line next to the
gap). Short repeats are legitimate (`}` closing an inner block before the suffix's `}`), hence a
threshold in non-space characters, and a repeat must contain a name or a number.
"""

from __future__ import annotations

import re

from ..records import Gap, Verdict

STAGE = "boundary"
_TOKEN = re.compile(r"\w+|[^\w\s]")
# Longest repeat looked for, in tokens: enough for any duplicated line, bounded for long commits.
_MAX_TOKENS = 256


def check_boundary(gap: Gap, *, min_chars: int) -> Verdict:
    """Keep a void or a fill that does not repeat its context; drop whitespace-only or duplicating commits."""
    if gap.is_void:
        return Verdict.kept(STAGE, note="void")
    if not gap.committed.strip():
        return Verdict.dropped(STAGE, "whitespace_only")  # neither silence nor code: an ambiguous label
    committed = _TOKEN.findall(gap.committed)
    suffix_head = _TOKEN.findall(gap.suffix_text[: 8 * _MAX_TOKENS])[:_MAX_TOKENS]
    if _repeat_length(committed[-_MAX_TOKENS:], suffix_head) >= min_chars:
        return Verdict.dropped(STAGE, "repeats_suffix")
    prefix_tail = _TOKEN.findall(gap.prefix[-8 * _MAX_TOKENS :])[-_MAX_TOKENS:]
    if _repeat_length(prefix_tail, committed[:_MAX_TOKENS]) >= min_chars:
        return Verdict.dropped(STAGE, "repeats_prefix")
    return Verdict.kept(STAGE, note="fill")


def _repeat_length(left: list[str], right: list[str]) -> int:
    """Characters of the longest run of tokens that ends `left` and starts `right` (0 without a name or number)."""
    for size in range(min(len(left), len(right)), 0, -1):
        repeated = right[:size]
        if left[-size:] == repeated and any(token[0].isalnum() or token[0] == "_" for token in repeated):
            return sum(len(token) for token in repeated)
    return 0
