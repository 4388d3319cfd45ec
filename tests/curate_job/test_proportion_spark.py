"""Proportioning in the engine chooses what the pure reference chooses, with no sample on the driver."""

from __future__ import annotations

import random

import pytest

from echo_spark.config import CurateConfig
from echo_spark.curate.proportion import SampleKey, length_bucket, proportion, split_of
from echo_spark.curate.proportion_spark import choose
from echo_spark.tables import CURATE_CHOICE

SURVIVORS = "session_id string, request_id string, user_id string, language string, middle string, perplexity double"


def _survivors(count: int, seed: int) -> list[tuple]:
    rng = random.Random(seed)
    return [
        (f"s{rng.randrange(40)}", f"r{i}", rng.choice([f"u{rng.randrange(30)}", None]),
         rng.choice(["python"] * 5 + ["javascript"] * 3 + ["cpp", None]),
         "x" * rng.choice([0, 0, 3, 10, 40, 100, 300, 900, 2000]), rng.random())
        for i in range(count)
    ]


@pytest.mark.parametrize("settings", [
    dict(),
    dict(target_void_share=0.4, target_language_shares={"python": 0.5, "javascript": 0.5}),
    dict(target_length_shares={"<=16": 0.5, "<=64": 0.2, "<=256": 0.2, "<=1024": 0.1}, max_samples=150, seed=3),
])
def test_the_engine_chooses_what_the_reference_chooses(spark, settings):
    cfg = CurateConfig(**settings)
    rows = _survivors(1500, seed=len(settings))
    got = {(r["session_id"], r["request_id"]): r for r in choose(spark, spark.createDataFrame(rows, SURVIVORS), cfg).collect()}
    assert len(got) == len(rows) and list(next(iter(got.values())).asDict()) == list(CURATE_CHOICE.column_names)

    keys = [SampleKey(s, r, language, len(middle)) for s, r, _, language, middle, _ in rows]
    expected = {(rows[i][0], rows[i][1]) for i in proportion(
        keys, edges=cfg.length_bucket_edges, length_shares=cfg.target_length_shares, void_share=cfg.target_void_share,
        language_shares=cfg.target_language_shares, max_samples=cfg.max_samples, seed=cfg.seed)}
    assert expected and {key for key, r in got.items() if r["chosen"]} == expected
    for s, r, user, _, middle, perplexity in rows:
        row = got[(s, r)]
        assert row["length_bucket"] == length_bucket(len(middle), cfg.length_bucket_edges)
        assert row["split"] == split_of(user, validation_share=cfg.validation_share, seed=cfg.seed)
        assert row["perplexity"] == perplexity


def test_no_survivors_no_choice(spark):
    assert choose(spark, spark.createDataFrame([], SURVIVORS), CurateConfig()).collect() == []
