"""`echo-spark <job> [options]`: one entry point for every job.

Exit codes: 0 success, 2 usage or configuration error (one line on stderr), 1 failure.
Each job module exposes `add_arguments(parser)` and `run(config, args) -> dict` (its metrics);
the CLI loads the configuration, prints it on stderr, runs the job and writes the metrics.

Only the module of the job named on the command line is imported, and only then: `echo-spark
--help` imports no job at all, and `echo-spark ingest` (or `echo-spark-ingest`) never imports
another job's dependencies (the ML stack of curate, train and evaluate), so the light jobs run
on the base install.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import sys
from typing import TYPE_CHECKING, Any, Callable, Iterable, NoReturn, Sequence

from . import __version__, udf_server

if TYPE_CHECKING:
    from .config import EchoConfig

# job name -> (module, one-line help). Modules are imported lazily so `--help` stays fast.
JOBS: dict[str, tuple[str, str]] = {
    "demo": ("echo_spark.demo", "the loop end to end on the embedded defaults: simulate, ingest, lifecycle, curate"),
    "simulate": ("echo_spark.simulate.job", "simulated developers + completion service -> telemetry v1 and ground truth"),
    "import": ("echo_spark.importers.job", "convert Continue / Tabby logs to telemetry v1 landing files"),
    "collect": ("echo_spark.collector.job", "HTTP collector on loopback: POSTed telemetry -> rotating landing files"),
    "ingest": ("echo_spark.ingest.job", "raw telemetry v1 JSON Lines -> bronze events + quarantine"),
    "lifecycle": ("echo_spark.lifecycle.job", "bronze events -> silver completions (C_N per request) + orphans"),
    "forget": ("echo_spark.forget", "erase one user's data from every table (audited)"),
    "curate": ("echo_spark.curate.job", "silver completions -> gold sft_samples + curation_drops"),
    "sql": ("echo_spark.sql", "run SQL over the lakehouse tables (registered by name)"),
    "build-base-model": ("echo_spark.train.base_job", "build the tiny FIM base model locally (tokenizer + pretraining, no download)"),
    "train": ("echo_spark.train.job", "gold sft_samples -> FIM fine-tuning with Ray Train, tracked in MLflow"),
    "evaluate": ("echo_spark.evaluate.job", "arms on the held-out cohort (simulated developers) and the FIM benchmarks -> MLflow, report"),
}


VERSION = f"echo-spark {__version__}"


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=VERSION)
    _config_options(parser)
    parser.add_argument("--metrics-json", metavar="FILE", help="also write the job's metrics as JSON")
    parser.add_argument("--quiet", action="store_true", help="do not print the effective configuration (on stderr)")


def _config_options(parser: argparse.ArgumentParser) -> None:
    """The options `effective_config` reads."""
    parser.add_argument("--conf", metavar="FILE", help="YAML configuration (default: conf/echo.yaml if present)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one configuration key (repeatable), e.g. --set lifecycle.anchor_chars=32",
    )
    parser.add_argument("--lakehouse", metavar="DIR", help="local lakehouse root (sets lakehouse.root)")
    parser.add_argument("--engine", choices=["sail", "spark-connect", "spark-local"], help="sets engine.kind")
    parser.add_argument("--remote", metavar="sc://HOST:PORT", help="Spark Connect URL (sets engine.remote)")


def build_parser(jobs: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The CLI's parser, with the options of `jobs` (all of them when None): a job's options need
    its module, so `main` asks only for the job named on its command line."""
    parser = argparse.ArgumentParser(prog="echo-spark", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=VERSION)
    sub = parser.add_subparsers(dest="job", metavar="<job>", required=True)
    wanted = set(JOBS if jobs is None else jobs)
    for name, (module, help_text) in JOBS.items():
        job_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name in wanted:
            _common(job_parser)
            importlib.import_module(module).add_arguments(job_parser)
    return parser


def named_job(argv: Sequence[str]) -> str | None:
    """The job an `echo-spark` command line names: its first argument that is not an option (the
    top-level parser's own options, --help and --version, take no value)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def effective_config(args: argparse.Namespace) -> EchoConfig:
    from .config import load_config

    overrides = list(args.overrides)
    if args.lakehouse:
        overrides.append(f"lakehouse.root={args.lakehouse}")
    if args.engine:
        overrides.append(f"engine.kind={args.engine}")
    if args.remote:
        overrides.append(f"engine.remote={args.remote}")
    return load_config(args.conf, overrides)


class _PreParser(argparse.ArgumentParser):
    """Reads the configuration's options ahead of the job's parser, and says nothing: what it
    cannot read, the job's parser reports."""

    def error(self, message: str) -> NoReturn:
        raise ValueError(message)


def start_udf_workers_early(job: str | None, argv: Sequence[str]) -> bool:
    """Start the job's UDF fork server (`udf_server`) before the job's module and the engine's client
    are imported, where its settings run UDFs in worker processes: its imports then use the core
    that the command's own imports leave idle. Returns whether it started. Best effort: a command
    line or a configuration the job rejects is left to the job to report."""
    if job not in udf_server.WORKER_MODULES or not udf_server.available() or {"-h", "--help", "--version"} & set(argv):
        return False
    parser = _PreParser(add_help=False)
    _config_options(parser)
    try:
        workers = effective_config(parser.parse_known_args(list(argv))[0]).engine.udf_workers
    except Exception:  # noqa: BLE001 - reported by the job's own parsing
        return False
    if workers <= 0:
        return False
    udf_server.start(udf_server.WORKER_MODULES[job])
    return True


def run_job(name: str, argv: Sequence[str]) -> int:
    return main([name, *argv])


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    job = named_job(argv)
    start_udf_workers_early(job, argv)
    parser = build_parser([job] if job in JOBS else [])
    args = parser.parse_args(argv)
    from .config import ConfigError, dump_config
    from .errors import UsageError

    run: Callable[[EchoConfig, argparse.Namespace], dict[str, Any]] = importlib.import_module(JOBS[args.job][0]).run
    config = None
    try:
        config = effective_config(args)
        if not args.quiet:
            # stderr: a command's stdout is its output alone (`echo-spark sql ... > result.txt`)
            print(f"# echo-spark {args.job}: effective configuration\n{dump_config(config)}", file=sys.stderr, flush=True)
        metrics = run(config, args)
    except (ConfigError, UsageError) as err:
        print(f"echo-spark {args.job}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"echo-spark {args.job}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - the CLI's last line of defence: a message, exit 1
        print(f"echo-spark {args.job}: failed: {type(err).__name__}: {_first_line(err)}", file=sys.stderr)
        if "memory pool" in str(err) and config is not None and config.engine.kind == "sail":
            print(f"echo-spark {args.job}: the embedded engine ran out of its memory budget "
                  f"(engine.sail_memory_gb={config.engine.sail_memory_gb:g}): raise it with "
                  "--set engine.sail_memory_gb=N, or 0 for no limit", file=sys.stderr)
        return 1
    if args.metrics_json:
        with open(args.metrics_json, "w", encoding="utf-8") as fh:
            json.dump(metrics, fh, indent=2, sort_keys=True, default=str)
    return 0


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:500] if text else ""


def console() -> None:
    """The `echo-spark` command: `main`, then the process ends with its objects frozen. They go
    with the process anyway; frozen, the interpreter's last collections at exit skip them (0.35 s
    of every job's exit, 0.06 s frozen)."""
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    console()
