import gzip
import json

import pytest

from echo_spark.curate.verifiers.decontam import default_benchmarks_dir
from echo_spark.evaluate.benchmarks import load_tasks, score_tasks, summarize

TASK = {
    "task_id": "Toy/0",
    "prompt": "def add(a, b):\n",
    "suffix": "\n\ndef unused():\n    pass\n",
    "canonical_solution": "    return a + b\n",
    "test": "def check(candidate):\n    assert candidate(2, 3) == 5\n",
    "entry_point": "add",
}


@pytest.fixture
def folder(tmp_path):
    tasks = [dict(TASK, task_id=f"Toy/{i}") for i in range(6)]
    with gzip.open(tmp_path / "he_Toy.jsonl.gz", "wt") as fh:
        fh.writelines(json.dumps(t) + "\n" for t in tasks)
    return tmp_path


def test_a_seeded_sample_of_tasks_per_file(folder):
    sample = load_tasks(folder, "he_*.jsonl.gz", 3, seed=7)
    assert len(sample) == 3 and {t.benchmark for t in sample} == {"he_Toy"}
    assert [t.task_id for t in sample] == [t.task_id for t in load_tasks(folder, "he_*.jsonl.gz", 3, seed=7)]
    assert len(load_tasks(folder, "he_*.jsonl.gz", 0, seed=7)) == 6
    with pytest.raises(FileNotFoundError):
        load_tasks(folder, "nothing_*.jsonl", 3, seed=7)


def test_exact_match_and_pass_at_1(folder):
    tasks = load_tasks(folder, "he_*.jsonl.gz", 3, seed=7)
    middles = ["    return a + b", "    return b + a\n", "    return a - b\n"]
    results = score_tasks(tasks, middles, run_tests=True, timeout_s=5)
    assert [(r.exact_match, r.passed) for r in results] == [(True, True), (False, True), (False, False)]
    summary = summarize(results)
    assert summary["he_Toy"] == summary["all"] == {"tasks": 3, "exact_match": pytest.approx(1 / 3), "pass_at_1": pytest.approx(2 / 3)}
    untested = summarize(score_tasks(tasks, middles, run_tests=False, timeout_s=5))
    assert untested["all"]["pass_at_1"] is None


def test_the_canonical_solutions_of_the_shared_benchmarks_pass():
    folder = default_benchmarks_dir()
    if not folder.is_dir():
        pytest.skip(f"no benchmarks at {folder}")
    tasks = load_tasks(folder, "he_*.jsonl.gz", 2, seed=7)
    assert len({t.benchmark for t in tasks}) == 3
    results = score_tasks(tasks, [t.middle for t in tasks], run_tests=True, timeout_s=10)
    assert all(r.exact_match and r.passed for r in results)
