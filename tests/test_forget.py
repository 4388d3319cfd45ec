import json

import pytest
from pyspark.sql import functions as F

from echo_spark.config import LakehouseConfig
from echo_spark.forget import all_vacuumed, forget
from echo_spark.ingest.job import ingest
from echo_spark.lakehouse import Lakehouse
from echo_spark.lifecycle.job import lifecycle
from echo_spark.tables import ALL_TABLES, ERASURES, QUARANTINE

from .lifecycle_job.test_lifecycle_job import _session, _write


@pytest.mark.sail_only
def test_nothing_of_a_forgotten_user_remains_in_current_versions(spark, lakehouse, config, landing):
    gone = [dict(e, user_id="u-gone") for e in _session("s-gone", "a = |\n", "1", 1_714_550_400_000)]
    stays = [dict(e, user_id="u-stays") for e in _session("s-stays", "b = |\n", "2", 1_714_550_500_000)]
    # A quarantined line of the user (unknown type) and an orphan event in their session.
    bad = {"event_id": "q1", "type": "mystery", "ts": 1_714_550_400_000, "session_id": "s-gone", "user_id": "u-gone"}
    orphan = {"event_id": "o1", "type": "completion_accept", "ts": 1_714_550_400_500, "session_id": "s-gone",
              "doc_id": "d", "request_id": "no-such-request"}
    _write(landing, "a.jsonl", gone + stays + [bad, orphan])
    ingest(spark, lakehouse, config, str(landing.root))
    lifecycle(spark, lakehouse, config)

    def rows_of(session: str) -> dict[str, int]:
        return {
            t.name: lakehouse.read(t).filter(F.col("session_id") == session).count()
            for t in ALL_TABLES.values()
            if lakehouse.exists(t) and "session_id" in t.column_names
        }

    others_before = rows_of("s-stays")
    result = forget(lakehouse, "u-gone", "ticket-1")

    assert result["rows_deleted"]["events"] == len(gone) + 1
    assert result["rows_deleted"]["quarantine"] == 1 and result["rows_deleted"]["orphans"] == 1
    for table in ALL_TABLES.values():
        if table.layer == "audit" or not lakehouse.exists(table):
            continue
        df = lakehouse.read(table)
        columns = set(df.columns)
        if "user_id" in columns:
            assert df.filter(F.col("user_id") == "u-gone").count() == 0, table.name
        if "session_id" in columns:
            assert df.filter(F.col("session_id") == "s-gone").count() == 0, table.name
    assert rows_of("s-stays") == others_before
    assert lakehouse.read(QUARANTINE).filter(F.col("raw").contains("u-gone")).count() == 0
    audit = lakehouse.read(ERASURES).collect()
    assert len(audit) == 1 and "u-gone" not in json.dumps(audit[0].asDict(), default=str)
    assert audit[0]["reason"] == "ticket-1"


def _landing_bytes(root) -> bytes:
    """Every byte of every file under the landing folder, gzip members decompressed."""
    import gzip as _gzip

    out = b""
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            out += _gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    return out


