"""Fill-in-the-middle benchmarks (HumanEval infilling): exact match of the middle, and pass@1.

A task gives the code before and after a removed span (`prompt`, `suffix`), the span itself
(`canonical_solution`) and tests (`test`, `check(entry_point)`). The model fills the span once,
greedily, so pass@1 is the share of tasks whose completed program passes its tests; each program
runs in the sandbox with a time limit. A seeded sample of tasks per file keeps a run short; the same
sample for every arm.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..curate.text import stable_hash
from .sandbox import run_program


@dataclass(frozen=True)
class Task:
    benchmark: str  # the file's name without extension, e.g. he_SingleLineInfilling
    task_id: str
    prompt: str
    suffix: str
    middle: str
    test: str
    entry_point: str

    def program(self, middle: str) -> str:
        return f"{self.prompt}{middle}{self.suffix}\n\n{self.test}\n\ncheck({self.entry_point})\n"


@dataclass(frozen=True)
class TaskResult:
    benchmark: str
    task_id: str
    exact_match: bool
    passed: bool | None  # None: tests not run


def _name(path: Path) -> str:
    return path.name.split(".", 1)[0]


def load_tasks(folder: Path, pattern: str, per_file: int, seed: int) -> list[Task]:
    """A seeded sample of `per_file` tasks (0 = all) from each matching JSON Lines file."""
    paths = sorted(folder.glob(pattern))
    if not paths:
        raise FileNotFoundError(f"no benchmark files {pattern!r} in {folder}")
    tasks: list[Task] = []
    for path in paths:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as lines:
            rows = [json.loads(line) for line in lines if line.strip()]
        rows.sort(key=lambda r: stable_hash(("benchmark", str(seed), r["task_id"])))
        for row in rows[:per_file] if per_file else rows:
            tasks.append(Task(_name(path), row["task_id"], row["prompt"], row.get("suffix") or "",
                              row["canonical_solution"], row["test"], row["entry_point"]))
    return tasks


def score_task(task: Task, middle: str, run_tests: bool, timeout_s: float) -> TaskResult:
    passed = run_program(task.program(middle), timeout_s).passed if run_tests else None
    return TaskResult(task.benchmark, task.task_id, middle.rstrip() == task.middle.rstrip(), passed)


def score_tasks(
    tasks: Sequence[Task],
    middles: Sequence[str],
    run_tests: bool,
    timeout_s: float,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[TaskResult]:
    """Each task with the middle a model filled in for it."""
    if len(tasks) != len(middles):
        raise ValueError(f"{len(tasks)} tasks but {len(middles)} middles")
    results = []
    for done, (task, middle) in enumerate(zip(tasks, middles), 1):
        results.append(score_task(task, middle, run_tests, timeout_s))
        if on_progress:
            on_progress(done, len(tasks))
    return results


def summarize(results: Sequence[TaskResult]) -> dict[str, dict[str, float | int | None]]:
    """Per benchmark file (and "all"): tasks, exact match, pass@1."""
    groups: dict[str, list[TaskResult]] = {}
    for result in results:
        groups.setdefault(result.benchmark, []).append(result)
    if results:
        groups["all"] = list(results)
    summary = {}
    for name, rows in groups.items():
        ran = [r.passed for r in rows if r.passed is not None]
        summary[name] = {
            "tasks": len(rows),
            "exact_match": sum(r.exact_match for r in rows) / len(rows),
            "pass_at_1": sum(ran) / len(ran) if ran else None,
        }
    return summary
