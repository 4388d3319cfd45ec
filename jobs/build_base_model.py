"""Entry point of the tiny base model's build (console script `echo-spark-build-base-model`, Databricks python_wheel_task)."""

from jobs import run_stage


def main() -> None:
    run_stage("build-base-model")


if __name__ == "__main__":
    main()
