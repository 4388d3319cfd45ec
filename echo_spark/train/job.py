"""`echo-spark train`: fine-tune the base model on the gold table (Ray Train), track it in MLflow.

    echo-spark train                                  # tiny base model, latest gold version
    echo-spark train --gold-version 3 --base-model /models/Qwen2.5-Coder-0.5B --set train.finetune=lora
    echo-spark train --workers 4 --gpu --ray-address auto        # a Ray cluster (Ray on Spark)

Rerunning the same command after a kill resumes from the last checkpoint (see training/sft.py).
"""

from __future__ import annotations

import argparse
from typing import Any

from pydantic import ValidationError

from ..config import EchoConfig
from ..errors import UsageError
from ..progress import Summary, print_summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gold-version", type=int, metavar="N", help="Delta version of the gold table (sets train.gold_version)")
    parser.add_argument("--base-model", metavar="DIR", help="local Hugging Face model folder to fine-tune (sets train.base_model)")
    parser.add_argument("--run-name", metavar="NAME", help="run name; an existing one resumes (sets train.run_name)")
    parser.add_argument("--workers", type=int, metavar="N", help="training workers (sets train.num_workers)")
    parser.add_argument("--gpu", action="store_true", help="one GPU per worker, NCCL, bf16 (sets train.use_gpu)")
    parser.add_argument("--ray-address", metavar="ADDR", help="existing Ray cluster, e.g. auto (sets train.ray_address)")
    parser.add_argument("--max-steps", type=int, metavar="N", help="stop after N optimizer steps (sets train.max_steps)")


def effective(config: EchoConfig, args: argparse.Namespace) -> EchoConfig:
    """The configuration with this job's options applied, validated like --set overrides."""
    updates = {
        "gold_version": args.gold_version,
        "base_model": args.base_model,
        "run_name": args.run_name,
        "num_workers": args.workers,
        "use_gpu": True if args.gpu else None,
        "ray_address": args.ray_address,
        "max_steps": args.max_steps,
    }
    data = config.model_dump()
    data["train"].update({k: v for k, v in updates.items() if v is not None})
    try:
        return EchoConfig.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        raise UsageError(f"invalid option: {first['loc'][-1]}: {first['msg']}") from None


def run(config: EchoConfig, args: argparse.Namespace) -> dict[str, Any]:
    from training.data import GoldTableError
    from training.sft import TrainingInputError, run_training

    from ..gold_source import gold_source
    from ..lakehouse import Lakehouse

    config = effective(config, args)
    # The engine starts only if the table is on a catalog (read by Spark); a folder is read by Ray Data.
    source = gold_source(Lakehouse.on_demand(config.engine, config.lakehouse), config.train.gold_table)
    try:
        metrics = run_training(config.train, source)
    except (GoldTableError, TrainingInputError) as err:
        raise UsageError(str(err)) from None
    print_summary(Summary("train summary", list(metrics.items())))
    return metrics
