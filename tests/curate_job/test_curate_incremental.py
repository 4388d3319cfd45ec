"""Curate's per-row work done once, its global work cheap: dedup partitioned by a hash of language
and normalized middle gives the old per-language result; perplexity cut-offs and histograms by the
engine; per-gap verdicts MERGEd, so runs day after day give what one full run gives, and a changed
per-gap setting recomputes every verdict."""

from __future__ import annotations

import io

import pytest
from pyspark.sql import functions as F

from echo_spark.config import CurateConfig, EchoConfig, LakehouseConfig
from echo_spark.curate.duplicates import find_duplicates
from echo_spark.curate.job import (
    curate, dedup_incrementally, duplicate_candidates, find_duplicates_partitioned, metric_counts, perplexity_cutoffs,
)
from echo_spark.curate.proportion import length_bucket
from echo_spark.curate.proportion_spark import length_bucket_column
from echo_spark.curate.records import Gap
from echo_spark.curate.text import gap_window
from echo_spark.curate.verifiers.dedup import DedupSketch, dedup_key, sketch
from echo_spark.holdout import Holdout
from echo_spark.lakehouse import Lakehouse
from echo_spark.silver_digest import input_digest, with_input_digest
from echo_spark.progress import RowProgress
from echo_spark.tables import (
    COMPLETIONS, CURATE_DEDUP, CURATE_DUPLICATES, CURATE_SCORES, CURATE_VERDICTS, CURATION_DROPS, SFT_SAMPLES,
)

from ..checksums import table_checksums
from ..curate.stdlib_samples import stdlib_gaps
from ..curate.test_dedup import as_group
from .test_curate_job import _silver_row


def _old_dedup_by_language(rows: list[dict], config: CurateConfig) -> set[tuple[str, str, str]]:
    """The grouping curate used before (commit da5416a): one group per language, then samples with
    the same whitespace-normalized middle compared by their windows."""
    by_language: dict[str | None, list[dict]] = {}
    for row in rows:
        by_language.setdefault(row["language"], []).append(row)
    dropped = set()
    for group in by_language.values():
        by_middle: dict[str, list[dict]] = {}
        for row in group:
            by_middle.setdefault(" ".join((row["middle"] or "").split()), []).append(row)
        for same in by_middle.values():
            if len(same) < 2:
                continue
            keys = [f"{r['session_id']}\x1f{r['request_id']}" for r in same]
            found = find_duplicates(as_group([_sketch(r, config) for r in same], config), keys,
                                    threshold=config.dedup_threshold)
            dropped |= {(same[d.index]["session_id"], same[d.index]["request_id"], d.reason) for d in found}
    return dropped


def _sketch(row: dict, config: CurateConfig) -> DedupSketch:
    window = gap_window(Gap(row["request_id"], row["prefix"] or "", row["suffix"], row["middle"] or "", row["language"]),
                        config.dedup_context_chars)
    return sketch(window, num_perm=config.dedup_num_perm, shingle_tokens=config.dedup_shingle_tokens, seed=config.seed)


def _planted_kept_samples() -> list[dict]:
    """Kept samples with planted duplicates: exact copies, near copies (the prefix grown by a
    keystroke), the same middle spaced differently, the same middle in another language or with no
    language (never a duplicate of it), voids, and copies across sessions in scrambled order."""
    rows = []

    def add(i: int, session: str, language: str | None, prefix: str, middle: str, suffix: str | None) -> None:
        rows.append({"session_id": session, "request_id": f"r{i:03d}", "language": language, "prefix": prefix,
                     "suffix": suffix, "middle": middle, "dedup_key": dedup_key(language, middle)})

    gaps = stdlib_gaps(24)
    i = 0
    for n, (prefix, middle, suffix) in enumerate(gaps):
        add(i := i + 1, f"s{n % 5}", "python", prefix, middle, suffix)
        if n % 3 == 0:  # exact copy in another session
            add(i := i + 1, f"s{(n + 1) % 5}", "python", prefix, middle, suffix)
        if n % 4 == 0:  # a keystroke later: near duplicate
            add(i := i + 1, f"s{n % 5}", "python", prefix + middle[:1], middle, suffix)
        if n % 5 == 0:  # same middle, other spacing
            add(i := i + 1, f"s{n % 3}", "python", prefix, "  " + middle.replace(" ", "   ") + "\n", suffix)
        if n % 6 == 0:  # same text, other language, and none: other groups
            add(i := i + 1, f"s{n % 5}", "javascript", prefix, middle, suffix)
            add(i := i + 1, f"s{n % 5}", None, prefix, middle, suffix)
            add(i := i + 1, f"s{(n + 2) % 5}", None, prefix, middle, suffix)
        if n % 2 == 0:  # voids share one middle: compared by window only
            add(i := i + 1, f"s{n % 5}", "python", prefix, "", suffix)
    rows.reverse()  # arrival order must not matter
    return rows


