from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


@pytest.mark.sail_only
def test_upsert_replaces_matched_keys_and_inserts_the_rest_as_merge_does(spark, lakehouse, monkeypatch):
    from echo_spark import lakehouse as lakehouse_module
    from echo_spark.tables import COMPLETIONS

    monkeypatch.setattr(lakehouse_module, "_KEYS_PER_CONDITION", 1)  # one DELETE per matched key

    row = "session_id string, request_id string, committed string"
    lakehouse.append(COMPLETIONS, spark.createDataFrame(
        [("s1", "r1", "a"), ("s1", "r2", "b"), ("s2", "r1", "c"), ("s2", "r'3", "d")], row))
    replaced = lakehouse.upsert(COMPLETIONS, spark.createDataFrame(
        [("s1", "r2", "B"), ("s2", "r'3", "D"), ("s3", "r1", "e")], row))
    assert replaced == 2
    got = sorted(tuple(r) for r in lakehouse.read(COMPLETIONS).select("session_id", "request_id", "committed").collect())
    assert got == [("s1", "r1", "a"), ("s1", "r2", "B"), ("s2", "r'3", "D"), ("s2", "r1", "c"), ("s3", "r1", "e")]
    # The matched rows were deleted by key and the new rows appended: no MERGE.
    assert [h["operation"] for h in lakehouse.history(COMPLETIONS)][:3] == ["WRITE", "DELETE", "DELETE"]


@pytest.mark.sail_only
def test_upsert_matches_null_keys_and_past_its_bound_rebuilds_the_table_in_one_commit(spark, lakehouse):
    from echo_spark.tables import COMPLETIONS

    def rows():
        return sorted((tuple(r) for r in lakehouse.read(COMPLETIONS).select("session_id", "request_id", "committed").collect()),
                      key=repr)

    row = "session_id string, request_id string, committed string"
    lakehouse.append(COMPLETIONS, spark.createDataFrame([("s1", None, "a"), ("s1", "r1", "b")], row))
    assert lakehouse.upsert(COMPLETIONS, spark.createDataFrame([("s1", None, "A"), ("s2", None, "c")], row)) == 1
    assert rows() == sorted([("s1", None, "A"), ("s1", "r1", "b"), ("s2", None, "c")], key=repr)
    lakehouse.config.upsert_keys_max = 1
    version = lakehouse.version(COMPLETIONS)
    assert lakehouse.upsert(COMPLETIONS, spark.createDataFrame([("s1", "r1", "B"), ("s2", None, "C"), ("s3", "r", "d")],
                                                               row)) == 2
    # Rebuilt in one commit, not merged (Sail's MERGE holds the whole table in memory).
    assert lakehouse.version(COMPLETIONS) == version + 1
    assert lakehouse.history(COMPLETIONS)[0]["operation"] != "MERGE"
    assert rows() == sorted([("s1", None, "A"), ("s1", "r1", "B"), ("s2", None, "C"), ("s3", "r", "d")], key=repr)
    assert not lakehouse.exists(replace(COMPLETIONS, name="_completions_rebuilt"))


_KEY = st.one_of(st.none(), st.sampled_from(["a", "b", "it's", "back\\slash", "ü"]))


@pytest.mark.sail_only
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(_KEY, _KEY), min_size=1, max_size=30, unique=True), data=st.data())
def test_keys_condition_selects_exactly_the_given_keys(spark, rows, data):
    from echo_spark.lakehouse import keys_condition

    wanted = data.draw(st.lists(st.sampled_from(rows), min_size=1, unique=True))
    df = spark.createDataFrame(rows, "k1 string, k2 string")
    got = {tuple(r) for r in df.filter(F.expr(keys_condition(["k1", "k2"], wanted))).collect()}
    assert got == set(wanted)


def test_has_rows_says_whether_a_filtered_frame_has_a_row(spark):
    from echo_spark.lakehouse import has_rows

    df = spark.createDataFrame([("a", "x" * 1000), ("b", None)], "k string, text string")
    assert has_rows(df)
    assert has_rows(df.filter(F.col("text").isNull()))
    assert not has_rows(df.filter(F.col("k") == "c"))
    assert not has_rows(df.limit(0))


def test_keys_condition_nests_its_terms_as_a_balanced_tree():
    from echo_spark.lakehouse import keys_condition

    condition = keys_condition(["session_id", "request_id"], [(f"s{i}", "r") for i in range(1024)])
    depth = deepest = 0
    for char in condition:
        depth += {"(": 1, ")": -1}.get(char, 0)
        deepest = max(deepest, depth)
    assert deepest <= 12
