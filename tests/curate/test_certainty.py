"""The certainty stage: server-log rows whose C_N the logs cannot vouch for leave with a reason."""

from echo_spark.config import CurateConfig
from echo_spark.curate.pipeline import RowCurator

PREFIX = "def total(xs):\n    s = 0\n    for x in xs:\n        "
SUFFIX = "\n    return s\n"


def _row(rid: str, committed: str, **unsure) -> dict:
    return {"request_id": rid, "session_id": "s", "user_id": "u", "language": "python", "prefix": PREFIX,
            "suffix": SUFFIX, "committed": committed, "proposal": None, **unsure}


ROWS = [
    # Still open at the last sighting, but the unit was already whole and the same at the one before.
    _row("same", "s += x\n        ", gap_open_at_last_sighting=True, committed_previous="s += x\n", max_silence_s=4.0,
         anchor_choice="unique"),
    # Still open, and the sighting before held half the unit: it may have changed again unseen.
    _row("changed", "s += x\n", gap_open_at_last_sighting=True, committed_previous="s +", max_silence_s=4.0,
         anchor_choice="unique"),
    # Settled (the cursor had left, or nothing changed since): kept whatever the sighting before held.
    _row("settled", "s += x\n", gap_open_at_last_sighting=False, committed_previous="s +", max_silence_s=40.0,
         anchor_choice="first"),
    # Edit telemetry: no uncertainty columns.
    _row("edits", "s += x\n"),
]


def _verdicts(config: CurateConfig) -> dict[str, tuple[bool, str | None]]:
    return {r["request_id"]: (r["kept"], r["drop_reason"] if r["drop_stage"] in (None, "certainty") else "other")
            for r in RowCurator.build(config).curate(ROWS)}


def test_an_open_gap_is_kept_only_when_the_unit_was_already_the_same_before():
    assert _verdicts(CurateConfig()) == {
        "same": (True, None), "changed": (False, "gap_open_unit_changed"), "settled": (True, None), "edits": (True, None)}


def test_the_certainty_settings_drop_by_each_column():
    keep_open = _verdicts(CurateConfig(certainty_open_gap="keep"))
    assert keep_open["changed"] == (True, None)
    drop_open = _verdicts(CurateConfig(certainty_open_gap="drop"))
    assert (drop_open["same"], drop_open["changed"]) == ((False, "gap_open"), (False, "gap_open"))
    strict = _verdicts(CurateConfig(certainty_max_silence_s=30, certainty_drop_anchor_choices=["first"]))
    assert strict["settled"] == (False, "long_silence")
    assert _verdicts(CurateConfig(certainty_drop_anchor_choices=["first"]))["settled"] == (False, "anchor_guessed")
    assert strict["edits"] == (True, None)
