"""Entry point of the lifecycle job (console script `echo-spark-lifecycle`, Databricks python_wheel_task)."""

from jobs import run_stage


def main() -> None:
    run_stage("lifecycle")


if __name__ == "__main__":
    main()
