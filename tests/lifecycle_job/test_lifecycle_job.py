"""The lifecycle job on the embedded engine: silver from bronze, incremental, every request accounted for."""

import json
from datetime import datetime, timezone

import pytest
from pyspark.sql import functions as F

from echo_spark.config import LifecycleConfig
from echo_spark.ingest.job import ingest
from echo_spark.lifecycle.job import lifecycle, sessions_with_new_events, summary_counts, summary_measures, track_documents
from echo_spark.silver_digest import input_digest
from echo_spark.tables import COMPLETIONS, EVENTS, JOB_RUNS, ORPHANS


def _session(session_id: str, doc: str, typed: str, t0: int) -> list[dict]:
    """An edit-telemetry session: open, request, reject, the user types `typed`, close."""
    events = [
        {"type": "session_start", "position_encoding": "utf-16", "client": {"name": "t", "version": "1"}},
        {"type": "doc_open", "doc_id": "d", "version": 1, "text": doc},
        {"type": "completion_request", "doc_id": "d", "request_id": f"{session_id}-r1", "offset": doc.index("|"),
         "trigger": "auto"},
        {"type": "completion_shown", "doc_id": "d", "request_id": f"{session_id}-r1", "text": "wrong()", "model": "m"},
        {"type": "completion_reject", "doc_id": "d", "request_id": f"{session_id}-r1", "reason": "typed_over"},
    ]
    offset = doc.index("|")
    for i, ch in enumerate(typed):
        events.append({"type": "doc_change", "doc_id": "d", "version": 2 + i,
                       "changes": [{"offset": offset + i, "length": 0, "text": ch}]})
    events += [{"type": "doc_close", "doc_id": "d", "version": 99}, {"type": "session_end"}]
    for seq, event in enumerate(events, start=1):
        event.update(event_id=f"{session_id}-e{seq}", session_id=session_id, seq=seq, ts=t0 + seq * 1000, user_id="u1")
    return events


def _write(landing, name: str, events: list[dict]) -> None:
    landing.write(name, b"".join(json.dumps(e, ensure_ascii=False).encode() + b"\n" for e in events))


@pytest.mark.sail_only
def test_real_logs_every_request_is_accounted_for(spark, lakehouse, config, real_data):
    ingest(spark, lakehouse, config, str(real_data))
    metrics = lifecycle(spark, lakehouse, config)
    events = lakehouse.read(EVENTS)
    requests = events.filter(F.col("type") == "completion_request").select("session_id", "request_id").distinct()
    silver = lakehouse.read(COMPLETIONS)
    assert silver.count() == requests.count() == metrics["completions"]
    assert metrics["requests_unaccounted"] == 0
    # Every row carries the input digest curate would compute from it.
    assert silver.filter(F.col("input_sha256").isNull() | (F.col("input_sha256") != input_digest())).count() == 0
    # Completion events with no request are orphans with a reason, not lost.
    completion_events = events.filter(F.col("type").isin("completion_shown", "completion_accept", "completion_reject"))
    tied = completion_events.join(requests, ["session_id", "request_id"], "left_semi").count()
    assert lakehouse.read(ORPHANS).count() == completion_events.count() - tied
    assert lakehouse.read(ORPHANS).filter(F.col("reason").isNull()).count() == 0


@pytest.mark.sail_only
def test_rerun_writes_nothing_and_new_sessions_are_tracked_alone(spark, lakehouse, config, landing):
    _write(landing, "a.jsonl", _session("s1", "def f(x):\n    return |\n", "x + 1", 1_714_550_400_000))
    ingest(spark, lakehouse, config, str(landing.root))
    first = lifecycle(spark, lakehouse, config)
    assert first["sessions_tracked"] == 1 and first["completions"] == 1
    row = lakehouse.read(COMPLETIONS).collect()[0]
    assert row["committed"] == "x + 1" and row["outcome"] == "rejected" and row["proposal"] == "wrong()"

    versions = {t.name: lakehouse.version(t) for t in (COMPLETIONS, ORPHANS)}
    again = lifecycle(spark, lakehouse, config)
    assert again["sessions_tracked"] == 0
    assert {t.name: lakehouse.version(t) for t in (COMPLETIONS, ORPHANS)} == versions

    _write(landing, "b.jsonl", _session("s2", "print(|)\n", "'hi'", 1_714_550_500_000))
    ingest(spark, lakehouse, config, str(landing.root))
    third = lifecycle(spark, lakehouse, config)
    assert third["sessions_tracked"] == 1
    committed = {r["session_id"]: r["committed"] for r in lakehouse.read(COMPLETIONS).collect()}
    assert committed == {"s1": "x + 1", "s2": "'hi'"}
    assert lakehouse.read(JOB_RUNS).filter(F.col("job") == "lifecycle").count() == 2


