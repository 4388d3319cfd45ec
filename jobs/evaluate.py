"""Entry point of the evaluate job (console script `echo-spark-evaluate`, Databricks python_wheel_task)."""

from jobs import run_stage


def main() -> None:
    run_stage("evaluate")


if __name__ == "__main__":
    main()
