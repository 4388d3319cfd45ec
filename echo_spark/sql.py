"""`echo-spark sql "SELECT ..."`: SQL over the lakehouse tables by name, without a cluster.

Each existing table is registered as a temporary view under its bare name (`events`,
`quarantine`, ...) for this session only, so queries read like they would on Databricks with
`USE catalog.schema`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .config import EchoConfig
from .engine import get_spark
from .errors import UsageError
from .lakehouse import Lakehouse
from .tables import ALL_TABLES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", help="a Spark SQL query over the lakehouse tables")
    parser.add_argument("--output", metavar="FILE", help="write the result to FILE.csv or FILE.parquet instead of printing")
    parser.add_argument("--max-rows", type=int, default=50, help="rows printed (default 50; files get every row)")


def register_tables(lakehouse: Lakehouse) -> list[str]:
    """Views named after every table that exists; returns their names."""
    if lakehouse.uses_catalog:
        lakehouse.spark.sql(f"USE `{lakehouse.config.catalog}`.`{lakehouse.config.schema_name}`").collect()
        return [name for name, table in ALL_TABLES.items() if lakehouse.exists(table)]
    names = []
    for name, table in ALL_TABLES.items():
        if lakehouse.exists(table):
            lakehouse.read(table).createOrReplaceTempView(name)
            names.append(name)
    return names


def run(config: EchoConfig, args: argparse.Namespace) -> dict[str, Any]:
    if args.output and Path(args.output).suffix not in (".csv", ".parquet"):
        raise UsageError("--output must end in .csv or .parquet")
    spark = get_spark(config.engine)
    lakehouse = Lakehouse(spark, config.lakehouse)
    tables = register_tables(lakehouse)
    if not tables:
        raise UsageError(f"no table found under {config.lakehouse.root}; run `echo-spark ingest` first")
    result = spark.sql(args.query)
    if args.output:
        frame = result.toPandas()
        if args.output.endswith(".csv"):
            frame.to_csv(args.output, index=False)
        else:
            frame.to_parquet(args.output, index=False)
        print(f"{len(frame)} rows written to {args.output}")
        return {"rows": len(frame), "output": args.output, "tables": tables}
    rows = result.limit(args.max_rows + 1).collect()
    _print_rows(result.columns, rows[: args.max_rows], more=len(rows) > args.max_rows)
    return {"rows_shown": min(len(rows), args.max_rows), "tables": tables}


def _print_rows(columns: list[str], rows: list[Any], more: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_header=True)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("NULL" if v is None else _short(v) for v in row))
    Console(width=200).print(table)
    if more:
        print("(more rows: raise --max-rows or use --output)")


def _short(value: Any, limit: int = 80) -> str:
    text = str(value).replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 1] + "…"
