"""The end-of-job summary table (stdout), as the other echo-spark jobs print theirs."""

from __future__ import annotations

from typing import Any


def print_summary(title: str, metrics: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=True)
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    Console(stderr=False).print(table)
