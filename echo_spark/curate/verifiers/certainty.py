"""Certainty verifier: server-log rows whose C_N the logs cannot vouch for.

A server log shows a gap only in the windows of later requests, so what the developer did between
two of them, and after the last, is unseen. The lifecycle job says how sure each such C_N is
(silver `gap_open_at_last_sighting`, `committed_previous`, `max_silence_s`, `anchor_choice`; null
with edit telemetry, which shows every state). A gap still open at its last sighting (the cursor
in it, its content still changing) may have grown after it; if the teacher's unit was already the
same at the sighting before, what came after did not change the target, so by default such a gap
is kept only then. Long silences and guessed anchor occurrences are dropped only when configured.
Runs after the teacher, whose unit it compares.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ...config import CurateConfig
from ..records import Gap, Verdict
from ..syntax_teacher import SyntaxTeacher

STAGE = "certainty"


def check_certainty(row: Mapping[str, Any], gap: Gap, unit: str, units: SyntaxTeacher, config: CurateConfig) -> Verdict:
    """`row`: the silver row of `gap`; `unit`: the teacher's unit of its C_N; `units`: the unit
    definition, asked again for the gap as the sighting before showed it."""
    silence = row.get("max_silence_s")
    if config.certainty_max_silence_s is not None and silence is not None and silence > config.certainty_max_silence_s:
        return Verdict.dropped(STAGE, "long_silence")
    if row.get("anchor_choice") in config.certainty_drop_anchor_choices:
        return Verdict.dropped(STAGE, "anchor_guessed")
    if row.get("gap_open_at_last_sighting"):
        if config.certainty_open_gap == "drop":
            return Verdict.dropped(STAGE, "gap_open")
        previous = row.get("committed_previous")
        if config.certainty_open_gap == "same_unit":
            before = None if previous is None else units.answer(replace(gap, committed=previous))
            if before is None or before.drop_reason or before.text != unit:
                return Verdict.dropped(STAGE, "gap_open_unit_changed")
    return Verdict.kept(STAGE)