# Worker processes for UDF bodies are how the embedded engine runs them on every core; other engines
# have their own Python workers (engine.udf_processes 0), where a pool in each would only be slower.
@pytest.mark.parametrize("processes", [0, pytest.param(2, marks=pytest.mark.sail_only)])
def test_dedup_partitioned_by_middle_gives_the_per_language_result(spark, processes):
    config = CurateConfig()
    rows = _planted_kept_samples()
    expected = _old_dedup_by_language(rows, config)
    kinds = {reason for _, _, reason in expected}
    assert kinds == {"exact_duplicate", "near_duplicate"} and len(expected) >= 15, expected
    df = _sketched_kept(spark, rows, config)

    def duplicates(found) -> set[tuple[str, str, str]]:
        return {(r["session_id"], r["request_id"], r["drop_reason"]) for r in found.collect() if r["drop_reason"]}

    every = find_duplicates_partitioned(df, config, processes)
    assert duplicates(every) == expected
    # Every member of a group of two or more comes back, with its digest and user, for curate_duplicates.
    members = {(r["session_id"], r["request_id"], r["input_sha256"], r["user_id"]) for r in every.collect()}
    assert members == {(r["session_id"], r["request_id"], r["input_sha256"], r["user_id"])
                       for r in duplicate_candidates(df).collect()}
    # In passes (as when the candidates outnumber DEDUP_ROWS_PER_PASS), each pass a share of the groups.
    found = [duplicates(find_duplicates_partitioned(df, config, processes, passes=3, part=part)) for part in range(3)]
    assert set().union(*found) == expected and sum(map(len, found)) == len(expected) and all(found)


def _sketched_kept(spark, rows: list[dict], config: CurateConfig):
    sketched = [{**r, "user_id": f"u{n % 4}", "input_sha256": f"in-{r['request_id']}", "dedup_exact": s.exact,
                 "dedup_shingles": list(s.shingles), "dedup_signature": list(s.signature)}
                for n, r in enumerate(rows) for s in [_sketch(r, config)]]
    return spark.createDataFrame(sketched, "session_id string, request_id string, user_id string, language string, "
                                           "prefix string, suffix string, middle string, dedup_key string, "
                                           "input_sha256 string, dedup_exact bigint, dedup_shingles array<bigint>, "
                                           "dedup_signature array<bigint>")


@pytest.mark.sail_only
def test_dedup_reuses_the_groups_whose_members_did_not_change(spark, lakehouse, capsys):
    config = CurateConfig()
    rows = _planted_kept_samples()

    def run(kept_rows, settings="v1"):
        found = dedup_incrementally(lakehouse, _sketched_kept(spark, kept_rows, config), config, settings)
        lakehouse.drop_local(CURATE_DEDUP)  # the run's scratch: a reused group must not need it
        message = [line for line in capsys.readouterr().err.splitlines() if "[curate] dedup:" in line]
        return {tuple(r) for r in found.collect()}, message[-1]

    expected = _old_dedup_by_language(rows, config)
    assert run(rows) == (expected, "[curate] dedup: every group (no results for these settings yet)")
    assert run(rows) == (expected, "[curate] dedup: 0 of the groups changed, the others' results reused")
    # A member leaves its group (a sample erased or newly dropped upstream): that group alone again.
    leaving = next(r for r in rows if any(r["request_id"] == d[1] for d in expected))
    fewer = [r for r in rows if r is not leaving]
    assert run(fewer) == (_old_dedup_by_language(fewer, config), "[curate] dedup: 1 of the groups changed, the others' results reused")
    # Another dedup setting (or another verdict settings digest): every group again.
    assert run(fewer, settings="v2")[1] == "[curate] dedup: every group (no results for these settings yet)"
    assert lakehouse.read(CURATE_DUPLICATES).select("settings_sha256").distinct().count() == 1


