"""The gold table as training reads it (`training.data.GoldSource`), through the table layer.

The lakehouse says where the table is and which versions it has; how the rows reach Ray Data
depends on where it is:
- a folder (the local lakehouse, or a path/URI given as `train.gold_table`): Ray Data reads the
  Delta files itself at the pinned version (delta-rs), in parallel read tasks;
- a Unity Catalog table: Spark reads it by name at the pinned version (`VERSION AS OF`) and the
  rows go to Ray Data as Arrow (`ray.data.from_arrow`). On Databricks the Ray on Spark driver has
  that Spark session, and Spark holds the catalog's credentials and permissions; a path read of a
  managed table's storage location (`DESCRIBE DETAIL`) would need storage credentials the Ray
  workers do not have, and the Databricks SQL connector a warehouse and a token. Gold tables of a
  few million samples fit in the driver's memory many times over (training collects their token
  ids on the driver anyway, training/sft.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from training.data import GOLD_COLUMNS, GoldSource, GoldTableError

from .lakehouse import Lakehouse, is_path

if TYPE_CHECKING:
    import ray.data


@dataclass
class LakehouseGold:
    """One table of (or known to) the lakehouse, read at a pinned version."""

    lakehouse: Lakehouse
    address: str

    def pinned_version(self, asked: int | None) -> int:
        if not self.lakehouse.exists(self.address):
            raise GoldTableError(f"no Delta table at {self.address} (run the curate stage first)")
        try:
            version = self.lakehouse.pinned_version(self.address, asked)
        except LookupError as err:
            raise GoldTableError(f"{self.address}: cannot load version {asked}: {err}") from None
        missing = [c for c in GOLD_COLUMNS if c not in self.lakehouse.columns(self.address)]
        if missing:
            raise GoldTableError(f"{self.address} is not a gold sft_samples table: missing columns {missing}")
        return version

    def dataset(self, version: int, columns: list[str]) -> "ray.data.Dataset":
        import ray.data

        if is_path(self.address):
            return ray.data.read_delta(self.address, version=version, columns=columns)
        return ray.data.from_arrow(self.lakehouse.to_arrow(self.address, version, columns))


def gold_source(lakehouse: Lakehouse, gold_table: str) -> GoldSource:
    """`train.gold_table`: a table name of the lakehouse (on its catalog when one is set), or the
    path or URI of a Delta table."""
    return LakehouseGold(lakehouse, lakehouse.address(gold_table))
