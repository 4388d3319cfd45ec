"""Which landing files a `--landing PATH_OR_GLOB` names.

Local paths are resolved here so that a missing path is a clear usage error, not an empty
success; URIs (s3://, abfss://, dbfs:/ ...) are left to the engine, which lists them itself.
"""

from __future__ import annotations

import fnmatch
import glob
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError

GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class LandingSelection:
    paths: list[str]  # explicit files (local) or one URI (remote)
    remote: bool
    # A local landing folder: the engine lists it itself and the listing is narrowed to `paths`.
    folder: str | None = None


def is_uri(path: str) -> bool:
    return "://" in path or path.startswith("dbfs:")


def matches(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


def select_landing(landing: str, patterns: list[str]) -> LandingSelection:
    if is_uri(landing):
        return LandingSelection([landing], remote=True)
    if landing.startswith("file:"):
        landing = "/" + landing[len("file:"):].lstrip("/")
    if GLOB_CHARS & set(landing):
        found = sorted(p for p in glob.glob(landing, recursive=True) if os.path.isfile(p))
        if not found:
            raise UsageError(f"--landing {landing}: no file matches")
        return LandingSelection([str(Path(p).resolve()) for p in found], remote=False)
    root = Path(landing)
    if not root.exists():
        raise UsageError(f"--landing {landing}: no such file or directory")
    if root.is_file():
        return LandingSelection([str(root.resolve())], remote=False)
    folder = root.resolve()
    found = sorted(
        str(folder / p.relative_to(root))  # as the engine lists it: links under the folder stay links
        for p in root.rglob("*")
        if p.is_file() and matches(p.name, patterns) and not any(part.startswith(("_", ".")) for part in p.relative_to(root).parts)
    )
    if not found:
        raise UsageError(f"--landing {landing}: no file matching {', '.join(patterns)}")
    return LandingSelection(found, remote=False, folder=str(folder))


def reprocess_matches(path: str, pattern: str, root: str | None) -> bool:
    """Whether `--reprocess PATTERN` names this file: '*' names all; otherwise a glob matched
    against the full path, the path relative to the landing folder, or the file name."""
    if pattern in ("", "*"):
        return True
    names = [path, path.rsplit("/", 1)[-1]]
    if root:
        prefix = normalize_source(root).rstrip("/") + "/"
        if path.startswith(prefix):
            names.append(path[len(prefix):])
    return any(fnmatch.fnmatchcase(name, pattern) for name in names)


def normalize_source(path: str) -> str:
    """One spelling per file whatever the engine reports (`file:/x`, `file:///x`, `x` for `/x`)."""
    if path.startswith("file:"):
        return "/" + path[len("file:"):].lstrip("/")
    if "://" in path or path.startswith(("dbfs:", "/")):
        return path
    return "/" + path
