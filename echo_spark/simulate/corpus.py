"""The code the simulated developers write: real source files, sampled without loading the corpus.

The corpus is a folder (walked) or a glob (matched lazily). Only the `max_files` files with the
smallest path hash are kept, in a bounded heap, so memory does not grow with the corpus and the
sample does not depend on listing order; a file's text is read only when a session opens it.
"""

from __future__ import annotations

import glob
import heapq
import os
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..errors import UsageError
from .cohorts import HELDOUT, cohort_of, path_fraction

# LSP language identifiers of the extensions worth simulating.
LANGUAGES = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".ts": "typescript",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".hpp": "cpp",
    ".cs": "csharp",
    ".go": "go",
    ".rs": "rust",
    ".rb": "ruby",
    ".sh": "shellscript",
}
# Vendored third-party code and caches are not what the developers of a project write.
SKIPPED_DIRS = frozenset({"site-packages", "dist-packages", "__pycache__", "node_modules", ".git"})
GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class CorpusFile:
    rel_path: str  # relative to the corpus root, "/"-separated: the key of cohorts and sampling
    path: str
    language: str
    cohort: str


def default_root() -> str:
    return sysconfig.get_paths()["stdlib"]


def _root_and_paths(spec: str) -> tuple[str, Iterator[str]]:
    """The folder that relative paths start from, and a lazy stream of candidate paths."""
    if GLOB_CHARS & set(spec):
        parts = Path(spec).parts
        fixed = parts[: next(i for i, p in enumerate(parts) if GLOB_CHARS & set(p))]
        return (str(Path(*fixed)) if fixed else "."), glob.iglob(spec, recursive=True)
    if not os.path.isdir(spec):
        raise UsageError(f"--corpus {spec}: not a folder or a glob")
    return spec, _walk(spec)


def _walk(root: str) -> Iterator[str]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".")]
        for name in files:
            yield os.path.join(folder, name)


def scan(spec: str | None, max_files: int, max_bytes: int, heldout_share: float) -> list[CorpusFile]:
    """The sampled files, ordered by path hash; a usage error when none is usable."""
    root, paths = _root_and_paths(spec or default_root())
    heap: list[tuple[float, str, str]] = []  # max-heap by negated hash: the smallest hashes stay
    for path in paths:
        language = LANGUAGES.get(os.path.splitext(path)[1])
        if language is None or not os.path.isfile(path):
            continue
        size = os.path.getsize(path)
        if size == 0 or size > max_bytes:
            continue
        rel = Path(os.path.relpath(path, root)).as_posix()
        item = (-path_fraction(rel, "sample"), rel, path)
        if len(heap) < max_files:
            heapq.heappush(heap, item)
        elif item > heap[0]:
            heapq.heapreplace(heap, item)
    if not heap:
        kinds = ", ".join(sorted(LANGUAGES))
        raise UsageError(f"--corpus {spec or root}: no source file ({kinds}) of at most {max_bytes} bytes")
    return [
        CorpusFile(rel, path, LANGUAGES[os.path.splitext(path)[1]], cohort_of(rel, heldout_share))
        for _, rel, path in sorted(heap, reverse=True)
    ]


def read_source(file: CorpusFile) -> str | None:
    """The file's text with `\\n` line ends, or None when it is not UTF-8 or holds no code."""
    try:
        with open(file.path, encoding="utf-8") as fh:
            text = fh.read()
    except (UnicodeDecodeError, OSError):
        return None
    if "\x00" in text or not text.strip():
        return None
    return text if text.endswith("\n") else text + "\n"


def heldout_files(spec: str | None, heldout_share: float) -> list[CorpusFile]:
    """Every file of the corpus that a simulation can hold out, at any `corpus_max_files` and
    `max_file_bytes`: what a base model must never be trained on (cohorts are by path alone)."""
    return [f for f in scan(spec, sys.maxsize, sys.maxsize, heldout_share) if f.cohort == HELDOUT]
