import json

from pyspark.sql import functions as F

from echo_spark.forget import forget
from echo_spark.ingest.job import ingest
from echo_spark.lifecycle.job import lifecycle
from echo_spark.tables import ALL_TABLES, ERASURES, QUARANTINE

from .lifecycle_job.test_lifecycle_job import _session, _write


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
