"""Offsets and lengths in UTF-16/UTF-8/UTF-32 <-> Python indexes, as telemetry counts them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from echo_spark.telemetry.positions import PositionError, to_index, to_offset, unit_length, utf16_len

EMOJI_LINE = "s = 'é😀' + x"  # é: 1 unit in UTF-16, 2 in UTF-8; 😀: 2 (a surrogate pair) and 4


def test_utf16_counts_surrogate_pairs_as_two_units() -> None:
    assert unit_length(EMOJI_LINE, "utf-16") == len(EMOJI_LINE) + 1
    plus = EMOJI_LINE.index("+")
    assert to_offset(EMOJI_LINE, plus, "utf-16") == plus + 1
    assert to_index(EMOJI_LINE, plus + 1, "utf-16") == plus


def test_utf8_and_utf32_units() -> None:
    plus = EMOJI_LINE.index("+")
    assert to_index(EMOJI_LINE, plus + 4, "utf-8") == plus  # é +1 byte, 😀 +3 bytes
    assert to_index(EMOJI_LINE, plus, "utf-32") == plus


@pytest.mark.parametrize(
    ("offset", "reason"),
    [(-1, "negative_offset"), (100, "offset_out_of_range"), (EMOJI_LINE.index("😀") + 1, "offset_splits_character")],
)
def test_offsets_that_do_not_fit_are_errors(offset: int, reason: str) -> None:
    with pytest.raises(PositionError) as err:
        to_index(EMOJI_LINE, offset, "utf-16")
    assert err.value.reason == reason


def test_utf16_len_is_the_utf16_unit_length() -> None:
    assert utf16_len("a😀é") == 4 == unit_length("a😀é", "utf-16")


texts = st.text(alphabet=st.sampled_from("ab \né😀\u4e2d"), max_size=30)


@given(texts, st.data())
def test_utf16_offsets_round_trip(text: str, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(text)))
    for encoding in ("utf-16", "utf-8", "utf-32"):
        assert to_index(text, to_offset(text, index, encoding), encoding) == index
