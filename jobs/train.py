"""Entry point of the train job (console script `echo-spark-train`, Databricks python_wheel_task)."""

from jobs import run_stage


def main() -> None:
    run_stage("train")


if __name__ == "__main__":
    main()
