import random

import pytest

from training.fim import FAMILIES, IGNORE, FimIds, context_budget, detect_family, encode, prompt, random_split, unit_split

IDS = FimIds(prefix=1, suffix=2, middle=3, end=4, bos=None)
P = list(range(100, 120))  # prefix tokens
S = list(range(200, 210))  # suffix tokens
M = [300, 301, 302]        # middle tokens


def test_psm_layout_labels_only_middle_and_end():
    e = encode(IDS, P, S, M, max_tokens=64)
    assert e.input_ids == [1, *P, 2, *S, 3, *M, 4]
    assert e.labels == [IGNORE] * (len(P) + len(S) + 3) + [*M, 4]


def test_spm_layout_puts_suffix_first_and_keeps_prefix_next_to_middle():
    e = encode(IDS, P, S, M, max_tokens=64, order="spm")
    assert e.input_ids == [1, 2, *S, 3, *P, *M, 4]
    assert [t for t in e.labels if t != IGNORE] == [*M, 4]


def test_void_sample_teaches_the_end_token_alone():
    e = encode(IDS, P, S, [], max_tokens=64)
    assert e.input_ids[-2:] == [3, 4]
    assert [t for t in e.labels if t != IGNORE] == [4]


def test_context_is_cut_from_its_far_ends():
    e = encode(IDS, P, S, M, max_tokens=3 + 4 + 12)  # room for 12 context tokens
    assert len(e.input_ids) == 19
    kept_prefix = e.input_ids[1 : e.input_ids.index(2)]
    kept_suffix = e.input_ids[e.input_ids.index(2) + 1 : e.input_ids.index(3)]
    assert kept_prefix == P[-len(kept_prefix):]  # the end next to the cursor survives
    assert kept_suffix == S[: len(kept_suffix)]
    assert len(kept_prefix) == 9 and len(kept_suffix) == 3  # the prefix gets 3/4 when both overflow


def test_context_budget_gives_unused_room_to_the_other_side():
    assert context_budget(2, 50, 20) == (2, 18)
    assert context_budget(50, 2, 20) == (18, 2)
    assert context_budget(50, 50, 20) == (15, 5)


def test_overlong_middle_keeps_its_head_and_loses_the_end_token():
    middle = list(range(500, 600))
    e = encode(IDS, P, S, middle, max_tokens=40)
    assert len(e.input_ids) <= 40
    targets = [t for t in e.labels if t != IGNORE]
    assert targets == middle[: len(targets)] and 4 not in targets


def test_train_on_context_labels_text_but_not_sentinels():
    e = encode(IDS, P, S, M, max_tokens=64, train_on_context=True)
    assert [t for t in e.labels if t != IGNORE] == [*P, *S, *M, 4]


def test_bos_family_prepends_it():
    ids = FimIds(prefix=1, suffix=2, middle=3, end=4, bos=9)
    assert prompt(ids, P[:2], S[:2], 64) == [9, 1, *P[:2], 2, *S[:2], 3]


class _Vocab:
    def __init__(self, tokens):
        self.vocab = {t: i for i, t in enumerate(tokens)}

    def get_vocab(self):
        return self.vocab

    def convert_tokens_to_ids(self, token):
        return self.vocab.get(token)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_is_detected_from_the_vocabulary(family):
    t = FAMILIES[family]
    vocab = _Vocab(["a", "b", t.prefix, t.suffix, t.middle, t.end] + ([t.bos] if t.bos else []))
    assert detect_family(vocab).family == family
    ids = FimIds.of(vocab, t)
    assert (ids.prefix, ids.end) == (2, 5)


def test_unknown_or_mismatched_family_is_an_error():
    with pytest.raises(ValueError, match="no known FIM tokens"):
        detect_family(_Vocab(["a", "<|endoftext|>"]))
    starcoder = FAMILIES["starcoder"]
    with pytest.raises(ValueError, match="qwen2.5-coder"):
        detect_family(_Vocab([starcoder.prefix, starcoder.suffix, starcoder.middle, starcoder.end]), "qwen2.5-coder")


def test_random_split_cuts_at_line_ends_and_can_be_void():
    text = "a = 1\nb = 2\nc = 3\nd = 4\n"
    rng = random.Random(3)
    for _ in range(50):
        prefix, middle, suffix = random_split(text, rng, void_rate=0.0)
        assert prefix + middle + suffix == text
        assert middle.endswith("\n") or suffix == ""
    assert random_split(text, rng, void_rate=1.0)[1] == ""


def test_unit_split_middle_is_the_unit_at_the_cursor_and_can_be_void():
    from echo_spark.units import atomic_unit

    text = "def f(a, b):\n    total = a + b\n    return total\n\n\nx = f(1,\n      2)\nprint(x)\n"

    def unit_end(doc: str, cursor: int) -> int:
        return cursor + len(atomic_unit(doc, cursor, len(doc), "python"))

    rng = random.Random(3)
    seen_multi_line = False
    for _ in range(200):
        prefix, middle, suffix = unit_split(text, rng, 0.0, unit_end)
        assert prefix + middle + suffix == text
        assert middle == atomic_unit(text, len(prefix), len(text), "python")
        seen_multi_line |= "\n" in middle
    assert seen_multi_line  # a block or a statement over lines is one unit, not a line
    # the unit after `x = f(1,` ends at its closing bracket, not at the line end
    assert unit_end(text, text.index("1,")) == text.index("2)") + 2
    assert all(not unit_split(text, rng, 1.0, unit_end)[1] for _ in range(20))
