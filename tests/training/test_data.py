import hashlib

import pyarrow as pa
import pytest

from training.data import READ_COLUMNS, FimFormat, GoldTableError, gold_data, pinned_version, table_uri, tokenize_rows
from training.fim import FAMILIES, IGNORE
from training.model_io import load_tokenizer

from .conftest import gold_rows, write_gold


def test_version_is_pinned_to_the_latest_or_the_one_asked(tmp_path):
    uri = str(tmp_path / "sft_samples")
    write_gold(tmp_path / "sft_samples", gold_rows(10))
    write_gold(tmp_path / "sft_samples", gold_rows(12), mode="append")
    assert pinned_version(uri, None) == 1
    assert pinned_version(uri, 0) == 0
    with pytest.raises(GoldTableError, match="version 5"):
        pinned_version(uri, 5)


def test_missing_table_or_columns_are_gold_table_errors(tmp_path):
    with pytest.raises(GoldTableError, match="no Delta table"):
        pinned_version(str(tmp_path / "nothing"), None)
    rows = [{k: v for k, v in r.items() if k != "is_void"} for r in gold_rows(3)]
    write_gold(tmp_path / "bad", rows)
    with pytest.raises(GoldTableError, match="is_void"):
        pinned_version(str(tmp_path / "bad"), None)


def test_table_name_lives_under_the_lakehouse_and_paths_are_kept(tmp_path):
    assert table_uri(str(tmp_path), "sft_samples") == str(tmp_path.resolve() / "sft_samples")
    assert table_uri(str(tmp_path), "s3://bucket/gold/sft_samples") == "s3://bucket/gold/sft_samples"


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
