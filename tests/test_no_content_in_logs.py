"""The jobs' own output (configuration, progress, summaries, errors) never shows document
content or completions, only counts, ids of files and reason codes."""

import json
import os
import subprocess
import sys

from .conftest import REPO
from .lifecycle_job.test_lifecycle_job import _session, _write

SECRET = "TOPSECRET_CONTENT_MARKER"


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), RUST_LOG="warn")
    return subprocess.run([sys.executable, "-m", "echo_spark.cli", *args], capture_output=True, text=True, env=env)


def test_job_output_never_contains_content(tmp_path, landing):
    events = _session("s1", f"{SECRET} = |\n", f"'{SECRET}'", 1_714_550_400_000)
    _write(landing, "a.jsonl", events)
    bad = {"event_id": "b", "type": "cursor", "ts": 1_714_550_400_000, "session_id": "s", "doc_id": "d",
           "offset": SECRET}
    landing.write("bad.jsonl", (json.dumps(bad) + "\n" + SECRET + " not json\n").encode())
    lakehouse = str(tmp_path / "lh")
    runs = [
        _cli("ingest", "--landing", str(landing.root), "--lakehouse", lakehouse),
        _cli("lifecycle", "--lakehouse", lakehouse),
        _cli("lifecycle", "--lakehouse", lakehouse, "--set", "lifecycle.anchor_chars=-1"),
    ]
    assert [r.returncode for r in runs] == [0, 0, 2]
    for run in runs:
        assert SECRET not in run.stdout and SECRET not in run.stderr
