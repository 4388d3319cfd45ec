"""Light entry points: each job imports what it needs, when it runs.

The Databricks bundle's ingest and lifecycle tasks install the wheel without extras, so those
stages (and `echo-spark sql`) must run on the base install: none of the curate extra (presidio,
spaCy, tree-sitter) nor the train extra (torch, Ray, transformers, MLflow ...) may be imported on
their way. A second virtual environment without the extras takes minutes to build, so the test
runs the real entry points in a subprocess whose `sitecustomize` makes every import of those
packages fail (in that process and in every Python process it starts: the UDF pool's workers too).
"""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from echo_spark import __version__
from echo_spark.cli import JOBS, main

from .conftest import REPO

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "importers"

# Top-level packages of the extras (`curate`, `train`, `bundle`) that the base install lacks.
EXTRAS_ONLY = (
    "presidio_analyzer", "presidio_anonymizer", "spacy", "thinc",
    "tree_sitter", "tree_sitter_python", "tree_sitter_javascript", "tree_sitter_cpp",
    "torch", "ray", "transformers", "tokenizers", "mlflow", "peft", "matplotlib", "databricks",
)

BLOCKER = textwrap.dedent(
    """
    import os, sys

    BLOCKED = set(os.environ["ECHO_BLOCKED_MODULES"].split(","))

    class _Hide:
        # Every import finder, blind to the extras' packages: `import torch` raises
        # ModuleNotFoundError and `importlib.util.find_spec("torch")` (a presence probe, as
        # PySpark makes) is None, exactly as on an install without them.
        def __init__(self, finder):
            self._finder = finder

        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                return None
            find_spec = getattr(self._finder, "find_spec", None)
            return find_spec(name, path, target) if find_spec else None

        def __getattr__(self, attribute):
            return getattr(self._finder, attribute)

    for module in BLOCKED & set(sys.modules):
        raise RuntimeError(f"{module} was imported before sitecustomize")
    sys.meta_path[:] = [_Hide(finder) for finder in sys.meta_path]
    """
)


def _console_scripts() -> dict[str, str]:
    parser = configparser.ConfigParser()
    parser.read(REPO / "setup.cfg")
    lines = parser["options.entry_points"]["console_scripts"].strip().splitlines()
    return {name.strip(): target.strip() for name, target in (line.split("=", 1) for line in lines)}


