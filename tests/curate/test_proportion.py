"""Proportioning: target shares met by seeded stratified sampling; splits by user."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from echo_spark.config import CurateConfig
from echo_spark.curate.proportion import SampleKey, length_bucket, proportion, quotas, rank_key, split_of

EDGES = CurateConfig().length_bucket_edges


def _keys(count: int, seed: int = 1) -> list[SampleKey]:
    rng = random.Random(seed)
    return [
        SampleKey(f"session-{i % 7}", f"req-{i}", rng.choice(["python"] * 6 + ["javascript"] * 3 + ["cpp"]),
                  rng.choice([0, 0, 5, 10, 20, 50, 100, 300, 2000]))
        for i in range(count)
    ]


def _shares(values: list[str]) -> dict[str, float]:
    return {k: v / len(values) for k, v in Counter(values).items()}


def test_buckets() -> None:
    assert [length_bucket(n, EDGES) for n in (0, 1, 16, 17, 1024, 1025)] == ["void", "<=16", "<=16", "<=64", "<=1024", ">1024"]


def test_targets_are_met() -> None:
    keys = _keys(5000)
    chosen = proportion(keys, edges=EDGES, length_shares={"<=16": 0.1, "<=64": 0.3, "<=256": 0.3, "<=1024": 0.2, ">1024": 0.1},
                        void_share=0.2, language_shares={"python": 0.4, "javascript": 0.4, "cpp": 0.2},
                        max_samples=None, seed=7)
    picked = [keys[i] for i in chosen]
    assert len(picked) > 1000
    languages = _shares([k.language or "" for k in picked])
    buckets = _shares([length_bucket(k.committed_chars, EDGES) for k in picked])
    for name, share in {"python": 0.4, "javascript": 0.4, "cpp": 0.2}.items():
        assert languages[name] == pytest.approx(share, abs=0.01)
    for name, share in {"void": 0.2, "<=16": 0.08, "<=64": 0.24, "<=256": 0.24, "<=1024": 0.16, ">1024": 0.08}.items():
        assert buckets[name] == pytest.approx(share, abs=0.01)


def test_empty_targets_keep_the_observed_mix_and_max_samples_caps() -> None:
    keys = _keys(3000)
    chosen = proportion(keys, edges=EDGES, length_shares={}, void_share=None, language_shares={}, max_samples=600, seed=7)
    assert len(chosen) == 600
    observed = _shares([k.language or "" for k in keys])
    picked = _shares([keys[i].language or "" for i in chosen])
    for name, share in observed.items():
        assert picked[name] == pytest.approx(share, abs=0.01)


def test_languages_without_a_target_are_left_out() -> None:
    keys = _keys(1000)
    chosen = proportion(keys, edges=EDGES, length_shares={}, void_share=None, language_shares={"python": 1.0},
                        max_samples=None, seed=7)
    assert {keys[i].language for i in chosen} == {"python"}


def test_choice_is_deterministic_and_seeded_by_request_not_position() -> None:
    keys = _keys(2000)
    args = dict(edges=EDGES, length_shares={}, void_share=0.5, language_shares={}, max_samples=300)
    first = {keys[i].request_id for i in proportion(keys, seed=7, **args)}
    shuffled = keys[:]
    random.Random(9).shuffle(shuffled)
    assert {shuffled[i].request_id for i in proportion(shuffled, seed=7, **args)} == first
    assert {keys[i].request_id for i in proportion(keys, seed=8, **args)} != first


def test_unknown_bucket_names_are_refused() -> None:
    with pytest.raises(ValueError, match="<=20"):
        proportion(_keys(10), edges=EDGES, length_shares={"<=20": 1.0}, void_share=None, language_shares={},
                   max_samples=None, seed=7)


def test_no_keys_no_choice() -> None:
    assert proportion([], edges=EDGES, length_shares={}, void_share=None, language_shares={}, max_samples=None, seed=7) == []


def test_split_is_by_user() -> None:
    users = [f"user-{i}" for i in range(2000)]
    splits = {u: split_of(u, validation_share=0.1, seed=7) for u in users}
    assert Counter(splits.values())["validation"] / len(users) == pytest.approx(0.1, abs=0.02)
    assert all(split_of(u, validation_share=0.1, seed=7) == s for u, s in splits.items())  # every row of a user alike
    assert splits != {u: split_of(u, validation_share=0.1, seed=8) for u in users}
    assert split_of("anyone", validation_share=0.0, seed=7) == "train"


def test_quotas_need_only_the_strata_counts() -> None:
    keys = _keys(3000)
    counts = Counter((length_bucket(k.committed_chars, EDGES), k.language or "unknown") for k in keys)
    args = dict(edges=EDGES, length_shares={}, void_share=0.3, language_shares={"python": 0.5, "javascript": 0.5})
    quota = quotas(counts, max_samples=None, **args)
    chosen = Counter((length_bucket(keys[i].committed_chars, EDGES), keys[i].language or "unknown")
                     for i in proportion(keys, max_samples=None, seed=7, **args))
    assert {cell: n for cell, n in quota.items() if n} == dict(chosen)
    assert quotas({}, max_samples=None, **args) == {}


def test_rank_key_is_the_sha256_the_engine_computes() -> None:
    import hashlib

    assert rank_key(7, "s", "r") == hashlib.sha256("proportion\x1f7\x1fs\x1fr".encode()).hexdigest()
    assert rank_key(7, None, "r") == rank_key(7, "", "r") != rank_key(8, "", "r")
