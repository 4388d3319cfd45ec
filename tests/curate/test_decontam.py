"""Decontamination against the HumanEval infilling tasks and a held-out cohort."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from echo_spark.config import BenchmarksConfig, CurateConfig
from echo_spark.errors import UsageError
from echo_spark.curate.records import Gap, Verdict
from echo_spark.curate.verifiers.decontam import (
    ContaminationIndex,
    benchmark_documents,
    benchmark_index,
    check_decontamination,
    benchmarks_folder,
    default_benchmarks_dir,
)
from echo_spark.curate.pipeline import RowCurator
from echo_spark.curate.text import tokens

from .stdlib_samples import stdlib_gaps

CONFIG = CurateConfig()


@pytest.fixture(scope="module")
def benchmarks() -> ContaminationIndex:
    if not default_benchmarks_dir().is_dir():
        pytest.skip(f"benchmarks not found at {default_benchmarks_dir()}")
    return benchmark_index(BenchmarksConfig(), CONFIG.decontam_ngram)


def _first_task() -> dict:
    path = sorted(default_benchmarks_dir().glob("he_SingleLine*.jsonl.gz"))[0]
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return json.loads(next(lines))


def test_a_benchmark_task_in_the_context_is_dropped(benchmarks: ContaminationIndex) -> None:
    task = _first_task()
    gap = Gap("r", "# my notes\n" + task["prompt"], task["suffix"], task["canonical_solution"], "python")
    assert check_decontamination(gap, [benchmarks]) == Verdict.dropped("decontam", "overlaps_benchmarks")


def test_a_reindented_benchmark_solution_is_dropped(benchmarks: ContaminationIndex) -> None:
    task = _first_task()
    body = task["prompt"].split('"""')[0] + task["canonical_solution"]
    gap = Gap("r", "", None, body.replace("    ", "  "), "python")
    assert not check_decontamination(gap, [benchmarks]).keep


def test_ordinary_code_is_kept(benchmarks: ContaminationIndex) -> None:
    gap = Gap("r", "import csv\n\n\ndef read_rows(path):\n    with open(path) as fh:\n", "\n",
              "        return [row for row in csv.DictReader(fh) if row['status'] == 'active']", "python")
    assert check_decontamination(gap, [benchmarks]).keep


def test_held_out_cohort_is_its_own_index() -> None:
    heldout = ContaminationIndex("heldout", n=5).add_all(["def area(width, height):\n    return width * height\n"])
    gap = Gap("r", "def area(width, height):\n    ", "\n", "return width * height", "python")
    assert check_decontamination(gap, [heldout]) == Verdict.dropped("decontam", "overlaps_heldout")
    assert check_decontamination(Gap("r", "def volume(a, b, c):\n    ", "\n", "return a * b * c", "python"), [heldout]).keep


def test_benchmark_folder_and_pattern_are_configurable(tmp_path: Path) -> None:
    task = {"task_id": "T/0", "prompt": "def f(x):\n", "canonical_solution": "    return x\n", "suffix": ""}
    (tmp_path / "mine.jsonl").write_text(json.dumps(task) + "\n" + json.dumps(task) + "\n")
    assert benchmark_documents(tmp_path, "*.jsonl") == ["def f(x):\n    return x\n"]
    with pytest.raises(FileNotFoundError, match="no benchmark files"):
        benchmark_documents(tmp_path, "he_*.jsonl.gz")


def test_default_folder_sits_next_to_the_repository() -> None:
    repo = Path(__file__).resolve().parents[2]
    assert default_benchmarks_dir().resolve() == (repo.parent / "shared" / "data" / "benchmarks").resolve()


def test_curate_reads_the_one_benchmarks_setting(tmp_path: Path) -> None:
    """The `benchmarks` section is what decontamination compares with (evaluate scores the same files)."""
    task = {"task_id": "Mine/0", "prompt": "def triangle_area(base, height):\n",
            "canonical_solution": "    half_base = base / 2\n    return half_base * height * 1.0\n", "suffix": ""}
    (tmp_path / "he_Mine.jsonl").write_text(json.dumps(task) + "\n")
    row = {"request_id": "r", "session_id": "s", "user_id": "u", "doc_id": "d", "language": "python",
           "prefix": "def triangle_area(base, height):\n    ", "suffix": "\n",
           "committed": "half_base = base / 2\n    return half_base * height * 1.0", "outcome": "rejected",
           "proposal": None, "finalize_reason": "left_region"}
    mine = BenchmarksConfig(dir=str(tmp_path), glob="he_*.jsonl")
    [dropped] = RowCurator.build(CurateConfig(), benchmarks=mine).curate([dict(row)])
    assert (dropped["drop_stage"], dropped["drop_reason"]) == ("decontam", "overlaps_benchmarks")
    if default_benchmarks_dir().is_dir():  # the shared HumanEval tasks do not hold this program
        [kept] = RowCurator.build(CurateConfig()).curate([dict(row)])
        assert kept["kept"], kept
    with pytest.raises(UsageError, match="benchmarks.dir: no benchmark files"):
        benchmarks_folder(BenchmarksConfig(dir=str(tmp_path / "empty")))


def _grams(text: str, n: int) -> set[tuple[str, ...]]:
    """The n-gram test as stated: distinct runs of n tokens (all tokens when fewer)."""
    toks = tokens(text)
    return {tuple(toks[i:i + n]) for i in range(len(toks) - n + 1)} if len(toks) >= n else ({tuple(toks)} if toks else set())


def _indexed(documents: list[str], n: int) -> set[tuple[str, ...]]:
    return set().union(*(_grams(d, n) for d in documents))


_WORDS = st.sampled_from(["def", "f", "(", "x", ")", ":", "return", "+", "1", "y", "z", "\n", " ", "if"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_WORDS, max_size=30).map(" ".join), min_size=1, max_size=4),
       st.lists(_WORDS, max_size=40).map(" ".join), st.integers(1, 6))
def test_shared_counts_ngrams_as_defined(documents: list[str], text: str, n: int) -> None:
    index = ContaminationIndex("benchmarks", n).add_all(documents)
    assert index.shared(text) == len(_grams(text, n) & _indexed(documents, n))


def test_shared_on_stdlib_windows_against_the_benchmarks(benchmarks: ContaminationIndex) -> None:
    documents = benchmark_documents(benchmarks_folder(BenchmarksConfig()), BenchmarksConfig().glob)
    task = _first_task()
    texts = ["".join(parts) for parts in stdlib_gaps(60)] + [task["prompt"] + task["canonical_solution"]]
    indexed = _indexed(documents, benchmarks.n)
    counts = [benchmarks.shared(t) for t in texts]
    assert counts == [len(_grams(t, benchmarks.n) & indexed) for t in texts]
    assert counts[-1] > 0