@pytest.fixture
def base_install(tmp_path):
    """Run a console script (by its setup.cfg target) as if only the base install were there."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAIL_")} | {
        "PYTHONPATH": os.pathsep.join([str(site), str(REPO)]),
        "ECHO_BLOCKED_MODULES": ",".join(EXTRAS_ONLY),
    }
    scripts = _console_scripts()

    def run(script: str, *argv: str) -> subprocess.CompletedProcess:
        module, function = scripts[script].split(":")
        code = f"import sys; sys.argv[0] = {script!r}; from {module} import {function}; sys.exit({function}())"
        return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, env=env, cwd=REPO)

    return run


def test_the_blocker_blocks(base_install):
    """The check can fail: a stage that needs an extra does not even import under it."""
    proc = base_install("echo-spark", "curate", "--help")
    assert proc.returncode != 0
    missing = proc.stderr.strip().splitlines()[-1]
    assert missing.startswith("ModuleNotFoundError: No module named"), proc.stderr[-2000:]
    assert missing.split("'")[1].partition(".")[0] in EXTRAS_ONLY


def test_ingest_lifecycle_and_sql_run_on_the_base_install(base_install, tmp_path):
    lakehouse = str(tmp_path / "lh")
    common = ["--lakehouse", lakehouse, "--quiet"]
    ingest = base_install("echo-spark-ingest", "--format", "continue", "--landing", str(FIXTURES / "continue"),
                          "--import-out", str(tmp_path / "imported"), *common)
    assert ingest.returncode == 0, ingest.stderr[-3000:]
    lifecycle = base_install("echo-spark-lifecycle", *common)
    assert lifecycle.returncode == 0, lifecycle.stderr[-3000:]
    sql = base_install("echo-spark", "sql", "SELECT count(*) AS n FROM completions", "--output",
                       str(tmp_path / "n.csv"), *common)
    assert sql.returncode == 0, sql.stderr[-3000:]
    assert int((tmp_path / "n.csv").read_text().split()[1]) > 0  # the lifecycle really wrote silver


def test_help_and_version_import_no_job(tmp_path):
    """`echo-spark --help` lists the jobs without importing any of them (nor the engine or the
    configuration's models): that is what keeps it fast."""
    probe = textwrap.dedent(
        """
        import sys, time
        started = time.perf_counter()
        from echo_spark.cli import main
        for argv in (["--help"], ["--version"]):
            try:
                main(argv)
            except SystemExit as exit:
                assert exit.code == 0, exit.code
        loaded = sorted({m.partition(".")[0] for m in sys.modules} | set(m for m in sys.modules if m.startswith("echo_spark.")))
        print("LOADED", ",".join(loaded))
        print("SECONDS", time.perf_counter() - started)
        """
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO,
                          env=os.environ | {"PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    assert f"echo-spark {__version__}" in proc.stdout
    assert "ingest" in proc.stdout and "curate" in proc.stdout  # every job listed
    loaded = set(next(line for line in proc.stdout.splitlines() if line.startswith("LOADED")).split()[1].split(","))
    job_modules = {module for module, _ in JOBS.values()}
    heavy = {"pyspark", "pydantic", "yaml", "pandas", "pyarrow", *EXTRAS_ONLY}
    assert not loaded & (job_modules | heavy), loaded & (job_modules | heavy)


@pytest.mark.parametrize("script", ["echo-spark-ingest", "echo-spark-lifecycle"])
def test_a_stage_script_has_version(script, base_install):
    proc = base_install(script, "--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"echo-spark {__version__}"


def test_the_effective_configuration_goes_to_stderr_not_stdout(tmp_path, capsys):
    """stdout carries a command's output alone (here `sql`'s result); the configuration is on
    stderr, and --quiet drops it."""
    (tmp_path / "t.jsonl").write_text("not json\n")
    lakehouse = str(tmp_path / "lh")
    assert main(["ingest", "--landing", str(tmp_path / "t.jsonl"), "--lakehouse", lakehouse, "--quiet"]) == 0
    capsys.readouterr()
    csv = tmp_path / "q.csv"
    assert main(["sql", "SELECT count(*) AS n FROM quarantine", "--lakehouse", lakehouse, "--output", str(csv)]) == 0
    captured = capsys.readouterr()
    assert "effective configuration" in captured.err and "lakehouse:" in captured.err
    assert captured.out.strip() == f"1 rows written to {csv}"
    assert main(["sql", "SELECT 1", "--lakehouse", lakehouse, "--quiet", "--output", str(csv)]) == 0
    assert "effective configuration" not in capsys.readouterr().err


def test_a_missing_landing_path_fails_before_the_engine_starts(tmp_path, capsys, monkeypatch):
    import echo_spark.ingest.job as ingest_job

    def no_engine(*_, **__):
        raise AssertionError("the engine was started")

    monkeypatch.setattr(ingest_job, "get_spark", no_engine)
    assert main(["ingest", "--landing", str(tmp_path / "missing"), "--lakehouse", str(tmp_path / "lh"), "--quiet"]) == 2
    assert "--landing" in capsys.readouterr().err
    assert main(["ingest", "--landing", str(tmp_path / "none" / "*.jsonl"), "--quiet"]) == 2
    assert "no file matches" in capsys.readouterr().err


def test_the_curate_driver_does_not_import_the_secret_scanner():
    """Presidio and spaCy (and transformers, which presidio pulls in) take seconds to import, datasketch
    a third of one: the curate job's driver plans the stages, and only the processes that verify or
    dedup gaps load them."""
    heavy = ("presidio_analyzer", "spacy", "transformers", "torch", "datasketch")
    code = f"import sys, echo_spark.cli, echo_spark.curate.job; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_secret_scanner_imports_neither_torch_nor_transformers():
    """A curate worker builds the scanner before its first batch: spaCy's thinc would import torch
    and presidio transformers, seconds per worker for engines the scanner never uses. Both stay
    importable afterwards (the perplexity scorer runs in the same workers)."""
    code = (
        "import sys\n"
        "from echo_spark.curate.verifiers.secrets import shared_scanner\n"
        "found = shared_scanner(0.5, 3.0).find('CONTACT = \"alex.moreau@fieldline.de\"')\n"
        "loaded = [m for m in ('torch', 'transformers') if m in sys.modules]\n"
        "import torch, transformers\n"
        "print(loaded, [f.entity for f in found], torch.tensor([1]).item())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] ['EMAIL'] 1"


def test_a_prepared_curate_worker_imports_nothing_for_its_first_batch():
    """What `prepare_curator` loads in a UDF worker while the engine starts is everything the first
    batch needs, of any language: left to the batch, pandas, datasketch (with scipy), tldextract's
    suffix list and a grammar took each worker about a second on the job's critical path."""
    script = r"""
import sys
import pyarrow as pa
from echo_spark.config import EchoConfig
from echo_spark.silver_digest import SILVER_COLUMNS
from echo_spark.curate.worker import curate_table, prepare_curator
from echo_spark.tables import CURATE_STAGING
config, schema = EchoConfig(), CURATE_STAGING.arrow_schema
prepare_curator(config.curate, schema, config.lifecycle, config.benchmarks)
row = {name: None for name in SILVER_COLUMNS}
row.update(request_id="r", session_id="s", user_id="u", doc_id="d", language="javascript", outcome="rejected",
           prefix="function greet(name) {\n  ", suffix="\n}\n// mail dev@example.com\n",
           committed="return `Hello, ${name}!`;", request_event_id="e", event_ids=["e"])
before = set(sys.modules)
staged = curate_table(config.curate, schema, pa.Table.from_pylist([row]), config.lifecycle, config.benchmarks)
assert staged.column("kept").to_pylist() == [True], staged.to_pylist()
print(sorted(set(sys.modules) - before))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]", out.stdout
