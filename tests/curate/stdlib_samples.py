"""Clean code with a known gap: windows cut from library (not test) files of the local standard
library, deterministically, as (prefix, middle, suffix)."""

from __future__ import annotations

import random
import sysconfig
from pathlib import Path


def stdlib_gaps(count: int) -> list[tuple[str, str, str]]:
    root = Path(sysconfig.get_paths()["stdlib"])
    skip = {"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__"}
    files = sorted(p for p in root.rglob("*.py") if not skip & set(p.relative_to(root).parts))
    gaps = []
    for path in files[:: max(1, len(files) // count)][:count]:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
        rng = random.Random(path.relative_to(root).as_posix())
        cut = rng.randrange(max(1, len(lines) - 4))
        start = sum(len(line) for line in lines[:cut])
        middle = sum(len(line) for line in lines[cut : cut + rng.randint(1, 4)])
        text = "".join(lines)
        gaps.append((text[max(0, start - 1500) : start], text[start : start + middle], text[start + middle : start + middle + 500]))
    return gaps
