"""What curate runs in its UDF worker processes, Arrow in and Arrow out: the per-gap stages over a
batch of silver rows, dedup of a partition's groups, perplexity scores.

Nothing here imports pyspark. The fork server imports this module once for every worker
(`udf_pool`), and its imports stand between the job's start and the first verified gap: the engine's
client library was 0.15 s of their 1.5 s and no worker uses it. So the Arrow schema of what a body
returns is built on the driver (`TableDef.arrow_schema`) and bound into the body with the settings.
"""

from __future__ import annotations

import itertools
import math

import pyarrow as pa
import pyarrow.compute as pc

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


# A global stage's drops: its columns, all strings.
REASON_COLUMNS = ("session_id", "request_id", "drop_reason")


def dedup_groups(config: CurateConfig, table: pa.Table) -> pa.Table:
    """Duplicates among the rows of `table`, compared only within a `dedup_key` group (same
    language, same whitespace-normalized middle), by the sketches of their windows (the verdicts')."""
    from .duplicates import GroupSketches, find_duplicates

    # Sorted by key once, a group is a slice: a `take` per group read the whole table, which made
    # dedup quadratic in a partition's rows (at 1M events, 43,699 candidates in one call: 91.6 s
    # against 3.3 s, the same duplicates).
    table = table.take(pc.sort_indices(table, sort_keys=[("dedup_key", "ascending")]))
    columns = [table.column(f"dedup_{name}").combine_chunks() for name in ("exact", "signature", "shingles")]
    sketches = GroupSketches.from_arrow(*columns, threshold=config.dedup_threshold, num_perm=config.dedup_num_perm)
    sessions, requests = table.column("session_id").to_pylist(), table.column("request_id").to_pylist()
    keys = [f"{session}\x1f{request}" for session, request in zip(sessions, requests)]
    dropped: list[tuple[str, str, str]] = []
    offset = 0
    for _, group in itertools.groupby(table.column("dedup_key").to_pylist()):
        size = sum(1 for _ in group)
        first, offset = offset, offset + size
        if size < 2:
            continue
        found = find_duplicates(sketches.slice(first, size), keys[first:offset], threshold=config.dedup_threshold)
        dropped += [(sessions[first + d.index], requests[first + d.index], d.reason) for d in found]
    values = list(zip(*dropped)) or [()] * len(REASON_COLUMNS)
    return pa.table({name: pa.array(column, pa.string()) for name, column in zip(REASON_COLUMNS, values)})


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
