"""LSP changes and snapshot diffs as edits in Python indexes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from echo_spark.lifecycle.events import TextChange
from echo_spark.lifecycle.positions import edit_from_change, edit_from_snapshots
from echo_spark.telemetry.positions import PositionError


def test_change_beyond_the_end_does_not_fit() -> None:
    with pytest.raises(PositionError) as err:
        edit_from_change("abc", TextChange(offset=2, length=5, text="x"), "utf-16")
    assert err.value.reason == "change_does_not_fit"


texts = st.text(alphabet=st.sampled_from("ab \né😀\u4e2d"), max_size=30)


@given(texts, texts)
def test_snapshot_edit_rebuilds_the_new_text(old: str, new: str) -> None:
    edit = edit_from_snapshots(old, new)
    assert edit.apply(old) == new
    # The insertion side is minimal: a common prefix and suffix were taken out.
    assert len(edit.new_text) == len(new) - (len(old) - (edit.end - edit.start))
