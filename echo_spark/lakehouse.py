"""The table layer: one Delta table per `TableDef`, as a folder locally or a Unity Catalog name.

Every write casts to the target schema first (Sail may silently drop a column whose type or
nullability differs), tables are created if missing with their declared schema and column
comments, and Sail's in-memory catalog is refreshed by registering each table by path per session.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from pathlib import Path
from typing import Any

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from .config import LakehouseConfig
from .tables import TableDef


def _sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Lakehouse:
    def __init__(self, spark: SparkSession, config: LakehouseConfig):
        self.spark = spark
        self.config = config
        self.uses_catalog = bool(config.catalog)
        if self.uses_catalog and not config.schema_name:
            raise ValueError("lakehouse.catalog needs lakehouse.schema_name (catalog.schema.table)")
        self._ready: set[str] = set()

    # -- addressing -------------------------------------------------------------------------
    def name(self, table: TableDef) -> str:
        """SQL name of the table: `catalog.schema.table` on a catalog, delta.`path` locally.

        Local tables are addressed by path because Sail's catalog is per server and in memory:
        two lakehouses in one session must not meet under the same bare name.
        """
        if self.uses_catalog:
            return f"`{self.config.catalog}`.`{self.config.schema_name}`.`{table.name}`"
        return f"delta.`{self.path(table)}`"

    def path(self, table: TableDef) -> str:
        """Folder of the table (local lakehouse only)."""
        root = self.config.root
        if "://" in root:
            return f"{root.rstrip('/')}/{table.name}"
        return str((Path(root) / table.name).resolve())

    def exists(self, table: TableDef) -> bool:
        if self.uses_catalog:
            return bool(self.spark.catalog.tableExists(f"{self.config.catalog}.{self.config.schema_name}.{table.name}"))
        return (Path(self.path(table)) / "_delta_log").is_dir()

    # -- DDL --------------------------------------------------------------------------------
    def ensure(self, table: TableDef) -> None:
        """Create the table if missing, with its declared schema, partitioning and comments."""
        if table.name in self._ready:
            return
        if self.uses_catalog or not self.exists(table):
            self.spark.sql(self._create_sql(table)).collect()
        self._ready.add(table.name)

    def _create_sql(self, table: TableDef) -> str:
        columns = ", ".join(
            f"`{field.name}` {field.dataType.simpleString()} COMMENT {_sql_string(col.meaning)}"
            for field, col in zip(table.schema.fields, table.columns)
        )
        if self.uses_catalog:
            target = self.name(table)
        else:
            # Created through a catalog entry named after the folder (Sail cannot create
            # delta.`path` directly); a stale entry for a removed folder is dropped first.
            Path(self.path(table)).parent.mkdir(parents=True, exist_ok=True)
            target = f"`echo_{table.name.strip('_')}_{hashlib.sha1(self.path(table).encode()).hexdigest()[:12]}`"
            self.spark.sql(f"DROP TABLE IF EXISTS {target}").collect()
        ddl = f"CREATE TABLE IF NOT EXISTS {target} ({columns}) USING delta"
        if table.partition_by:
            ddl += " PARTITIONED BY (" + ", ".join(f"`{c}`" for c in table.partition_by) + ")"
        ddl += f" COMMENT {_sql_string(table.meaning)}"
        if not self.uses_catalog:
            ddl += f" LOCATION {_sql_string(self.path(table))}"
        return ddl

    def add_missing_columns(self, table: TableDef) -> None:
        """A table written before some of its declared columns existed gains them (null in its old
        rows), so that writes of the current schema (MERGE ... UPDATE SET *) do not fail on it."""
        if not self.exists(table):
            return
        present = set(self.read(table).columns)
        missing = [(f, c) for f, c in zip(table.schema.fields, table.columns) if f.name not in present]
        if not missing:
            return
        if self.uses_catalog:
            columns = ", ".join(f"`{f.name}` {f.dataType.simpleString()} COMMENT {_sql_string(c.meaning)}" for f, c in missing)
            self.spark.sql(f"ALTER TABLE {self.name(table)} ADD COLUMNS ({columns})").collect()
            return
        import pyarrow as pa
        from deltalake import DeltaTable, Field
        from pyspark.sql.pandas.types import to_arrow_type

        # Through Arrow: delta-rs names types its own way (long, array<long>), not by Spark's strings.
        DeltaTable(self.path(table)).alter.add_columns([
            Field.from_arrow(pa.field(f.name, to_arrow_type(f.dataType, timezone="UTC"), nullable=True)) for f, _ in missing])

    # -- reads ------------------------------------------------------------------------------
    def read(self, table: TableDef, version: int | None = None) -> DataFrame:
        self.ensure(table)
        if self.uses_catalog:
            if version is None:
                return self.spark.table(self.name(table))
            return self.spark.sql(f"SELECT * FROM {self.name(table)} VERSION AS OF {int(version)}")
        reader = self.spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", int(version))
        return reader.load(self.path(table))

    def history(self, table: TableDef) -> list[dict[str, Any]]:
        """Commits of the table, newest first (delta-rs locally: Sail has no DESCRIBE HISTORY)."""
        if self.uses_catalog:
            return [row.asDict() for row in self.spark.sql(f"DESCRIBE HISTORY {self.name(table)}").collect()]
        from deltalake import DeltaTable

        return list(DeltaTable(self.path(table)).history())

    def version(self, table: TableDef) -> int:
        history = self.history(table)
        return int(history[0]["version"]) if history else -1

    # -- writes -----------------------------------------------------------------------------
    def conform(self, table: TableDef, df: DataFrame) -> DataFrame:
        """Exactly the table's columns, in order, cast to its types; absent columns are null."""
        present = set(df.columns)
        cols: list[SparkColumn] = []
        for field in table.schema.fields:
            source = F.col(f"`{field.name}`") if field.name in present else F.lit(None)
            cols.append(source.cast(field.dataType).alias(field.name))
        return df.select(*cols)

    def append(self, table: TableDef, df: DataFrame) -> None:
        self._write(table, self.conform(table, df), "append")

    def overwrite(self, table: TableDef, df: DataFrame) -> None:
        self._write(table, self.conform(table, df), "overwrite")

    def _write(self, table: TableDef, df: DataFrame, mode: str) -> None:
        self.ensure(table)
        writer = df.write.format("delta").mode(mode)
        if table.partition_by:
            writer = writer.partitionBy(*table.partition_by)
        if self.uses_catalog:
            writer.saveAsTable(f"{self.config.catalog}.{self.config.schema_name}.{table.name}")
        else:
            writer.save(self.path(table))

    def merge(self, table: TableDef, df: DataFrame, *, update_matched: bool = False) -> None:
        """Upsert on the table's keys: insert new rows; update matched ones only if asked.

        With update_matched=False a rerun over the same input changes nothing but the log.
        """
        self.ensure(table)
        view = f"_echo_merge_{table.name}_{uuid.uuid4().hex[:12]}"
        self.conform(table, df).createOrReplaceTempView(view)
        on = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in table.keys)
        sql = f"MERGE INTO {self.name(table)} AS t USING {view} AS s ON {on}"
        if update_matched:
            sql += " WHEN MATCHED THEN UPDATE SET *"
        sql += " WHEN NOT MATCHED THEN INSERT *"
        try:
            self.spark.sql(sql).collect()
        finally:
            self.spark.catalog.dropTempView(view)

    def drop_local(self, table: TableDef) -> None:
        """Forget a scratch table: locally its folder is removed, on a catalog it is dropped."""
        self._ready.discard(table.name)
        if self.uses_catalog:
            self.spark.sql(f"DROP TABLE IF EXISTS {self.name(table)}").collect()
        else:
            shutil.rmtree(self.path(table), ignore_errors=True)

    def delete(self, table: TableDef, condition: str) -> None:
        self.ensure(table)
        self.spark.sql(f"DELETE FROM {self.name(table)} WHERE {condition}").collect()