@pytest.mark.sail_only
def test_an_erasure_sticks_through_later_ingests_of_late_and_old_files(spark, lakehouse, config, landing):
    """Forget a user, then ingest and lifecycle again over the same folder plus files holding the
    user's late events (an offline queue uploading days later): the user is nowhere."""
    import gzip

    from echo_spark.curate.job import curate
    from echo_spark.tables import COMPLETIONS, EVENTS, LANDING_FILES, ORPHANS, SFT_SAMPLES, TOMBSTONES

    config.curate.perplexity_enabled = False
    gone = [dict(e, user_id="u-gone") for e in _session("s-gone", "a = |\n", "1", 1_714_550_400_000)]
    stays = [dict(e, user_id="u-stays") for e in _session("s-stays", "b = |\n", "2", 1_714_550_500_000)]
    bad = b'{"event_id": "q1", "type": "cursor", "session_id": "s-gone", "user_id": "u-gone"'  # cut line
    _write(landing, "a.jsonl", gone[:4] + stays)
    landing.write("a.jsonl", (landing.root / "a.jsonl").read_bytes() + bad + b"\n")
    # The rest of the session, and a redelivery of its first events that bronze drops as duplicates.
    landing.write("b.jsonl.gz", gzip.compress(b"".join(json.dumps(e).encode() + b"\n" for e in gone[4:] + gone[:2])))
    ingest(spark, lakehouse, config, str(landing.root))
    lifecycle(spark, lakehouse, config)
    curate(spark, lakehouse, config)
    assert lakehouse.read(COMPLETIONS).filter(F.col("user_id") == "u-gone").count() == 1
    others = {t.name: lakehouse.read(t).filter(F.col("session_id") == "s-stays").count() for t in (EVENTS, COMPLETIONS)}

    result = forget(lakehouse, "u-gone", "ticket-2")
    removed = {path.rsplit("/", 1)[1]: n for path, n in result["rows_deleted"]["landing_files"].items()}
    assert removed == {"a.jsonl": 5, "b.jsonl.gz": len(gone) - 4 + 2}
    assert b"u-gone" not in _landing_bytes(landing.root) and b"s-gone" not in _landing_bytes(landing.root)
    assert b"u-stays" in _landing_bytes(landing.root)
    assert gzip.decompress((landing.root / "b.jsonl.gz").read_bytes()) == b""

    # Days later: the rest of the old session without user_id, a new session whose only user_id is
    # on its session_start, and another user's events, in one file; then the new session's tail.
    late_old = [{k: v for k, v in dict(e, event_id=f"late-{i}", ts=1_714_560_000_000 + i).items() if k != "user_id"}
                for i, e in enumerate(gone[2:5])]
    new_session = _session("s-gone-2", "c = |\n", "3", 1_714_570_000_000)
    new_session = [dict(e, user_id="u-gone") if e["type"] == "session_start" else {k: v for k, v in e.items() if k != "user_id"}
                   for e in new_session]
    other = [dict(e, user_id="u-stays") for e in _session("s-stays-2", "d = |\n", "4", 1_714_580_000_000)]
    _write(landing, "late/c.jsonl", late_old + new_session[:5] + other)
    cut = b'{"event_id": "q2", "type": "cursor", "session_id": "s-gone-2", "doc_id": "d", "off'  # quarantined, not JSON
    landing.write("late/c.jsonl", (landing.root / "late/c.jsonl").read_bytes() + cut + b"\n")
    second = ingest(spark, lakehouse, config, str(landing.root))
    assert (second["files_read"], second["erased"], second["landing_files_rewritten"]) == (1, 3 + 5 + 1, 1)
    assert second["quarantined"] == 0
    assert second["inserted"] == len(other)
    _write(landing, "late/d.jsonl", new_session[5:])
    third = ingest(spark, lakehouse, config, str(landing.root))
    assert (third["erased"], third["inserted"]) == (len(new_session) - 5, 0)
    lifecycle(spark, lakehouse, config)
    curate(spark, lakehouse, config)

    for table in (EVENTS, QUARANTINE, COMPLETIONS, ORPHANS, SFT_SAMPLES):
        df = lakehouse.read(table)
        text = df.select(F.to_json(F.struct(*[F.col(c) for c in df.columns])).alias("j")).collect()
        assert not [r for r in text if "u-gone" in r["j"] or "s-gone" in r["j"]], table.name
    assert b"u-gone" not in _landing_bytes(landing.root) and b"s-gone" not in _landing_bytes(landing.root)
    assert {t.name: lakehouse.read(t).filter(F.col("session_id") == "s-stays").count() for t in (EVENTS, COMPLETIONS)} == others
    assert lakehouse.read(COMPLETIONS).filter(F.col("session_id") == "s-stays-2").count() == 1
    # Nothing of the id in the audit or the tombstones; the audit says what went where.
    import hashlib

    audit = lakehouse.read(ERASURES).collect()
    assert len(audit) == 1 and "u-gone" not in json.dumps(audit[0].asDict(), default=str)
    recorded = json.loads(audit[0]["rows_deleted"])
    assert recorded["events"] == len(gone) and recorded["quarantine"] == 1 and recorded["completions"] == 1
    assert {p.rsplit("/", 1)[1]: n for p, n in recorded["landing_files"].items()} == removed
    marks = lakehouse.read(TOMBSTONES).collect()
    assert "u-gone" not in json.dumps([m.asDict() for m in marks], default=str)
    assert {(m["kind"], m["subject_sha256"]) for m in marks} == {
        ("user", hashlib.sha256(b"u-gone").hexdigest()),
        ("session", hashlib.sha256(b"s-gone").hexdigest()),
        ("session", hashlib.sha256(b"s-gone-2").hexdigest()),
    }
    # The rewritten files are recorded: no run reads them again.
    assert ingest(spark, lakehouse, config, str(landing.root))["files_read"] == 0
    statuses = {(r["path"].rsplit("/", 1)[1], r["status"]) for r in lakehouse.read(LANDING_FILES).collect()}
    assert ("c.jsonl", "rewritten") in statuses and ("a.jsonl", "rewritten") in statuses
    late = {r["status"]: r for r in lakehouse.read(LANDING_FILES).collect() if r["path"].endswith("/c.jsonl")}
    assert (late["ingested"]["lines"], late["ingested"]["erased"], late["ingested"]["inserted"]) == (
        len(late_old) + 5 + len(other) + 1, 9, len(other))
    assert (late["rewritten"]["lines"], late["rewritten"]["erased"]) == (len(other), 9)


