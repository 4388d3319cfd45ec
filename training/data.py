"""The gold table, read with Ray Data at one pinned Delta version and tokenized into FIM examples.

Gold table `sft_samples` (written by the curate stage), one row per training sample:

| column     | type    | meaning                                                             |
|------------|---------|---------------------------------------------------------------------|
| sample_id  | string  | unique id; orders the examples (reads come back in any order)       |
| prefix     | string  | code before the cursor (null is read as "")                         |
| suffix     | string  | code after the cursor; null when the log had none (read as "")      |
| middle     | string  | the target: what the user finally kept in the gap (C_N); "" = void  |
| language   | string  | LSP language id (not used by training; kept for slicing metrics)    |
| is_void    | boolean | true when silence was right; such a row trains on the end token only |
| split      | string  | "train" or "validation"; other values are not read                  |
| user_id    | string  | pseudonymous user (erasure reaches training through the table)      |
| request_id | string  | the completion request the sample came from (lineage)               |

The version is resolved once, before reading, and every read names it: a curate run committing
mid-read cannot mix two versions into one training set, and MLflow records exactly which data
trained the model. A row with a null middle (never observed) is not a sample and is skipped.

Where the table lives is not this package's business: the job hands in a `GoldSource`
(`echo_spark/gold_source.py`, over the lakehouse's table layer) that names the table, pins its
version and gives the rows at that version as a Ray Dataset.

Ray Data only reads and tokenizes; the examples are collected on the driver before any training
worker exists (see `sft.py` on why).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .batching import Examples

if TYPE_CHECKING:
    import ray.data

GOLD_COLUMNS = ("sample_id", "prefix", "suffix", "middle", "language", "is_void", "split", "user_id", "request_id")
READ_COLUMNS = ["sample_id", "prefix", "suffix", "middle", "is_void", "split"]
SPLITS = ("train", "validation")


class GoldTableError(ValueError):
    """The gold table is missing, at no such version, or lacks columns."""


@dataclass(frozen=True)
class FimFormat:
    """How gold rows become examples; picklable, so Ray Data tasks can rebuild the tokenizer."""

    tokenizer_path: str
    fim_family: str
    order: str
    max_tokens: int


@dataclass(frozen=True)
class GoldData:
    address: str  # the table as lineage names it (GoldSource.address)
    version: int
    train: Examples
    validation: Examples
    skipped_rows: int


class GoldSource(Protocol):
    """The gold table as training reads it."""

    # The table's address as lineage records it (MLflow `gold.uri`; the erasure tags match it):
    # a folder or URI, or a Unity Catalog name.
    address: str

    def pinned_version(self, asked: int | None) -> int:
        """The version to read: `asked`, checked to exist, or the current one; GoldTableError when
        there is no such table or version, or it lacks GOLD_COLUMNS."""
        ...

    def dataset(self, version: int, columns: list[str]) -> "ray.data.Dataset":
        """The table's rows at `version`, these columns."""
        ...


def read_gold(source: GoldSource, version: int, fim: FimFormat, eval_max_samples: int = 0) -> GoldData:
    """Read the table at `version` with Ray Data, tokenize on Ray workers, collect the examples."""
    _quiet_ray_data()
    dataset = source.dataset(version, READ_COLUMNS)
    tokenized = dataset.map_batches(tokenize_rows, fn_kwargs={"fim": fim}, batch_format="pyarrow")
    return gold_data(source.address, version, list(tokenized.iter_batches(batch_format="pyarrow", batch_size=None)), eval_max_samples)


def gold_data(uri: str, version: int, tokenized: list[pa.Table], eval_max_samples: int = 0) -> GoldData:
    """The train and validation examples of tokenized gold rows (`tokenize_rows` batches).

    Reads come back in any order and batching: the rows are sorted by sample_id, so the examples
    (hence every batch of every epoch) are the same each read. Validation keeps the first
    `eval_max_samples` rows by a hash of sample_id: a fixed sample, spread over users and files.
    """
    if not tokenized:
        return GoldData(uri, version, Examples([], []), Examples([], []), 0)
    table = pa.concat_tables(tokenized).sort_by("sample_id")
    kept = table.filter(table["usable"])
    train = _examples(kept.filter(pc.equal(kept["split"], "train")))
    val_rows = kept.filter(pc.equal(kept["split"], "validation"))
    if eval_max_samples and val_rows.num_rows > eval_max_samples:
        val_rows = val_rows.sort_by("sample_key").slice(0, eval_max_samples).sort_by("sample_id")
    return GoldData(uri, version, train, _examples(val_rows), table.num_rows - kept.num_rows)


def _quiet_ray_data() -> None:
    """Ray Data's progress bars and INFO lines would drown the job's one progress line; they still
    go to its log file in the Ray session folder (/tmp/ray/session_latest/logs/ray-data)."""
    import ray.data

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    for handler in logging.getLogger("ray.data").handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):  # the console
            handler.setLevel(logging.ERROR)


@lru_cache(maxsize=2)
def _tokenizer(fim: FimFormat):
    """Loaded once per Ray worker process (they run many read tasks)."""
    from .fim import FimIds, detect_family
    from .model_io import load_tokenizer

    tokenizer = load_tokenizer(fim.tokenizer_path)
    return tokenizer, FimIds.of(tokenizer, detect_family(tokenizer, fim.fim_family))


def tokenize_rows(batch: pa.Table, fim: FimFormat) -> pa.Table:
    """Ray Data stage: gold rows (READ_COLUMNS) -> input_ids/labels, and whether the row is a
    sample at all."""
    from .examples import encode_samples

    tokenizer, ids = _tokenizer(fim)
    rows = batch.to_pylist()
    usable = [r["middle"] is not None and r["split"] in SPLITS for r in rows]
    examples = encode_samples(
        tokenizer,
        ids,
        [r["prefix"] or "" for r in rows],
        [r["suffix"] or "" for r in rows],
        ["" if r["is_void"] or not ok else r["middle"] for r, ok in zip(rows, usable)],
        fim.max_tokens,
        fim.order,
    )
    return pa.table(
        {
            "sample_id": [r["sample_id"] for r in rows],
            "sample_key": [hashlib.sha256((r["sample_id"] or "").encode()).hexdigest() for r in rows],
            "split": [r["split"] for r in rows],
            "usable": pa.array(usable, type=pa.bool_()),
            "input_ids": pa.array([x.tolist() for x in examples.input_ids], type=pa.list_(pa.int32())),
            "labels": pa.array([x.tolist() for x in examples.labels], type=pa.list_(pa.int32())),
        }
    )


def _examples(table: pa.Table) -> Examples:
    return Examples(
        input_ids=[np.asarray(x, dtype=np.int32) for x in table["input_ids"].to_pylist()],
        labels=[np.asarray(x, dtype=np.int32) for x in table["labels"].to_pylist()],
    )
