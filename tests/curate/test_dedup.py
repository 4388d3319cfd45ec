"""Dedup: exact and near duplicates collapse to the gap with the smallest key."""

from __future__ import annotations

import random

import pyarrow as pa

from echo_spark.config import CurateConfig
from echo_spark.curate.records import Gap
from echo_spark.curate.text import gap_window
from echo_spark.curate.duplicates import Duplicate, GroupSketches, find_duplicates
from echo_spark.curate.verifiers.dedup import SCHEME, DedupSketch, sketch

CONFIG = CurateConfig()
BODY = "".join(f"    value_{i} = compute_{i}(items, factor={i})\n" for i in range(30))


def as_group(sketches: list[DedupSketch], config: CurateConfig = CONFIG) -> GroupSketches:
    """Sketches as the verdicts' columns hold them."""
    return GroupSketches.from_arrow(pa.array([s.exact for s in sketches], pa.int64()),
                                    pa.array([s.signature for s in sketches], pa.list_(pa.int64())),
                                    pa.array([s.shingles for s in sketches], pa.list_(pa.int64())),
                                    threshold=config.dedup_threshold, num_perm=config.dedup_num_perm)


def _dups(texts: list[str], keys: list[str]) -> list[Duplicate]:
    sketches = [sketch(t, num_perm=CONFIG.dedup_num_perm, shingle_tokens=CONFIG.dedup_shingle_tokens, seed=CONFIG.seed)
                for t in texts]
    return find_duplicates(as_group(sketches), keys, threshold=CONFIG.dedup_threshold)


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


def _datasketch_walk(sketches: list[DedupSketch], keys: list[str]) -> list[Duplicate]:
    """The same walk on datasketch's `MinHashLSH` (what the job ran before 2026-12-04)."""
    from datasketch import MinHash, MinHashLSH

    from echo_spark.curate.duplicates import lsh_params

    lsh = MinHashLSH(num_perm=CONFIG.dedup_num_perm, params=lsh_params(CONFIG.dedup_threshold, CONFIG.dedup_num_perm))
    exact: dict[int, int] = {}
    shingles_of: dict[int, set[int]] = {}
    found = []
    for index in sorted(range(len(sketches)), key=lambda i: (keys[i], i)):
        sketched = sketches[index]
        if sketched.exact in exact:
            found.append(Duplicate(index, exact[sketched.exact], "exact"))
            continue
        exact[sketched.exact] = index
        if not sketched.shingles:
            continue
        shingles = set(sketched.shingles)
        signature = MinHash(num_perm=CONFIG.dedup_num_perm, hashvalues=sketched.signature, scheme=SCHEME)
        similar = [int(c) for c in lsh.query(signature)
                   if len(shingles & shingles_of[int(c)]) / len(shingles | shingles_of[int(c)]) >= CONFIG.dedup_threshold]
        if similar:
            found.append(Duplicate(index, min(similar, key=lambda i: (keys[i], i)), "near"))
            continue
        lsh.insert(str(index), signature)
        shingles_of[index] = shingles
    return sorted(found, key=lambda d: d.index)


def test_the_walk_finds_what_datasketchs_lsh_finds() -> None:
    """Standard-library windows, each with copies a keystroke apart, an edit inside and reformatted:
    exact and near duplicates, candidates that fail the Jaccard check, samples with no tokens."""
    from ..curate.stdlib_samples import stdlib_gaps

    rng = random.Random(11)
    texts = []
    for prefix, middle, suffix in stdlib_gaps(60):
        window = prefix[-600:] + middle + suffix[:200]
        texts += [window, window[1:], window[:-3], window.replace(" ", "  "), window[: len(window) // 2] + "x = 1\n"]
        texts.append(window[:200] + "".join(rng.choice("abc(), =\n") for _ in range(40)) + window[240:])
    texts += ["", "   ", "#"]
    sketches = [sketch(t, num_perm=CONFIG.dedup_num_perm, shingle_tokens=CONFIG.dedup_shingle_tokens, seed=CONFIG.seed)
                for t in texts]
    keys = [f"s{rng.randrange(50)}\x1fr{i:04d}" for i in range(len(texts))]
    expected = _datasketch_walk(sketches, keys)
    assert {d.kind for d in expected} == {"exact", "near"} and len(expected) > 60
    assert find_duplicates(as_group(sketches), keys, threshold=CONFIG.dedup_threshold) == expected
