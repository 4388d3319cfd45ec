"""Content checksums of tables, to prove that reruns and recoveries change nothing.

Run-time columns (when a row was written) differ between otherwise equal runs and are left out.
"""

from __future__ import annotations

import hashlib

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from echo_spark.lakehouse import Lakehouse
from echo_spark.tables import TableDef

RUN_TIME_COLUMNS = frozenset({"ingested_at"})


def content_checksum(df: DataFrame) -> tuple[int, str]:
    """(row count, order-independent digest of the rows' content)."""
    columns = [c for c in sorted(df.columns) if c not in RUN_TIME_COLUMNS]
    row_hash = F.sha2(F.to_json(F.struct(*[F.col(f"`{c}`") for c in columns])), 256)
    digests = sorted(r["h"] for r in df.select(row_hash.alias("h")).collect())
    return len(digests), hashlib.sha256("".join(digests).encode()).hexdigest()


def table_checksums(lakehouse: Lakehouse, tables: list[TableDef]) -> dict[str, tuple[int, str]]:
    return {t.name: content_checksum(lakehouse.read(t)) for t in tables if lakehouse.exists(t)}