def test_length_histogram_buckets_by_the_engine_match_proportioning(spark):
    edges = [16, 64, 256, 1024]
    texts = ["", "a", "x" * 16, "x" * 17, "y" * 64, "y" * 65, "z" * 1024, "z" * 1025, None]
    df = spark.createDataFrame([(t,) for t in texts], "t string")
    got = [r["b"] for r in df.select(length_bucket_column("t", edges).alias("b")).collect()]
    assert got == [None if t is None else length_bucket(len(t), edges) for t in texts]


def test_metric_counts_count_silver_gold_and_drops_in_one_aggregation(spark):
    silver = spark.createDataFrame([("r1",), ("r2",), ("r3",), ("r4",)], "request_id string")
    gold = spark.createDataFrame([("train", "python", False, []), ("train", "python", True, ["SECRET"]),
                                  ("train", "python", True, ["SECRET"]), ("validation", "cpp", False, [])],
                                 "split string, language string, is_void boolean, redactions array<string>")
    drops = spark.createDataFrame([("dedup", "exact_duplicate")], "stage string, reason string")
    # kind, split, language, void, redacted, stage, reason -> rows
    got = {tuple(r)[:-1]: r["n"] for r in metric_counts(silver, gold, drops).collect()}
    assert got == {
        ("silver", None, None, None, None, None, None): 4,
        ("gold", "train", "python", False, False, None, None): 1,
        ("gold", "train", "python", True, True, None, None): 2,
        ("gold", "validation", "cpp", False, False, None, None): 1,
        ("drop", None, None, None, None, "dedup", "exact_duplicate"): 1,
    }


def test_perplexity_cutoffs_do_not_depend_on_partitioning(spark):
    import random

    rng = random.Random(11)
    values = [rng.lognormvariate(2, 1) for _ in range(4001)]
    cutoffs = {perplexity_cutoffs(spark.createDataFrame([(v,) for v in values], "perplexity double").repartition(n),
                                  0.01, 0.99) for n in (1, 3, 8)}
    assert len(cutoffs) == 1
    [(low, high)] = cutoffs
    # About 1% of the scores on each side, as the rank statistic: 40 of 4,001.
    assert 38 <= sum(v < low for v in values) <= 42 and 38 <= sum(v > high for v in values) <= 42


def test_row_progress_says_rows_rate_and_time_left():
    now = [0.0]
    out = io.StringIO()
    progress = RowProgress("curate per-gap", 1000, every_s=10.0, clock=lambda: now[0], out=out)
    now[0] = 5.0
    assert progress.add(100) is None  # too soon
    now[0] = 10.0
    assert progress.add(100) == "[curate per-gap] 200/1,000 rows, 20 rows/s, 40s left"
    now[0] = 11.0
    assert progress.add(800) == "[curate per-gap] 1,000/1,000 rows, 91 rows/s, 0s left"  # the last always
    assert out.getvalue().count("\n") == 2


# -- incremental runs --------------------------------------------------------------------------

def _row(request_id: str, user: str, prefix: str, middle: str | None, suffix: str | None, language: str = "python") -> dict:
    return _silver_row(request_id, user, language, prefix, suffix, middle)


