from pathlib import Path

from pyspark.sql import functions as F

from echo_spark.tables import ALL_TABLES, EVENTS, QUARANTINE


def test_tables_are_created_with_their_schema_and_partitioning(lakehouse):
    lakehouse.ensure(EVENTS)
    assert (Path(lakehouse.path(EVENTS)) / "_delta_log").is_dir()
    assert lakehouse.read(EVENTS).schema.fieldNames() == EVENTS.column_names
    from deltalake import DeltaTable

    assert DeltaTable(lakehouse.path(EVENTS)).metadata().partition_columns == ["event_date"]


def test_writes_conform_to_the_target_schema(spark, lakehouse):
    df = spark.createDataFrame([("/f", 7, "why", "extra")], "source_file string, source_line int, reason string, junk string")
    lakehouse.append(QUARANTINE, df)
    got = lakehouse.read(QUARANTINE)
    assert got.schema.fieldNames() == QUARANTINE.column_names
    assert got.collect()[0]["source_line"] == 7


def test_merge_inserts_only_new_keys_and_history_shows_commits(spark, lakehouse):
    df = spark.createDataFrame([("/f", 1, "a"), ("/f", 2, "b")], "source_file string, source_line long, reason string")
    lakehouse.merge(QUARANTINE, df)
    lakehouse.merge(QUARANTINE, df.withColumn("reason", F.lit("changed")))
    rows = sorted((r["source_line"], r["reason"]) for r in lakehouse.read(QUARANTINE).collect())
    assert rows == [(1, "a"), (2, "b")]
    operations = [h["operation"] for h in lakehouse.history(QUARANTINE)]
    # The insert-only rerun matched everything: no new commit.
    assert operations == ["MERGE", "CREATE TABLE"]
    lakehouse.merge(QUARANTINE, df.withColumn("reason", F.lit("changed")), update_matched=True)
    assert {r["reason"] for r in lakehouse.read(QUARANTINE).collect()} == {"changed"}


def test_a_new_session_finds_existing_tables(spark, lakehouse, config):
    from echo_spark.lakehouse import Lakehouse

    lakehouse.append(QUARANTINE, spark.createDataFrame([("/f", 1)], "source_file string, source_line long"))
    again = Lakehouse(spark, config.lakehouse)
    assert again.read(QUARANTINE).count() == 1


def test_catalog_names_are_three_part(spark):
    from echo_spark.config import LakehouseConfig
    from echo_spark.lakehouse import Lakehouse

    lakehouse = Lakehouse(spark, LakehouseConfig(catalog="main", schema_name="echo"))
    assert lakehouse.name(EVENTS) == "`main`.`echo`.`events`"


def test_local_tables_are_addressed_by_path(lakehouse):
    assert lakehouse.name(EVENTS) == f"delta.`{lakehouse.path(EVENTS)}`"


def test_every_table_has_a_meaning_for_every_column():
    for table in ALL_TABLES.values():
        assert table.meaning and all(c.meaning for c in table.columns)
        assert set(table.keys) <= set(table.column_names)
