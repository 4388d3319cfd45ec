"""The code corpus of the tiny base model: source files sampled deterministically from a folder.

Default: this Python's standard library, which every machine has, so the base model (and the
tokenizer trained with it) can be rebuilt anywhere with no download. Files are chosen by a hash of
their relative path, so the same folder always yields the same sample whatever the listing order.
"""

from __future__ import annotations

import hashlib
import sysconfig
from dataclasses import dataclass
from pathlib import Path

# Third-party and test code is not what the model should imitate; caches are not source.
_SKIPPED_DIRS = {"site-packages", "dist-packages", "__pycache__", "test", "tests", "idlelib", "lib2to3"}
_MAX_FILE_BYTES = 200_000


@dataclass(frozen=True)
class SourceFile:
    path: str  # relative to the corpus root
    text: str


def default_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def sample_files(root: Path | None, count: int, suffixes: tuple[str, ...] = (".py",)) -> list[SourceFile]:
    """Up to `count` readable source files under `root`, in a deterministic order."""
    root = Path(root) if root else default_root()
    if not root.is_dir():
        raise FileNotFoundError(f"corpus folder not found: {root}")
    candidates = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if path.suffix not in suffixes or _SKIPPED_DIRS.intersection(rel.parts[:-1]) or not path.is_file():
            continue
        if path.stat().st_size > _MAX_FILE_BYTES:
            continue
        candidates.append((hashlib.sha256(rel.as_posix().encode()).hexdigest(), rel.as_posix(), path))
    files = []
    for _, rel_name, path in sorted(candidates):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if text.strip():
            files.append(SourceFile(rel_name, text))
        if len(files) == count:
            break
    return files


def chunks(files: list[SourceFile], chars: int) -> list[str]:
    """Each file cut into pieces of about `chars` characters at line ends (training documents)."""
    out = []
    for f in files:
        piece: list[str] = []
        size = 0
        for line in f.text.splitlines(keepends=True):
            piece.append(line)
            size += len(line)
            if size >= chars:
                out.append("".join(piece))
                piece, size = [], 0
        if piece:
            out.append("".join(piece))
    return out
