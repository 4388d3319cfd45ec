import hashlib

import pyarrow as pa
import pytest

from training.data import READ_COLUMNS, FimFormat, GoldTableError, gold_data, tokenize_rows
from training.fim import FAMILIES, IGNORE
from training.model_io import load_tokenizer

from .conftest import gold_rows, gold_source, write_gold


def test_version_is_pinned_to_the_latest_or_the_one_asked(tmp_path):
    write_gold(tmp_path / "sft_samples", gold_rows(10))
    write_gold(tmp_path / "sft_samples", gold_rows(12), mode="append")
    source = gold_source(tmp_path)  # a folder: no engine is started (gold_source's connect fails)
    assert source.address == str(tmp_path.resolve() / "sft_samples")
    assert source.pinned_version(None) == 1
    assert source.pinned_version(0) == 0
    with pytest.raises(GoldTableError, match="version 5"):
        source.pinned_version(5)


def test_missing_table_or_columns_are_gold_table_errors(tmp_path):
    with pytest.raises(GoldTableError, match="no Delta table"):
        gold_source(tmp_path, "nothing").pinned_version(None)
    rows = [{k: v for k, v in r.items() if k != "is_void"} for r in gold_rows(3)]
    write_gold(tmp_path / "bad", rows)
    with pytest.raises(GoldTableError, match="is_void"):
        gold_source(tmp_path, "bad").pinned_version(None)


def test_table_name_lives_in_the_lakehouse_and_paths_are_kept(tmp_path):
    assert gold_source(tmp_path).address == str(tmp_path.resolve() / "sft_samples")
    assert gold_source(tmp_path, "s3://bucket/gold/sft_samples").address == "s3://bucket/gold/sft_samples"
    assert gold_source(tmp_path, str(tmp_path / "elsewhere")).address == str(tmp_path.resolve() / "elsewhere")


def test_gold_rows_become_sorted_splits_whatever_the_read_order(tiny_base):
    """What read_gold does with the batches Ray Data hands back (the Ray read itself runs in the
    train job test, whose result an uninterrupted run on `gold_data` of a direct read matches)."""
    rows = gold_rows(40)
    rows[3]["middle"] = None          # never observed: not a sample
    rows[4]["split"] = "holdout"      # neither split
    rows[6]["middle"], rows[6]["is_void"] = "", True
    table = pa.Table.from_pylist(rows).select(READ_COLUMNS)
    fim = FimFormat(str(tiny_base), "auto", "psm", 128)
    whole = gold_data("gold", 0, [tokenize_rows(table, fim)])
    shuffled = gold_data("gold", 0, [tokenize_rows(table.slice(25), fim), tokenize_rows(table.slice(0, 25), fim)])

    assert whole.skipped_rows == shuffled.skipped_rows == 2
    assert (len(whole.train), len(whole.validation)) == (40 - 8 - 2, 8)
    for a, b in ((whole.train, shuffled.train), (whole.validation, shuffled.validation)):
        assert all((x == y).all() for x, y in zip(a.input_ids, b.input_ids))
        assert all((x == y).all() for x, y in zip(a.labels, b.labels))
    assert all(len(x) <= 128 for x in whole.train.input_ids)
    train_ids = [r["sample_id"] for r in rows if r["split"] == "train" and r["middle"] is not None]
    void = whole.train.labels[train_ids.index("s00006")]
    end = load_tokenizer(tiny_base).convert_tokens_to_ids(FAMILIES["echo"].end)
    assert void[void != IGNORE].tolist() == [end]  # a void sample teaches the end token alone


def test_validation_is_capped_to_a_fixed_sample_by_hash(tiny_base):
    rows = gold_rows(40)
    table = pa.Table.from_pylist(rows).select(READ_COLUMNS)
    fim = FimFormat(str(tiny_base), "auto", "psm", 128)
    full = gold_data("gold", 0, [tokenize_rows(table, fim)])
    capped = gold_data("gold", 0, [tokenize_rows(table, fim)], eval_max_samples=3)
    val_ids = sorted(r["sample_id"] for r in rows if r["split"] == "validation")
    chosen = sorted(sorted(val_ids, key=lambda i: hashlib.sha256(i.encode()).hexdigest())[:3])
    assert len(capped.validation) == 3
    for example, sample_id in zip(capped.validation.input_ids, chosen):
        assert (example == full.validation.input_ids[val_ids.index(sample_id)]).all()
    assert len(capped.train) == len(full.train)


@pytest.mark.sail_only
def test_a_catalog_table_is_read_by_name_through_spark_into_ray_data(spark, tmp_path, tiny_base, ray_local):
    """On a catalog the gold rows reach Ray Data from Spark's read at the pinned version (as Arrow):
    the same examples as Ray Data's own read of the folder at that version."""
    from echo_spark.config import LakehouseConfig
    from echo_spark.gold_source import gold_source as source_of
    from echo_spark.lakehouse import Lakehouse
    from training.data import read_gold

    from ..catalog_fake import CatalogOnSail

    write_gold(tmp_path / "sft_samples", gold_rows(20))
    write_gold(tmp_path / "sft_samples", gold_rows(6, seed=3), mode="append")
    catalog = Lakehouse(CatalogOnSail(spark, "main", "echo", tmp_path),
                        LakehouseConfig(root=str(tmp_path / "unused"), catalog="main", schema_name="echo"))
    by_name, by_folder = source_of(catalog, "sft_samples"), gold_source(tmp_path)
    assert by_name.address == "main.echo.sft_samples"
    assert by_name.pinned_version(None) == by_folder.pinned_version(None) == 1
    fim = FimFormat(str(tiny_base), "auto", "psm", 128)
    a, b = read_gold(by_name, 0, fim), read_gold(by_folder, 0, fim)
    assert (a.address, b.address) == ("main.echo.sft_samples", by_folder.address)
    assert len(a.train) == len(b.train) == 16 and len(a.validation) == len(b.validation) == 4
    assert all((x == y).all() for x, y in zip(a.train.input_ids, b.train.input_ids))
