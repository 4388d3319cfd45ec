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

from ..records import Gap, Verdict
from ..text import ngram_hashes, tokens

STAGE = "decontam"


def default_benchmarks_dir() -> Path:
    """../shared/data/benchmarks next to the repository (curate.decontam_benchmarks_dir overrides it)."""
    return Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "benchmarks"


class ContaminationIndex:
    """N-gram hashes of every evaluation document; stable hashes, so it can be built once and shipped."""

    def __init__(self, name: str, n: int) -> None:
        self.name = name  # "benchmarks", "heldout": named in the drop reason
        self.n = n
        self.grams: set[int] = set()
        self.documents = 0

    def add(self, text: str) -> None:
        self.grams |= ngram_hashes(tokens(text), self.n)
        self.documents += 1

    def add_all(self, texts: Iterable[str]) -> ContaminationIndex:
        for text in texts:
            self.add(text)
        return self

    def shared(self, text: str) -> int:
        """How many of the text's n-grams the evaluation documents contain."""
        return len(ngram_hashes(tokens(text), self.n) & self.grams)


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


@cache
def benchmark_index(folder: str | None, pattern: str, n: int) -> ContaminationIndex:
    """The benchmark index of a configuration, built once per process (None: the default folder)."""
    path = Path(folder) if folder else default_benchmarks_dir()
    return ContaminationIndex("benchmarks", n).add_all(benchmark_documents(path, pattern))


def check_decontamination(gap: Gap, indexes: Iterable[ContaminationIndex]) -> Verdict:
    """Drop a gap sharing an n-gram with any index (benchmarks, the held-out cohort)."""
    sample = gap.prefix + gap.committed + gap.suffix_text
    for index in indexes:
        if index.shared(sample):
            return Verdict.dropped(STAGE, f"overlaps_{index.name}")
    return Verdict.kept(STAGE)