@pytest.mark.sail_only
def test_tracking_in_passes_equals_one_pass(spark, config, landing, tmp_path):
    """Sessions split across passes (by hash, to bound memory) give the silver of a single pass."""
    from chispa import assert_df_equality

    from echo_spark.lakehouse import Lakehouse

    for i in range(6):
        _write(landing, f"{i}.jsonl", _session(f"s{i}", f"v{i} = |\n", f"{i} + {i}", 1_714_550_400_000 + i * 100_000))
    silver = {}
    for per_pass in (10_000, 12):
        run = config.model_copy(deep=True)
        run.lifecycle.events_per_pass = per_pass
        run.lakehouse.root = str(tmp_path / f"lh{per_pass}")
        lakehouse = Lakehouse(spark, run.lakehouse)
        ingest(spark, lakehouse, run, str(landing.root))
        metrics = lifecycle(spark, lakehouse, run)
        assert metrics["completions"] == 6
        silver[metrics["passes"]] = lakehouse.read(COMPLETIONS).orderBy("request_id")
    assert sorted(silver) == [1, 6]
    assert_df_equality(silver[1], silver[6])


def _bronze(spark, events: list[dict]):
    """Bronze-shaped rows built in memory (no Delta I/O)."""
    rows = []
    for event in events:
        row = {c: None for c in EVENTS.column_names}
        row.update({k: v for k, v in event.items() if k in row})
        row["ts"] = datetime.fromtimestamp(event["ts"] / 1000, tz=timezone.utc)
        rows.append(row)
    return spark.createDataFrame(rows, EVENTS.schema)


def test_tracking_runs_on_every_backend(spark):
    """Tracked through applyInArrow."""
    df = _bronze(spark, _session("s9", "x = |\n", "42", 1_714_550_400_000))
    staged = track_documents(df, LifecycleConfig()).collect()
    completions = [r for r in staged if r["record_kind"] == "completion"]
    assert [(r["request_id"], r["committed"], r["tracking_mode"]) for r in completions] == [("s9-r1", "42", "edits")]


def test_the_sessions_with_new_events_come_whole_by_their_ids_or_past_the_bound_by_a_join(spark):
    day = lambda d: datetime(2026, 1, d, tzinfo=timezone.utc)  # noqa: E731
    events = spark.createDataFrame(
        [("e1", "s1", day(1)), ("e2", "s1", day(3)), ("e3", "s2", day(1)), ("e4", "s3", day(4)), ("e5", "s3", day(2))],
        "event_id string, session_id string, ingested_at timestamp")

    def picked(since: datetime, literals_max: int) -> list[str]:
        return sorted(r["event_id"] for r in sessions_with_new_events(events, since, literals_max).collect())

    for literals_max in (20_000, 1):  # s1 and s3 by their ids; past one id, by the semi join
        assert picked(day(2), literals_max) == ["e1", "e2", "e4", "e5"]
    assert picked(day(3), 1) == ["e4", "e5"]
    assert picked(day(9), 20_000) == []


def test_the_summary_comes_from_one_aggregation_of_requests_and_staged_rows(spark):
    """A shown event for no request is an orphan; a request the tracker never saw is unaccounted."""
    events = _session("s9", "x = |\n", "42", 1_714_550_400_000)
    stray = dict(events[3], event_id="s9-stray", request_id="nope", seq=50)
    lost = dict(events[2], event_id="s8-e1", session_id="s8", request_id="s8-r1", doc_id=None)
    scope = _bronze(spark, events + [stray, lost])
    staged = track_documents(scope, LifecycleConfig())
    measures = summary_measures(summary_counts(scope, staged).collect())
    assert measures == {
        "requests": 2, "completions": 1, "requests_unaccounted": 1, "void": 0, "committed_unknown": 0,
        "by_outcome": {"rejected": 1}, "by_finalize_reason": {"doc_closed": 1}, "by_tracking_mode": {"edits": 1},
        "orphans": 1, "orphans_by_reason": {"no_request": 1},
    }