def _days() -> list[list[dict]]:
    """Three days of silver. Day 3 brings copies of day-1 samples whose request ids sort first (so
    day 1's kept sample becomes the duplicate), and a day-1 row rewritten (a later lifecycle run
    changed its C_N)."""
    gaps = stdlib_gaps(90)
    rows = [_row(f"r{i:03d}", f"u{i % 13}", p, m if i % 7 else "", s) for i, (p, m, s) in enumerate(gaps)]
    rows.append(_row("r900", "u1", "x = ", None, "\n"))  # C_N unknown
    day1, day2, day3 = rows[:40], rows[40:70], rows[70:]
    day3 += [_row(f"a{i:03d}", f"u{i % 5}", r["prefix"], r["committed"], r["suffix"]) for i, r in enumerate(day1[1:30:4])]
    return [day1, day2, day3]


def _changed(row: dict) -> dict:
    return {**row, "committed": "return None", "is_void": False}


def _write_silver(spark, lakehouse: Lakehouse, rows: list[dict]) -> None:
    lakehouse.overwrite(COMPLETIONS, spark.createDataFrame(rows, COMPLETIONS.schema))


def _config(root) -> EchoConfig:
    config = EchoConfig(lakehouse=LakehouseConfig(root=str(root)))
    config.train.base.dir = str(root / "no-model")
    config.curate.max_samples = 45  # proportioning chooses: it too must see the whole set
    return config


@pytest.mark.sail_only
def test_incremental_runs_day_after_day_equal_one_full_run(spark, tmp_path, monkeypatch):
    from echo_spark.curate import job as curate_job

    days = _days()
    # The daily runs dedup in passes of 3 candidates (day 3's copies make 16), the full run in one.
    monkeypatch.setattr(curate_job, "DEDUP_ROWS_PER_PASS", 3)
    config = _config(tmp_path / "daily")
    daily = Lakehouse(spark, config.lakehouse)
    holdout = Holdout.of(config.evaluate)
    trainable = lambda rows: sum(not holdout.holds_out(r["user_id"]) for r in rows)  # noqa: E731
    # A day-1 row of a user not held out (the default holdout holds a hashed 10% out) changes on day 3.
    changed = next(i for i, r in enumerate(days[0]) if r["committed"] and not holdout.holds_out(r["user_id"]))
    assert trainable(days[0]) < len(days[0])  # the holdout is in play too
    silver: list[dict] = []
    computed = []
    for number, day in enumerate(days):
        silver += day
        if number == 2:
            silver[changed] = _changed(silver[changed])
        _write_silver(spark, daily, silver)
        computed.append(curate(spark, daily, config)["verdicts_computed"])
    # Only the new rows (and the changed one) were verified each day.
    assert computed == [trainable(days[0]), trainable(days[1]), trainable(days[2]) + 1]
    [verdict] = daily.read(CURATE_VERDICTS).filter(F.col("request_id") == silver[changed]["request_id"]).collect()
    assert verdict["committed_chars"] == len("return None")

    monkeypatch.undo()
    full_config = _config(tmp_path / "full")
    full = Lakehouse(spark, full_config.lakehouse)
    _write_silver(spark, full, silver)
    assert curate(spark, full, full_config)["verdicts_computed"] == trainable(silver)

    daily_sums = table_checksums(daily, [SFT_SAMPLES, CURATION_DROPS])
    assert daily_sums == table_checksums(full, [SFT_SAMPLES, CURATION_DROPS])
    # The global stages ran over the whole set: day 3's copies displaced day 1's samples, and
    # proportioning capped gold.
    drops = {r["request_id"]: (r["stage"], r["reason"]) for r in full.read(CURATION_DROPS).collect()}
    assert any(stage == "dedup" and rid.startswith("r0") for rid, (stage, _) in drops.items())
    assert any(stage == "proportion" for stage, _ in drops.values())
    assert daily_sums[SFT_SAMPLES.name][0] == 45


