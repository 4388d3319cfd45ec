"""Entry point of the ingest job (console script `echo-spark-ingest`, Databricks python_wheel_task)."""

from jobs import run_stage


def main() -> None:
    run_stage("ingest")


if __name__ == "__main__":
    main()