@pytest.mark.sail_only
def test_opted_out_sessions_never_get_past_bronze(spark, lakehouse, config, landing, tmp_path):
    flagged = _session("s-flag", "a = |\n", "1", 1_714_550_400_000)
    flagged[0]["opt_out"] = True  # an event field on the session
    listed = [dict(e, user_id="u-listed") for e in _session("s-list", "b = |\n", "2", 1_714_550_500_000)]
    kept = _session("s-kept", "c = |\n", "3", 1_714_550_600_000)
    _write(landing, "a.jsonl", flagged + listed + kept)
    opt_out = tmp_path / "opt-out.txt"
    opt_out.write_text("# users who opted out\nu-listed\n")
    config.privacy.opt_out_list = str(opt_out)

    ingest(spark, lakehouse, config, str(landing.root))
    metrics = lifecycle(spark, lakehouse, config)

    assert metrics["sessions_opted_out"] == 2
    assert {r["session_id"] for r in lakehouse.read(COMPLETIONS).collect()} == {"s-kept"}
    assert lakehouse.read(ORPHANS).filter(F.col("session_id") != "s-kept").count() == 0
    assert lakehouse.read(EVENTS).select("session_id").distinct().count() == 3  # bronze keeps the raw record


@pytest.mark.sail_only
def test_replace_start_reaches_the_tracker_and_an_older_silver_gains_new_columns(spark, lakehouse, config, landing):
    """completion_shown.replace_start sits in bronze's `extra` (no column of its own): the job ships
    it to the tracker, which measures C1 from there. And a silver table written before
    `committed_observed` existed gains the column instead of failing the MERGE."""
    import dataclasses

    older = dataclasses.replace(COMPLETIONS, columns=tuple(c for c in COMPLETIONS.columns if c.name != "committed_observed"))
    lakehouse.ensure(older)
    doc = "def f(x):\n    y = (|\n"
    events = _session("s1", doc, "(x)", 1_714_550_400_000)
    shown, verdict = events[3], events[4]
    # The text starts at the cursor, though the prefix happens to end with its head "(".
    shown.update(text="(x)", replace_start=doc.index("|"))
    verdict.update(type="completion_accept")
    del verdict["reason"]
    _write(landing, "a.jsonl", events)
    ingest(spark, lakehouse, config, str(landing.root))
    lifecycle(spark, lakehouse, config)
    row = lakehouse.read(COMPLETIONS).collect()[0]
    assert (row["committed"], row["c1_edit_distance"], row["committed_observed"]) == ("(x)", 0, True)


@pytest.mark.sail_only
def test_a_prepared_tracker_worker_imports_nothing_for_its_first_group(spark, lakehouse, config, landing, tmp_path):
    """What `prepare_tracker` loads in a UDF worker while the engine starts is everything a first
    group needs: left to the group, the tracker and pandas took each worker about 1.2 s."""
    import subprocess
    import sys

    import pyarrow as pa

    from echo_spark.lifecycle.job import with_session_facts

    _write(landing, "a.jsonl", _session("s1", "def f(x):\n    return |\n", "x + 1", 1_714_550_400_000))
    ingest(spark, lakehouse, config, str(landing.root))
    group = with_session_facts(lakehouse.read(EVENTS)).toArrow()
    with pa.OSFile(str(tmp_path / "group.arrow"), "wb") as sink, pa.ipc.new_file(sink, group.schema) as writer:
        writer.write_table(group)
    script = """
import sys
import pyarrow as pa
from echo_spark.config import LifecycleConfig
from echo_spark.lifecycle.job import prepare_tracker, track_table
group = pa.ipc.open_file(sys.argv[1]).read_all()
prepare_tracker(LifecycleConfig())
before = set(sys.modules)
staged = track_table(LifecycleConfig(), group)
assert staged.column("record_kind").to_pylist() == ["completion"], staged.to_pylist()
print(sorted(set(sys.modules) - before))
"""
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "group.arrow")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]", out.stdout
