"""What curate runs in its UDF worker processes, Arrow in and Arrow out: the per-gap stages over a
batch of silver rows and perplexity scores (dedup's body is `duplicates.dedup_groups`).

Nothing here imports pyspark. The fork server imports this module once for every worker
(`udf_pool`), and its imports stand between the job's start and the first verified gap: the engine's
client library was 0.15 s of their 1.5 s and no worker uses it. So the Arrow schema of what a body
returns is built on the driver (`TableDef.arrow_schema`) and bound into the body with the settings.
"""

from __future__ import annotations

import math

import pyarrow as pa

from ..config import BenchmarksConfig, CurateConfig, LifecycleConfig
from ..silver_digest import SILVER_COLUMNS
from .pipeline import shared_curator


def curate_table(config: CurateConfig, schema: pa.Schema, rows: pa.Table, lifecycle: LifecycleConfig | None = None,
                 benchmarks: BenchmarksConfig | None = None) -> pa.Table:
    """Silver rows -> staged rows of `schema` (`curate_staging`'s), with this process's curator for
    `config`, the configured `lifecycle` (its no-suffix bound tells the teacher where a C_N was cut)
    and `benchmarks` (what decontamination compares with)."""
    return pa.Table.from_pylist(shared_curator(config, lifecycle, benchmarks).curate(rows.to_pylist()), schema=schema)


# A made-up gap that reaches every per-gap stage and the dedup sketch (an e-mail address for the
# secret scanner's domain check): what `prepare_curator` verifies once in each UDF worker.
_WARM_UP_GAP = {
    **{name: None for name in SILVER_COLUMNS},
    "request_id": "warm-up", "session_id": "warm-up", "user_id": "warm-up", "doc_id": "warm-up",
    "language": "python", "outcome": "rejected", "prefix": "def area(width, height):\n    ",
    "suffix": "\n\nprint(area(2, 3))  # ask ops@example.org\n", "committed": "return width * height",
    "request_event_id": "warm-up", "event_ids": ["warm-up"],
}


def prepare_curator(config: CurateConfig, schema: pa.Schema, lifecycle: LifecycleConfig | None = None,
                    benchmarks: BenchmarksConfig | None = None) -> None:
    """Load in a UDF worker, before its first batch of `curate_table`, everything that batch would
    load on first use: the curator (teacher, benchmark index), the secret scanner (spaCy, presidio)
    and tldextract's suffix list, datasketch (scipy with it), pandas (pyarrow's conversions look
    for it), and every grammar. Left to the first batch, those after the scanner cost each worker
    about a second on the job's critical path (a day of 1,402 rows at 1M events). So one made-up
    gap is verified."""
    from .grammars import load_grammars

    curate_table(config, schema, pa.Table.from_pylist([_WARM_UP_GAP]), lifecycle, benchmarks)
    load_grammars()


def score_table(model_path: str, batch_size: int, context_length: int | None, schema: pa.Schema,
                rows: pa.Table) -> pa.Table:
    """Samples (ids, digests, prefix, suffix, middle) -> staged scores of `schema`
    (`curate_perplexity`'s): their perplexity under this process's model."""
    from .scoring import shared_model

    model = shared_model(model_path, context_length)
    data = rows.to_pydict()
    scores = model.score_batch([p or "" for p in data["prefix"]], data["suffix"], [m or "" for m in data["middle"]],
                               batch_size=batch_size)
    data["perplexity"] = [math.exp(-s) for s in scores]
    return pa.Table.from_pydict({name: data[name] for name in schema.names}, schema=schema)