@pytest.mark.sail_only
def test_lifecycle_leaves_out_sessions_that_a_tombstone_covers(spark, lakehouse, config, landing):
    """Events of an erased user that reached bronze anyway (an ingest racing the erasure) are not
    tracked: by the user's hash, and by a session's hash when its events carry no user_id."""
    from datetime import datetime, timezone

    from echo_spark.forget import record_tombstones
    from echo_spark.tables import COMPLETIONS

    gone = [dict(e, user_id="u-gone") for e in _session("s-gone", "a = |\n", "1", 1_714_550_400_000)]
    anonymous = [{k: v for k, v in e.items() if k != "user_id"} for e in _session("s-anon", "b = |\n", "2", 1_714_550_500_000)]
    stays = [dict(e, user_id="u-stays") for e in _session("s-stays", "c = |\n", "3", 1_714_550_600_000)]
    _write(landing, "a.jsonl", gone + anonymous + stays)
    ingest(spark, lakehouse, config, str(landing.root))
    now = datetime.now(timezone.utc)
    record_tombstones(lakehouse, "user", ["u-gone"], "e1", now)
    record_tombstones(lakehouse, "session", ["s-anon"], "e1", now)
    metrics = lifecycle(spark, lakehouse, config)
    assert metrics["sessions_erased"] == 2
    assert {r["session_id"] for r in lakehouse.read(COMPLETIONS).collect()} == {"s-stays"}


@pytest.mark.sail_only
def test_the_audit_records_what_was_vacuumed_per_table(spark, lakehouse, config, landing):
    """`--vacuum` locally: every table the user was erased from is vacuumed, the audit says so per
    table, and the older version that held the user's rows is gone."""
    from echo_spark.forget import vacuum_tables
    from echo_spark.tables import EVENTS

    _write(landing, "a.jsonl", [dict(e, user_id="u-gone") for e in _session("s-gone", "a = |\n", "1", 1_714_550_400_000)])
    ingest(spark, lakehouse, config, str(landing.root))
    before = lakehouse.version(EVENTS)
    result = forget(lakehouse, "u-gone", vacuum=True)

    erasable = {t.name for t in ALL_TABLES.values() if t.layer != "audit" and lakehouse.exists(t)}
    assert set(result["vacuumed_tables"]) == erasable and result["vacuumed"] is True
    assert result["vacuumed_tables"]["events"] >= 1  # the file that held the user's events
    [audit] = lakehouse.read(ERASURES).collect()
    assert audit["vacuumed"] is True and json.loads(audit["vacuumed_tables"]) == result["vacuumed_tables"]
    try:
        old = lakehouse.read(EVENTS, version=before).filter(F.col("user_id") == "u-gone").count()
    except Exception:  # noqa: BLE001 - the version's files are gone: reading it fails
        old = 0
    assert old == 0

    # On a catalog nothing is vacuumed here (the tables' retention applies), and so nothing is
    # recorded as vacuumed: the engine is not even asked.
    class NoEngine:
        def __getattr__(self, name):
            raise AssertionError(f"spark.{name} used")

    catalog = Lakehouse(NoEngine(), LakehouseConfig(catalog="main", schema_name="echo"))
    tables = [EVENTS]
    assert vacuum_tables(catalog, tables) == {}
    assert all_vacuumed(tables, {}) is False and all_vacuumed([], {}) is False


@pytest.mark.sail_only
def test_forget_without_vacuum_records_no_vacuum_and_an_old_audit_table_gains_the_column(spark, lakehouse, config, landing):
    import dataclasses

    from deltalake import DeltaTable

    # An erasures table as written before `vacuumed_tables` existed.
    old_audit = dataclasses.replace(ERASURES, columns=tuple(c for c in ERASURES.columns if c.name != "vacuumed_tables"))
    lakehouse.ensure(old_audit)
    assert "vacuumed_tables" not in lakehouse.read(old_audit).columns
    _write(landing, "a.jsonl", [dict(e, user_id="u-gone") for e in _session("s-gone", "a = |\n", "1", 1_714_550_400_000)])
    ingest(spark, lakehouse, config, str(landing.root))
    result = forget(lakehouse, "u-gone")
    assert result["vacuumed"] is False and result["vacuumed_tables"] == {}
    [audit] = lakehouse.read(ERASURES).collect()
    assert audit["vacuumed"] is False and json.loads(audit["vacuumed_tables"]) == {}
    assert "vacuumed_tables" in DeltaTable(lakehouse.path(ERASURES)).schema().to_arrow().names
