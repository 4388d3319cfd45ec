"""`echo-spark build-base-model`: the tiny default FIM model, built locally with no download.

    echo-spark build-base-model                       # -> train.base.dir (./models/tiny-base)
    echo-spark build-base-model --out /tmp/base --set train.base.steps=100

A few minutes on two CPU cores with the defaults; the result is the simulator's production model,
the curate stage's perplexity scorer and the default base of `echo-spark train`.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path
from typing import Any

from echo_spark.config import EchoConfig
from echo_spark.errors import UsageError

from .summary import print_summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="DIR", help="where to write the model (default: train.base.dir)")


def run(config: EchoConfig, args: argparse.Namespace) -> dict[str, Any]:
    from .pretrain import build_base_model

    settings = config.train.base
    if settings.hidden % settings.heads:
        raise UsageError(f"train.base.hidden ({settings.hidden}) must be a multiple of train.base.heads ({settings.heads})")
    try:
        report = build_base_model(settings, Path(args.out) if args.out else None)
    except (FileNotFoundError, ValueError) as err:
        raise UsageError(str(err)) from None
    metrics = asdict(report)
    print_summary("build-base-model summary", metrics)
    return metrics
