"""Entry point of the ingest job (console script `echo-spark-ingest`, Databricks python_wheel_task)."""

import sys

from echo_spark.cli import run_job


def main() -> int:
    return run_job("ingest", sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
