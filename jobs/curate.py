"""Entry point of the curate job (console script `echo-spark-curate`, Databricks python_wheel_task)."""

from jobs import run_stage


def main() -> None:
    run_stage("curate")


if __name__ == "__main__":
    main()
