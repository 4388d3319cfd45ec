"""Entry points of the pipeline's stages, one module per stage, for console scripts and Databricks.

Databricks runs a `python_wheel_task` by calling its entry point's function, and only an exception
fails the task (and so stops the tasks that depend on it); what the function returns is not looked
at. A stage's exit code is therefore raised, never returned. A console script exits the same way.
"""

import sys

from echo_spark.cli import run_job


def run_stage(job: str, argv: list[str] | None = None) -> None:
    """Run `echo-spark <job>` with the process's arguments; a non-zero exit code raises SystemExit."""
    code = run_job(job, sys.argv[1:] if argv is None else argv)
    if code:
        raise SystemExit(code)
