"""Dedup: exact and near duplicates collapse to the gap with the smallest key."""

from __future__ import annotations

import random

from echo_spark.config import CurateConfig
from echo_spark.curate.records import Gap
from echo_spark.curate.text import gap_window
from echo_spark.curate.verifiers.dedup import Duplicate, find_duplicates, sketch

CONFIG = CurateConfig()
BODY = "".join(f"    value_{i} = compute_{i}(items, factor={i})\n" for i in range(30))


def _dups(texts: list[str], keys: list[str]) -> list[Duplicate]:
    sketches = [sketch(t, num_perm=CONFIG.dedup_num_perm, shingle_tokens=CONFIG.dedup_shingle_tokens, seed=CONFIG.seed)
                for t in texts]
    return find_duplicates(sketches, keys, threshold=CONFIG.dedup_threshold, num_perm=CONFIG.dedup_num_perm)


def test_reformatted_copy_is_an_exact_duplicate_of_the_smallest_key() -> None:
    texts = ["def f(a):\n    return a + 1\n", "def f(a):\n\treturn a+1", "def g(b):\n    return b * 2\n"]
    assert _dups(texts, ["r2", "r1", "r3"]) == [Duplicate(0, 1, "exact")]


def test_keystroke_requests_are_near_duplicates() -> None:
    """Consecutive requests while typing: the prefix grows by a character, the commit shrinks by one."""
    line = "    total = sum(value for value in values)\n"
    gaps = [
        Gap(f"req-{i:02d}", "def run(values):\n" + BODY + line[:i], "\n" + BODY, line[i:], "python")
        for i in range(10, 16)
    ]
    windows = [gap_window(g, CONFIG.dedup_context_chars) for g in gaps]
    duplicates = _dups(windows, [g.request_id for g in gaps])
    assert duplicates == [Duplicate(i, 0, "near") for i in range(1, 6)]


def test_different_code_is_kept() -> None:
    rng = random.Random(3)
    texts = [" ".join(f"name_{rng.randrange(10**6)}" for _ in range(40)) for _ in range(20)]
    assert _dups(texts, [f"r{i}" for i in range(20)]) == []


def test_representative_does_not_depend_on_input_order() -> None:
    line = "    result = fetch(url, timeout=30, retries=retries)\n"
    texts = [BODY + line, BODY + line.replace("30", "31"), BODY + line.replace("30", "32")]
    keys = ["b", "a", "c"]
    forward = {(keys[d.index], keys[d.representative]) for d in _dups(texts, keys)}
    backward = {(keys[::-1][d.index], keys[::-1][d.representative]) for d in _dups(texts[::-1], keys[::-1])}
    assert forward == backward == {("b", "a"), ("c", "a")}


def test_window_is_the_context_nearest_the_gap() -> None:
    gap = Gap("r", "0123456789", "abcdefghij", "X", "python")
    assert gap_window(gap, 3) == "789Xabc"
    assert gap_window(Gap("r", "0123", None, "X", "python"), 0) == "X"


def test_a_sketch_holds_signed_64_bit_hashes_a_table_column_can_store() -> None:
    sketched = sketch(BODY, num_perm=CONFIG.dedup_num_perm, shingle_tokens=CONFIG.dedup_shingle_tokens, seed=CONFIG.seed)
    assert len(sketched.signature) == CONFIG.dedup_num_perm and list(sketched.shingles) == sorted(set(sketched.shingles))
    assert all(-(1 << 63) <= h < (1 << 63) for h in (sketched.exact, *sketched.shingles, *sketched.signature))
    assert any(h < 0 for h in sketched.shingles)
    assert sketch("", num_perm=8, shingle_tokens=5, seed=1).signature == ()