@pytest.mark.sail_only
def test_a_per_gap_setting_recomputes_every_verdict_a_global_one_none(spark, tmp_path):
    config = _config(tmp_path / "lh")
    lakehouse = Lakehouse(spark, config.lakehouse)
    silver = [row for day in _days() for row in day]
    _write_silver(spark, lakehouse, silver)
    first = curate(spark, lakehouse, config)
    trainable = first["verdicts_computed"]
    assert trainable > 50 and first["verdicts_reused"] == 0

    assert curate(spark, lakehouse, config)["verdicts_computed"] == 0  # nothing new
    config.curate.validation_share = 0.3  # read by the split only
    again = curate(spark, lakehouse, config)
    assert (again["verdicts_computed"], again["verdicts_reused"]) == (0, trainable)

    config.curate.identifier_strictness = "strict"  # read by the identifiers stage
    changed = curate(spark, lakehouse, config)
    assert (changed["verdicts_computed"], changed["verdicts_reused"]) == (trainable, 0)
    assert {r[0] for r in lakehouse.read(CURATE_VERDICTS).select("config_sha256").distinct().collect()} == {
        changed["verdicts_config_sha256"]}
    assert changed["verdicts_config_sha256"] != first["verdicts_config_sha256"]
    # The stricter check drops more, exactly as a run from nothing under that setting.
    assert changed["dropped_by_stage"]["identifiers"] != first["dropped_by_stage"].get("identifiers")
    incremental = table_checksums(lakehouse, [SFT_SAMPLES, CURATION_DROPS])
    curate(spark, lakehouse, config, recompute=True)
    assert table_checksums(lakehouse, [SFT_SAMPLES, CURATION_DROPS]) == incremental


@pytest.mark.sail_only
def test_perplexity_outliers_from_scores_joined_back(spark, tmp_path):
    """With the shipped base model as scorer: every gold sample carries its score (joined back from
    the scores table), and the samples beyond the quantiles, by the engine's cut-offs, are the drops."""
    from pathlib import Path

    model = Path(__file__).resolve().parents[2] / "models" / "echo-base"
    config = _config(tmp_path / "lh")
    config.curate.max_samples = None
    config.curate.perplexity_model = str(model)
    config.curate.perplexity_low_quantile, config.curate.perplexity_high_quantile = 0.1, 0.9
    lakehouse = Lakehouse(spark, config.lakehouse)
    _write_silver(spark, lakehouse, _days()[0] + _days()[1])
    metrics = curate(spark, lakehouse, config)
    assert metrics["perplexity"] == "scored with " + str(model)
    gold = lakehouse.read(SFT_SAMPLES).collect()
    outliers = lakehouse.read(CURATION_DROPS).filter(F.col("stage") == "perplexity").collect()
    scored = len(gold) + len(outliers)
    assert gold and all(r["perplexity"] and r["perplexity"] > 1 for r in gold)
    assert {r["reason"] for r in outliers} == {"perplexity_below_quantile", "perplexity_above_quantile"}
    # About 10% on each side of the scored samples.
    for reason in ("perplexity_below_quantile", "perplexity_above_quantile"):
        assert abs(sum(r["reason"] == reason for r in outliers) - 0.1 * scored) <= 2
    assert metrics["gold"] + metrics["dropped"] == metrics["silver"]


@pytest.mark.sail_only
def test_perplexity_scores_new_samples_only_and_all_under_another_scorer(spark, tmp_path, capsys):
    """Scores are per sample (curate_scores): a run scores only the samples it has not scored, and
    every sample again when what a score depends on (here the scoring context) changed."""
    from pathlib import Path

    config = _config(tmp_path / "lh")
    config.curate.max_samples = None
    config.curate.perplexity_model = str(Path(__file__).resolve().parents[2] / "models" / "echo-base")
    lakehouse = Lakehouse(spark, config.lakehouse)
    day1, day2, _ = _days()
    _write_silver(spark, lakehouse, day1)
    curate(spark, lakehouse, config)
    first = {r["request_id"]: r["perplexity"] for r in lakehouse.read(CURATE_SCORES).collect()}
    capsys.readouterr()

    _write_silver(spark, lakehouse, day1 + day2)
    curate(spark, lakehouse, config)
    scores = {r["request_id"]: r["perplexity"] for r in lakehouse.read(CURATE_SCORES).collect()}
    new = set(scores) - set(first)
    assert first and new
    assert f"perplexity: {len(new):,} samples to score" in capsys.readouterr().err
    assert all(scores[request] == first[request] for request in first)
    assert {r["request_id"] for r in lakehouse.read(SFT_SAMPLES).collect()} <= set(scores)

    config.curate.perplexity_context_tokens = 128
    curate(spark, lakehouse, config)
    assert f"perplexity: {len(scores):,} samples to score" in capsys.readouterr().err


