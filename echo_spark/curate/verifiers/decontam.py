"""Decontamination: gaps that overlap an evaluation set are dropped before training.

A model trained on the benchmark's own code (or on the held-out evaluation cohort) scores what it
memorised, not what it learned. A gap is contaminated when its sample (prefix + C_N + suffix)
shares any run of `n` tokens with an evaluation document (the standard n-gram test; 13 tokens by
default). Tokens ignore whitespace, so reformatted copies are caught too.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from ...config import BenchmarksConfig
from ...errors import UsageError
from ..records import Gap, Verdict
from ..text import tokens

STAGE = "decontam"


def default_benchmarks_dir() -> Path:
    """../shared/data/benchmarks next to a source checkout (`benchmarks.dir` overrides it)."""
    return Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "benchmarks"


def benchmarks_folder(config: BenchmarksConfig) -> Path:
    """The benchmarks folder of a configuration: the one place curate and evaluate resolve it.
    A usage error, on the driver before any work, when it holds no matching file."""
    folder = Path(config.dir) if config.dir else default_benchmarks_dir()
    if not any(folder.glob(config.glob)):
        where = "benchmarks.dir" if config.dir else "benchmarks.dir is not set and the default (a source checkout's ../shared)"
        raise UsageError(f"{where}: no benchmark files {config.glob!r} in {folder}")
    return folder


class ContaminationIndex:
    """The token n-grams of every evaluation document, as tuples of vocabulary ids.

    A sample's n-gram can only be indexed when each of its tokens occurs in some evaluation
    document, so a sample is read as ids (unknown tokens break it into runs) and only the windows
    of a run are looked up. Built per process from the same documents, it needs no stable hash:
    hashing each of a sample's n-grams was most of this stage's time.
    """

    def __init__(self, name: str, n: int) -> None:
        self.name = name  # "benchmarks", "heldout": named in the drop reason
        self.n = n
        self.vocabulary: dict[str, int] = {}
        self.grams: set[tuple[int, ...]] = set()
        self.documents = 0

    def add(self, text: str) -> None:
        ids = [self.vocabulary.setdefault(token, len(self.vocabulary)) for token in tokens(text)]
        self.grams |= _windows(ids, self.n)
        self.documents += 1

    def add_all(self, texts: Iterable[str]) -> ContaminationIndex:
        for text in texts:
            self.add(text)
        return self

    def shared(self, text: str) -> int:
        """How many distinct n-grams of the text the evaluation documents contain. A text of fewer
        than n tokens is one gram of all of them (it can match only a document as short)."""
        ids = [self.vocabulary.get(token, -1) for token in tokens(text)]
        if len(ids) < self.n:
            return int(-1 not in ids and tuple(ids) in self.grams) if ids else 0
        found: set[tuple[int, ...]] = set()
        run_start = 0
        for end in range(len(ids) + 1):
            if end == len(ids) or ids[end] < 0:
                if end - run_start >= self.n:
                    found |= _windows(ids[run_start:end], self.n) & self.grams
                run_start = end + 1
        return len(found)


def _windows(ids: list[int], n: int) -> set[tuple[int, ...]]:
    """Every run of n ids (one run of all ids when there are fewer)."""
    if len(ids) < n:
        return {tuple(ids)} if ids else set()
    return {tuple(ids[i : i + n]) for i in range(len(ids) - n + 1)}


def benchmark_documents(folder: Path, pattern: str) -> list[str]:
    """Each distinct benchmark program (prompt + canonical_solution + suffix) of the matching JSON Lines files."""
    paths = sorted(folder.glob(pattern))
    if not paths:
        raise FileNotFoundError(f"no benchmark files {pattern!r} in {folder}")
    documents: set[str] = set()
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else path.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    task = json.loads(line)
                    documents.add(task["prompt"] + task["canonical_solution"] + (task.get("suffix") or ""))
    return sorted(documents)


def benchmark_index(config: BenchmarksConfig, n: int) -> ContaminationIndex:
    """The benchmark index of a configuration, built once per process."""
    return _index(str(benchmarks_folder(config)), config.glob, n)


@cache
def _index(folder: str, pattern: str, n: int) -> ContaminationIndex:
    return ContaminationIndex("benchmarks", n).add_all(benchmark_documents(Path(folder), pattern))


def check_decontamination(gap: Gap, indexes: Iterable[ContaminationIndex]) -> Verdict:
    """Drop a gap sharing an n-gram with any index (benchmarks, the held-out cohort)."""
    sample = gap.prefix + gap.committed + gap.suffix_text
    for index in indexes:
        if index.shared(sample):
            return Verdict.dropped(STAGE, f"overlaps_{index.name}")
    return Verdict.kept(STAGE)
