"""The evaluation holdout is pipeline policy: held-out users never reach a training table (curate's
gold, the accepted-only table), evaluate replays their requests, the simulator lists its held-out
cohort and the demo holds it out through the same setting."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path

import pytest

from echo_spark.config import EchoConfig, load_config
from echo_spark.curate.job import HOLDOUT_REASON, HOLDOUT_STAGE, curate
from echo_spark.errors import UsageError
from echo_spark.curate.accepted_only import build_accepted_only
from echo_spark.holdout import Holdout, read_user_list, user_fraction
from echo_spark.tables import COMPLETIONS, CURATION_DROPS, SFT_ACCEPTED_ONLY, SFT_SAMPLES

from .curate_job.test_curate_job import CLEAN


def _row(request_id: str, user: str, language: str, prefix: str, suffix: str | None, committed: str | None,
         outcome: str = "rejected", proposal: str | None = None) -> dict:
    return {
        "request_id": request_id, "session_id": f"s-{user}", "user_id": user, "doc_id": f"d-{request_id}",
        "language": language, "request_ts": datetime(2026, 1, 1, tzinfo=timezone.utc), "prefix": prefix,
        "suffix": suffix, "proposal": proposal, "outcome": outcome, "committed": committed,
        "is_void": committed == "" if committed is not None else None, "finalize_reason": "left_region",
        "tracking_mode": "edits", "request_event_id": f"e-{request_id}", "event_ids": [f"e-{request_id}"],
    }


def _clean_silver(spark, lakehouse) -> list[dict]:
    # CLEAN's row i belongs to user u{i}; c0, c1 and c3 reach gold when no one is held out.
    rows = [_row(f"c{i}", f"u{i}", *gap) for i, gap in enumerate(CLEAN)]
    lakehouse.append(COMPLETIONS, spark.createDataFrame(rows, COMPLETIONS.schema))
    return rows


def _with(config: EchoConfig, **evaluate) -> EchoConfig:
    return config.model_copy(update={"evaluate": config.evaluate.model_copy(update=evaluate)})


def test_the_hash_is_stable_seeded_and_close_to_the_share():
    assert user_fraction("u-1", 7) == user_fraction("u-1", 7) != user_fraction("u-1", 8)
    users = [f"user-{i}" for i in range(20_000)]
    held = Holdout(0.1, 7).of_users(users)
    assert 0.09 < len(held) / len(users) < 0.11
    assert Holdout(0.0, 7).of_users(users) == [] and not Holdout().holds_anyone
    assert Holdout(0.0, 7, frozenset({"user-3"})).of_users(users) == ["user-3"]
    assert not Holdout(0.5, 7).holds_out(None)


@pytest.mark.sail_only
def test_a_listed_user_never_reaches_gold_and_is_accounted_for(spark, lakehouse, config, tmp_path):
    rows = _clean_silver(spark, lakehouse)
    baseline = curate(spark, lakehouse, _with(config, holdout_share=0.0))
    assert {"c0", "c1", "c3"} <= {r["request_id"] for r in lakehouse.read(SFT_SAMPLES).collect()}
    assert HOLDOUT_STAGE not in baseline["dropped_by_stage"]

    listed = tmp_path / "heldout.txt"
    listed.write_text("# held out\nu0\n", encoding="utf-8")
    metrics = curate(spark, lakehouse, _with(config, holdout_share=0.0, holdout_users=str(listed)))
    gold = lakehouse.read(SFT_SAMPLES).collect()
    drops = {r["request_id"]: (r["stage"], r["reason"]) for r in lakehouse.read(CURATION_DROPS).collect()}
    assert "u0" not in {r["user_id"] for r in gold}
    assert {r["request_id"] for r in gold} >= {"c1", "c3"}
    assert drops["c0"] == (HOLDOUT_STAGE, HOLDOUT_REASON)
    assert metrics["gold"] + metrics["dropped"] == metrics["silver"] == len(rows)
    assert metrics["heldout_users"] == 1 and metrics["dropped_by_stage"][HOLDOUT_STAGE] == {HOLDOUT_REASON: 1}


@pytest.mark.sail_only
def test_hashed_users_never_reach_gold(spark, lakehouse, config):
    _clean_silver(spark, lakehouse)
    curate(spark, lakehouse, _with(config, holdout_share=0.0))
    before = {r["request_id"]: r["user_id"] for r in lakehouse.read(SFT_SAMPLES).collect()}
    policy = _with(config, holdout_share=0.5, holdout_seed=7)
    held = set(Holdout.of(policy.evaluate).of_users(before.values()))
    assert held and held != set(before.values()), "the seed must hold out some of the gold users, not all"
    curate(spark, lakehouse, policy)
    after = {r["request_id"] for r in lakehouse.read(SFT_SAMPLES).collect()}
    assert after == {request for request, user in before.items() if user not in held}


@pytest.mark.sail_only
def test_held_out_users_never_reach_the_accepted_only_table(spark, lakehouse, config, tmp_path):
    rows = [_row(f"a{i}", f"u{i}", "python", "x = ", "\n", f"compute({i})", "accepted", f"compute({i})") for i in range(5)]
    lakehouse.append(COMPLETIONS, spark.createDataFrame(rows, COMPLETIONS.schema))
    build_accepted_only(spark, lakehouse, _with(config, holdout_share=0.0))
    assert {r["user_id"] for r in lakehouse.read(SFT_ACCEPTED_ONLY).collect()} == {f"u{i}" for i in range(5)}
    listed = tmp_path / "heldout.txt"
    listed.write_text("u1\nu3\n", encoding="utf-8")
    metrics = build_accepted_only(spark, lakehouse, _with(config, holdout_share=0.0, holdout_users=str(listed)))
    assert {r["user_id"] for r in lakehouse.read(SFT_ACCEPTED_ONLY).collect()} == {"u0", "u2", "u4"}
    assert metrics["samples"] == 3


@pytest.mark.sail_only
def test_evaluate_reads_the_held_out_users_requests_from_silver(spark, lakehouse, config):
    from echo_spark.evaluate.job import _silver_heldout

    rows = [_row(f"r{i}", f"user-{i % 40}", "python", f"v{i} = ", "\n", f"compute({i})") for i in range(200)]
    rows.append(_row("unknown", "user-0", "python", "x = ", "\n", None))
    lakehouse.append(COMPLETIONS, spark.createDataFrame(rows, COMPLETIONS.schema))
    cfg = _with(config, holdout_share=0.3, holdout_seed=7, max_requests=0)
    policy = Holdout.of(cfg.evaluate)
    expected = {r["request_id"] for r in rows if policy.holds_out(r["user_id"]) and r["committed"] is not None}
    assert 0 < len(expected) < 200
    requests, cohort, source = _silver_heldout(cfg, policy, lakehouse)
    assert {r.request_id for r in requests} == expected
    assert cohort == policy.of_users(r["user_id"] for r in rows)
    assert all(r.target == r.intended == r.committed for r in requests)  # one-line units: C_N is the unit
    assert source.label.startswith("completions@v")
    # Its lineage (the runs' dataset source) is silver's address and the version read.
    assert (source.table, source.version) == (lakehouse.address(COMPLETIONS), lakehouse.version(COMPLETIONS))
    # A sample: the same requests whatever the run, a subset of the held-out ones.
    sampled = _with(cfg, max_requests=5)
    first, _, _ = _silver_heldout(sampled, policy, lakehouse)
    again, _, _ = _silver_heldout(sampled, policy, lakehouse)
    assert [r.request_id for r in first] == [r.request_id for r in again] and len(first) == 5
    assert {r.request_id for r in first} <= expected
    with pytest.raises(UsageError, match="no held-out user"):
        _silver_heldout(_with(config, holdout_share=0.0), Holdout(), lakehouse)


def test_simulate_writes_its_held_out_cohort_and_evaluate_requires_it_held_out(tmp_path):
    from echo_spark.evaluate.heldout import heldout_users
    from echo_spark.evaluate.job import _simulated_heldout
    from echo_spark.simulate.cohorts import HELDOUT_USERS_FILE
    from echo_spark.simulate.job import run

    out = tmp_path / "sim"
    config = load_config(None, ["simulate.users=5", "simulate.heldout_share=0.4", "simulate.corpus_max_files=100"])
    args = argparse.Namespace(out=str(out), events=1500, seed=7, corpus=None, mode=None, users=None, overwrite=False)
    run(config, args)
    listed = read_user_list(out / HELDOUT_USERS_FILE)
    assert listed and set(heldout_users(out)) <= listed

    cfg = _with(config, simulation_dir=str(out), holdout_share=0.0, max_requests=0)
    with pytest.raises(UsageError, match="evaluate.holdout_users="):
        _simulated_heldout(cfg, Holdout.of(cfg.evaluate))
    cfg = _with(cfg, holdout_users=str(out / HELDOUT_USERS_FILE))
    requests, cohort, _ = _simulated_heldout(cfg, Holdout.of(cfg.evaluate))
    assert requests and {r.user_id for r in requests} <= listed and set(cohort) <= listed


def test_the_demo_holds_its_cohort_out_through_the_same_setting(tmp_path):
    from echo_spark.demo import _holding_out
    from echo_spark.simulate.cohorts import HELDOUT_USERS_FILE

    (tmp_path / HELDOUT_USERS_FILE).write_text("u-a\nu-b\n", encoding="utf-8")
    config = _holding_out(EchoConfig(), tmp_path, [])
    assert config.evaluate.holdout_users == str(tmp_path / HELDOUT_USERS_FILE) and config.evaluate.holdout_share == 0
    assert config.privacy.opt_out_list is None  # no longer opted out: they reach silver, not training
    kept = _holding_out(EchoConfig(), tmp_path, ["evaluate.holdout_share=0.2"])
    assert kept.evaluate.holdout_share == 0.1  # the command line's value, as the profile applied it, is left alone
    extra = tmp_path / "extra.txt"
    extra.write_text("u-c\n", encoding="utf-8")
    merged = _holding_out(_with(EchoConfig(), holdout_users=str(extra)), tmp_path, [])
    assert read_user_list(Path(merged.evaluate.holdout_users)) == {"u-a", "u-b", "u-c"}