def test_the_input_digest_tells_apart_rows_that_differ_in_any_column_the_stages_read(spark):
    """A text moved across the cursor, a null against an empty text, a changed short column: each a
    new digest, so the row is verified again; the same row, the same digest."""
    base = _silver_row("r", "u", "python", "def f(x):\n    ret", "\n", "urn x", "urn")
    variants = [
        base, dict(base),
        {**base, "prefix": "def f(x):\n    re", "suffix": "t\n"}, {**base, "prefix": "def f(x):\n    ret\n", "suffix": ""},
        {**base, "suffix": None}, {**base, "suffix": ""}, {**base, "proposal": None}, {**base, "proposal": ""},
        {**base, "committed": None}, {**base, "committed": ""}, {**base, "committed": "urn x "},
        {**base, "event_ids": ["e-r", "e-s"]}, {**base, "event_ids": ["e-r,e-s"]}, {**base, "event_ids": []},
        {**base, "event_ids": None}, {**base, "outcome": "accepted"}, {**base, "max_silence_s": 2.5},
        {**base, "max_silence_s": 0.0}, {**base, "gap_open_at_last_sighting": True},
        {**base, "gap_open_at_last_sighting": False}, {**base, "doc_id": None}, {**base, "doc_id": ""},
        {**base, "prefix": "2:", "suffix": "\n"}, {**base, "prefix": "", "suffix": "2:\n"},
    ]
    digests = [r["d"] for r in spark.createDataFrame(variants, COMPLETIONS.schema).select(
        input_digest().alias("d")).collect()]
    assert digests[0] == digests[1]
    assert len(set(digests)) == len(variants) - 1


def test_a_stored_digest_is_kept_and_a_missing_one_computed(spark):
    """Both branches of with_input_digest: a row keeps the digest lifecycle stored, a row without
    one gets input_digest, and a silver without the column gets it for every row; nothing lost."""
    rows = [{**_silver_row(f"r{i}", "u", "python", f"x = {i}\n", "\n", "y", "y"),
             "input_sha256": "stored" if i % 2 else None} for i in range(6)]
    silver = spark.createDataFrame(rows, COMPLETIONS.schema)
    computed = {r["request_id"]: r["d"] for r in silver.select("request_id", input_digest().alias("d")).collect()}
    got = {r["request_id"]: r["input_sha256"] for r in with_input_digest(silver, ["request_id"]).collect()}
    assert got == {r["request_id"]: r["input_sha256"] or computed[r["request_id"]] for r in rows}
    legacy = silver.drop("input_sha256")
    assert {r["request_id"]: r["input_sha256"] for r in with_input_digest(legacy, ["request_id"]).collect()} == computed


@pytest.mark.sail_only
def test_curate_keys_verdicts_by_the_digest_lifecycle_stored_and_computes_a_missing_one(spark, lakehouse, config):
    from .test_curate_job import CLEAN

    rows = [{**_silver_row(f"c{i}", f"u{i}", *clean), "input_sha256": f"stored-{i}" if i % 2 == 0 else None}
            for i, clean in enumerate(CLEAN * 2)]
    lakehouse.append(COMPLETIONS, spark.createDataFrame(rows, COMPLETIONS.schema))
    curate(spark, lakehouse, config)
    computed = {r["request_id"]: r["d"] for r in lakehouse.read(COMPLETIONS).select("request_id", input_digest().alias("d")).collect()}
    verdicts = {r["request_id"]: r["input_sha256"] for r in lakehouse.read(CURATE_VERDICTS).collect()}
    expected = {r["request_id"]: r["input_sha256"] or computed[r["request_id"]] for r in rows}
    assert verdicts and verdicts == {k: expected[k] for k in verdicts}
    assert {v.startswith("stored-") for v in verdicts.values()} == {True, False}
