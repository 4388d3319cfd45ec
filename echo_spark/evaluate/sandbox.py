"""Run generated code and its tests in a subprocess that cannot take the evaluation down with it.

The program runs in a fresh interpreter (`-I`: no environment variables, no user site, no current
folder on the path) in an empty temporary folder that is removed afterwards, with an empty
environment, in its own process group that is killed when the time limit passes, and under
resource limits (address space, CPU seconds, file size, open files). This contains accidents
(an infinite loop, a memory blow-up, a stray file write); it is not a security boundary for
hostile code, which needs a container or a VM.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

MEMORY_BYTES = 1 << 30
FILE_BYTES = 1 << 20
OPEN_FILES = 64


@dataclass(frozen=True)
class RunResult:
    passed: bool
    reason: str  # passed, failed (non-zero exit), timeout


def _limit(cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_BYTES, FILE_BYTES))
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))


def run_program(source: str, timeout_s: float) -> RunResult:
    """Run `source` as a Python program; it passes when it exits 0 within `timeout_s` seconds."""
    with tempfile.TemporaryDirectory(prefix="echo-sandbox-") as folder:
        program = Path(folder) / "program.py"
        program.write_text(source, encoding="utf-8")
        process = subprocess.Popen(
            [sys.executable, "-I", str(program)],
            cwd=folder,
            env={},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=lambda: _limit(int(timeout_s) + 1),
        )
        try:
            code = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return RunResult(False, "timeout")
        finally:
            # Whatever the program started in its group goes with it.
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return RunResult(code == 0, "passed" if code == 0 else "failed")
