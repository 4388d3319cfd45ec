"""Where an analyst notebook finds the tables and leaves its results, on Databricks and locally.

The notebooks in this folder run in two places. On Databricks (`spark`, `dbutils` and `display`
are in the notebook's globals) the tables are Unity Catalog names, picked with the `catalog` and
`schema` widgets, and tables and figures show inline. As plain Python (`python
notebooks/funnel.py`) they read the local lakehouse a demo wrote (`ECHO_LAKEHOUSE`, default
`lakehouse.root` of conf/echo.yaml) on the configured engine, and tables and figures are written
as CSV and PNG files under `ECHO_NOTEBOOK_OUT` (default ./out/notebooks). Either way every table is
registered under its bare name, as `echo-spark sql` does, so a notebook's SQL reads the same in both.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import matplotlib
import pandas as pd
from pyspark.sql import SparkSession

from echo_spark.config import LakehouseConfig, load_config
from echo_spark.engine import get_spark
from echo_spark.lakehouse import Lakehouse
from echo_spark.sql import register_tables


@dataclass
class LakehouseSession:
    spark: SparkSession
    tables: list[str]
    # Databricks' `display`; None when running as plain Python.
    display: Callable[[Any], None] | None
    # Where tables and figures are written locally; None on Databricks.
    out_dir: Path | None

    def query(self, sql: str) -> pd.DataFrame:
        """A query's result, small by construction (notebooks aggregate in Spark)."""
        return self.spark.sql(sql).toPandas()

    def show_table(self, frame: pd.DataFrame, name: str) -> None:
        if self.display is not None:
            self.display(frame)
            return
        path = self._out(f"{name}.csv")
        frame.to_csv(path, index=False)
        print(frame.to_string(index=False, max_rows=40), f"\n({path})", sep="", flush=True)

    def show_figure(self, figure: Any, name: str) -> None:
        if self.display is not None:
            self.display(figure)
            return
        import matplotlib.pyplot as plt

        path = self._out(f"{name}.png")
        figure.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(figure)
        print(f"figure: {path}", flush=True)

    def _out(self, file_name: str) -> Path:
        assert self.out_dir is not None
        self.out_dir.mkdir(parents=True, exist_ok=True)
        return self.out_dir / file_name


def open_session(ambient: Mapping[str, Any]) -> LakehouseSession:
    """The session for a notebook whose globals are `ambient`, with every existing table registered."""
    if {"spark", "dbutils", "display"} <= ambient.keys():
        widgets = ambient["dbutils"].widgets
        widgets.text("catalog", "main", "Unity Catalog catalog")
        widgets.text("schema", "echo", "Schema")
        config = LakehouseConfig(catalog=widgets.get("catalog"), schema_name=widgets.get("schema"))
        spark, display, out_dir = ambient["spark"], ambient["display"], None
    else:
        # No screen: figures go to files.
        matplotlib.use("Agg")
        root = os.environ.get("ECHO_LAKEHOUSE")
        echo = load_config(None, [f"lakehouse.root={root}"] if root else [])
        config = echo.lakehouse
        spark, display = get_spark(echo.engine), None
        out_dir = Path(os.environ.get("ECHO_NOTEBOOK_OUT", "./out/notebooks"))
    tables = register_tables(Lakehouse(spark, config))
    if not tables:
        where = f"{config.catalog}.{config.schema_name}" if config.catalog else config.root
        raise SystemExit(f"no Echo table found in {where}: run `echo-spark demo` (or the bundle's workflow) first")
    return LakehouseSession(spark=spark, tables=tables, display=display, out_dir=out_dir)
