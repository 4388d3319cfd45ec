"""A Unity Catalog stand-in over the embedded engine, for the table layer's catalog branch.

Sail has no Unity Catalog and no DESCRIBE HISTORY, so `CatalogOnSail` wraps a real session: a
three-part name `catalog`.`schema`.`table` in SQL or `table()` becomes the Delta folder of that
table under a local root, DESCRIBE HISTORY is answered from the folder's log (delta-rs, as the
statement's rows would be), and `catalog.tableExists` looks for the folder. What the lakehouse
sends for a catalog table (names, VERSION AS OF, DESCRIBE HISTORY) is then executed for real; only
the name-to-storage step is emulated. It reads and deletes; creating and saveAsTable are not emulated.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

from pyspark.sql import Row, SparkSession


class CatalogOnSail:
    def __init__(self, spark: SparkSession, catalog: str, schema: str, root: Path):
        self._spark, self._prefix, self._root = spark, (catalog, schema), Path(root)
        self.statements: list[str] = []
        self.catalog = SimpleNamespace(tableExists=self._exists)
        self.read = spark.read

    def _folder(self, name: str) -> Path | None:
        parts = [p.strip("`") for p in name.split(".")]
        if len(parts) != 3 or tuple(parts[:2]) != self._prefix:
            return None
        return (self._root / parts[2]).resolve()

    def _exists(self, name: str) -> bool:
        folder = self._folder(name)
        return folder is not None and (folder / "_delta_log").is_dir()

    def _rewrite(self, sql: str) -> str:
        def local(match: re.Match) -> str:
            folder = self._folder(match.group(0))
            return f"delta.`{folder}`" if folder is not None else match.group(0)

        return re.sub(r"`[^`]+`\.`[^`]+`\.`[^`]+`", local, sql)

    def sql(self, statement: str):
        self.statements.append(statement)
        history = re.fullmatch(r"DESCRIBE HISTORY (.+)", statement.strip())
        if history:
            from deltalake import DeltaTable

            folder = self._folder(history.group(1))
            entries = DeltaTable(str(folder)).history()
            return SimpleNamespace(collect=lambda: [Row(**e) for e in entries])
        return self._spark.sql(self._rewrite(statement))

    def table(self, name: str):
        self.statements.append(f"TABLE {name}")
        return self._spark.read.format("delta").load(str(self._folder(name)))
