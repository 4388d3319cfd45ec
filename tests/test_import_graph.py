"""The import drawing of `echo_spark/` and `training/`: no circle, and every import runs down.

The graph is read from the source with `ast` (every `import`, wherever it stands: a lazy import
inside a function ties two modules as much as one at the top). A room is a subpackage or a
top-level module of `echo_spark` (`echo_spark.ingest`, `echo_spark.config`), or all of
`training`. Rooms sit on floors; a module imports its own room or rooms on lower floors, never a
room on its own floor or above. The floors are README's (Layout); a new room needs a floor here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("echo_spark", "training")

# Lowest first. Rooms on one floor do not import each other.
FLOORS: list[tuple[str, frozenset[str]]] = [
    # Import no other room: the telemetry contract, the settings, the table definitions, and
    # training, a library the stages call that reads nothing of the pipeline (its settings and data
    # are handed in).
    ("foundations", frozenset({
        "echo_spark", "echo_spark.config", "echo_spark.errors", "echo_spark.tables", "echo_spark.silver_digest",
        "echo_spark.units", "echo_spark.udf_server",
        "echo_spark.telemetry", "echo_spark.progress", "echo_spark.durable", "training",
    })),
    # The engine and the policies every stage applies.
    ("platform", frozenset({
        "echo_spark.engine", "echo_spark.privacy", "echo_spark.udf_pool", "echo_spark.holdout",
        "echo_spark.data_dictionary", "echo_spark.config_yaml",
    })),
    ("storage", frozenset({"echo_spark.lakehouse", "echo_spark.holdout_spark"})),
    ("table tools", frozenset({
        "echo_spark.erasure_tags", "echo_spark.gold_source", "echo_spark.sql",
    })),
    # What writes telemetry v1: the simulator (with its ground truth), the importers, the collector.
    ("telemetry sources", frozenset({"echo_spark.simulate", "echo_spark.importers", "echo_spark.collector"})),
    # What reads it: bronze, and the lifecycle tracker that the simulator's truth judges.
    ("bronze and silver", frozenset({"echo_spark.ingest", "echo_spark.lifecycle"})),
    ("gold and models", frozenset({"echo_spark.curate", "echo_spark.forget", "echo_spark.train"})),
    ("evaluate", frozenset({"echo_spark.evaluate"})),
    # The command line, the demo, and what the UDF fork server runs as it starts (udf_preload).
    ("entry points", frozenset({"echo_spark.cli", "echo_spark.demo", "echo_spark.udf_preload"})),
]
FLOOR_OF = {room: level for level, (_, rooms) in enumerate(FLOORS) for room in rooms}


def _modules() -> dict[str, tuple[Path, bool]]:
    """Dotted name -> (file, is a package's __init__)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


MODULES = _modules()


def _ours(name: str) -> str | None:
    """The module of ours that importing `name` loads last (a name imported from a module is that module)."""
    while name:
        if name in MODULES:
            return name
        if "." not in name:
            return None
        name = name.rsplit(".", 1)[0]
    return None


def _imported(module: str, path: Path, is_package: bool) -> Iterator[str]:
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            names = [f"{origin}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            target = _ours(name)
            if target is not None and target != module:
                yield target


GRAPH = {module: set(_imported(module, path, is_package)) for module, (path, is_package) in MODULES.items()}


def room(module: str) -> str:
    parts = module.split(".")
    return "training" if parts[0] == "training" else ".".join(parts[:2])


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_graph_is_read_from_the_source() -> None:
    # Imports of every form the code uses: absolute, relative, from a package, inside a function.
    assert "echo_spark.telemetry.parse" in GRAPH["echo_spark.ingest.parse_files"]  # from ..telemetry.parse import
    assert "echo_spark.lifecycle.events" in GRAPH["echo_spark.lifecycle.positions"]  # from echo_spark.x import
    assert "training.inference" in GRAPH["echo_spark.curate.scoring"]  # inside a function
    assert "echo_spark" in GRAPH["echo_spark.cli"]  # from . import __version__
    assert "echo_spark.simulate.job" in GRAPH["echo_spark.demo"]  # from .simulate.job import


def test_cycle_finder_finds_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle() -> None:
    assert _cycles(GRAPH) == []


def test_every_room_has_a_floor() -> None:
    assert sorted({room(m) for m in MODULES} - set(FLOOR_OF)) == []
    assert sorted(set(FLOOR_OF) - {room(m) for m in MODULES}) == []  # no floor for a room that is gone


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_run_down(package: str) -> None:
    def floor(module: str) -> str:
        level = FLOOR_OF.get(room(module))
        return "no floor" if level is None else FLOORS[level][0]

    upward = sorted(
        f"{module} -> {target} ({floor(module)} imports {floor(target)})"
        for module, targets in GRAPH.items() if module.split(".")[0] == package
        for target in targets
        if room(target) != room(module) and FLOOR_OF.get(room(target), -1) >= FLOOR_OF.get(room(module), -1)
    )
    assert upward == []
