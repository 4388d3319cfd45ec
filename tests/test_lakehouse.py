from pathlib import Path

import pytest

from pyspark.sql import functions as F

from echo_spark.tables import ALL_TABLES, EVENTS, QUARANTINE


@pytest.mark.sail_only
def test_tables_are_created_with_their_schema_and_partitioning(lakehouse):
    lakehouse.ensure(EVENTS)
    assert (Path(lakehouse.path(EVENTS)) / "_delta_log").is_dir()
    assert lakehouse.read(EVENTS).schema.fieldNames() == EVENTS.column_names
    from deltalake import DeltaTable

    assert DeltaTable(lakehouse.path(EVENTS)).metadata().partition_columns == ["event_date"]


@pytest.mark.sail_only
def test_writes_conform_to_the_target_schema(spark, lakehouse):
    df = spark.createDataFrame([("/f", 7, "why", "extra")], "source_file string, source_line int, reason string, junk string")
    lakehouse.append(QUARANTINE, df)
    got = lakehouse.read(QUARANTINE)
    assert got.schema.fieldNames() == QUARANTINE.column_names
    assert got.collect()[0]["source_line"] == 7


@pytest.mark.sail_only
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


@pytest.mark.sail_only
def test_a_new_session_finds_existing_tables(spark, lakehouse, config):
    from echo_spark.lakehouse import Lakehouse

    lakehouse.append(QUARANTINE, spark.createDataFrame([("/f", 1)], "source_file string, source_line long"))
    again = Lakehouse(spark, config.lakehouse)
    assert again.read(QUARANTINE).count() == 1


@pytest.mark.sail_only
def test_catalog_names_are_three_part(spark):
    from echo_spark.config import LakehouseConfig
    from echo_spark.lakehouse import Lakehouse

    lakehouse = Lakehouse(spark, LakehouseConfig(catalog="main", schema_name="echo"))
    assert lakehouse.name(EVENTS) == "`main`.`echo`.`events`"


@pytest.mark.sail_only
def test_local_tables_are_addressed_by_path(lakehouse):
    assert lakehouse.name(EVENTS) == f"delta.`{lakehouse.path(EVENTS)}`"


def test_every_table_has_a_meaning_for_every_column():
    for table in ALL_TABLES.values():
        assert table.meaning and all(c.meaning for c in table.columns)
        assert set(table.keys) <= set(table.column_names)


def _write_versions(spark, lakehouse, table, rows_per_version: list[int]) -> None:
    for i, n in enumerate(rows_per_version):
        df = spark.createDataFrame([(f"/f{i}", k) for k in range(n)], "source_file string, source_line long")
        lakehouse.overwrite(table, df)


@pytest.mark.sail_only
def test_a_folder_table_owns_its_address_versions_and_last_commit(spark, lakehouse, config):
    _write_versions(spark, lakehouse, QUARANTINE, [2, 5])  # version 0 is the CREATE TABLE
    address = lakehouse.address(QUARANTINE)
    assert address == str((Path(config.lakehouse.root) / "quarantine").resolve()) == lakehouse.address("quarantine")
    assert lakehouse.address("s3://bucket/t") == "s3://bucket/t"
    assert lakehouse.version(QUARANTINE) == 2 and lakehouse.pinned_version(QUARANTINE, None) == 2
    assert lakehouse.pinned_version(address, 1) == 1
    with pytest.raises(LookupError, match="no version 7"):
        lakehouse.pinned_version(QUARANTINE, 7)
    commit = lakehouse.commit_metrics(QUARANTINE)
    assert (commit["version"], commit["operation"], commit["numOutputRows"]) == (2, "WRITE", 5)
    assert lakehouse.to_arrow(address, 1, ["source_line"]).num_rows == 2
    assert lakehouse.read_at(QUARANTINE, 1).count() == 2 and lakehouse.read_at(address).count() == 5
    assert lakehouse.vacuum(QUARANTINE) >= 1  # the files of version 1
    assert lakehouse.read(QUARANTINE).count() == 5


@pytest.mark.sail_only
def test_a_catalog_table_is_named_and_versioned_through_the_catalog(spark, tmp_path):
    """The catalog branch on an emulated catalog (tests/catalog_fake.py): the table is addressed
    by its three-part name, its versions come from DESCRIBE HISTORY, a pinned read is VERSION AS
    OF by name, and nothing is vacuumed."""
    from echo_spark.config import LakehouseConfig
    from echo_spark.gold_source import gold_source
    from echo_spark.lakehouse import Lakehouse
    from echo_spark.tables import SFT_SAMPLES

    from .catalog_fake import CatalogOnSail

    storage = Lakehouse(spark, LakehouseConfig(root=str(tmp_path / "storage")))
    gold = spark.createDataFrame([("s1", "u1", "train"), ("s2", "u2", "validation")], "sample_id string, user_id string, split string")
    storage.overwrite(SFT_SAMPLES, gold)
    storage.append(SFT_SAMPLES, gold.limit(1))
    fake = CatalogOnSail(spark, "main", "echo", tmp_path / "storage")
    catalog = Lakehouse(fake, LakehouseConfig(root=str(tmp_path / "elsewhere"), catalog="main", schema_name="echo"))

    assert catalog.address(SFT_SAMPLES) == "main.echo.sft_samples"
    assert catalog.name(SFT_SAMPLES) == "`main`.`echo`.`sft_samples`"
    assert catalog.exists(SFT_SAMPLES) and not catalog.exists("nothing")
    assert catalog.version(SFT_SAMPLES) == 2 and catalog.pinned_version(SFT_SAMPLES, 1) == 1
    assert catalog.commit_metrics(SFT_SAMPLES)["numOutputRows"] == 1
    assert catalog.to_arrow(SFT_SAMPLES, 1, ["sample_id"]).column("sample_id").to_pylist() in (["s1", "s2"], ["s2", "s1"])
    assert catalog.to_arrow("main.echo.sft_samples", None, ["sample_id"]).num_rows == 3
    assert "SELECT * FROM `main`.`echo`.`sft_samples` VERSION AS OF 1" in fake.statements
    assert any(s == "DESCRIBE HISTORY `main`.`echo`.`sft_samples`" for s in fake.statements)
    assert catalog.vacuum(SFT_SAMPLES) is None

    source = gold_source(catalog, "sft_samples")
    assert source.address == "main.echo.sft_samples"
    assert source.pinned_version(None) == 2 and source.pinned_version(1) == 1


def test_addresses_of_one_table_are_the_same_table(tmp_path):
    from echo_spark.lakehouse import same_table

    assert same_table(str(tmp_path / "a" / ".." / "t"), str(tmp_path / "t"))
    assert same_table("main.echo.sft_samples", "MAIN.echo.sft_samples")
    assert not same_table("main.echo.sft_samples", str(tmp_path / "sft_samples"))
    assert not same_table("main.echo.sft_samples", "main.other.sft_samples")
