"""Entry point of the telemetry simulator (console script `echo-spark-simulate`, Databricks python_wheel_task)."""

from jobs import run_stage


def main() -> None:
    run_stage("simulate")


if __name__ == "__main__":
    main()
