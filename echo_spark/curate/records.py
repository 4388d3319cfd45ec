"""The data a curate core takes and gives back: a gap, a verdict, a drop row.

Plain frozen dataclasses of Python scalars so the Spark wiring can build them from rows and turn
verdicts into `curation_drops` rows (dataclasses.asdict) without knowing any verifier.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Gap:
    """One silver completion as curate sees it: the context C0 around the gap and the commit C_N."""

    request_id: str
    prefix: str
    suffix: str | None  # None: the text after the cursor was not logged
    committed: str  # C_N; "" = void (the right answer was silence)
    language: str | None
    user_id: str | None = None
    proposal: str | None = None  # C1, for reference only: training targets come from C_N
    # Silver's finalize_reason (why C_N stopped changing); None when unknown.
    finalize_reason: str | None = None

    @property
    def is_void(self) -> bool:
        return self.committed == ""

    @property
    def suffix_text(self) -> str:
        """The suffix, "" when it was not logged (a gap at the end of what we know)."""
        return self.suffix or ""


@dataclass(frozen=True)
class Verdict:
    """What one verifier decided about one gap.

    `reason` says why a gap was dropped; `note` records something worth counting on a kept gap
    (e.g. "unsupported_language"), so a skipped check is visible rather than silently passed.
    """

    stage: str
    keep: bool
    reason: str | None = None
    note: str | None = None

    @classmethod
    def kept(cls, stage: str, note: str | None = None) -> Verdict:
        return cls(stage=stage, keep=True, note=note)

    @classmethod
    def dropped(cls, stage: str, reason: str) -> Verdict:
        return cls(stage=stage, keep=False, reason=reason)


@dataclass(frozen=True)
class Drop:
    """One row of `curation_drops`: which gap left the pipeline, at which stage, and why."""

    request_id: str
    stage: str
    reason: str

    @classmethod
    def of(cls, gap: Gap, verdict: Verdict) -> Drop:
        if verdict.keep or verdict.reason is None:
            raise ValueError(f"verdict of stage {verdict.stage!r} keeps the gap; there is no drop to record")
        return cls(request_id=gap.request_id, stage=verdict.stage, reason=verdict.reason)
