"""`echo-spark build-base-model`: the base model, pretrained locally with no download.

    echo-spark build-base-model                       # -> train.base.dir (./models/echo-base)
    echo-spark build-base-model --out /tmp/base --set train.base.steps=100
    echo-spark build-base-model --pretrained models/echo-base   # second phase only, on a finished build

With the shipped settings about two hours on two CPU cores; a rerun of an interrupted build resumes
from its last checkpoint. The result is the simulator's production model, curate's perplexity
scorer and the default base of `echo-spark train`; the repository ships one built this way.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..config import EchoConfig
from ..errors import UsageError
from ..progress import Summary, print_summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="DIR", help="where to write the model (default: train.base.dir)")
    parser.add_argument("--pretrained", metavar="DIR",
                        help="take the first phase from this finished build (same settings and corpus, checked) "
                             "and run only the second")


def heldout_files(config: EchoConfig):
    """The simulator's held-out files, which the base model must never see."""
    from training.pretrain import HeldOutFile

    from ..simulate.corpus import heldout_files as simulator_heldout, read_source

    sim = config.simulate
    files = []
    for file in simulator_heldout(sim.corpus, sim.heldout_share):
        text = read_source(file)
        if text is not None:
            files.append(HeldOutFile(file.rel_path, text))
    return files


def unit_end(text: str, cursor: int) -> int:
    """Where the unit a completion at `cursor` should propose ends: the simulator's and curate's
    definition, so the base learns to stop where developers' units do."""
    from ..units import unit_span

    return unit_span(text, cursor, len(text), "python").end


def build(config: EchoConfig, out: Path | None = None, command: str | None = None, pretrained: Path | None = None):
    from training.pretrain import build_base_model

    settings = config.train.base
    if settings.hidden % settings.heads:
        raise UsageError(f"train.base.hidden ({settings.hidden}) must be a multiple of train.base.heads ({settings.heads})")
    try:
        return build_base_model(settings, heldout_files(config), out, command, unit_end=unit_end, pretrained=pretrained)
    except (FileNotFoundError, ValueError) as err:
        raise UsageError(str(err)) from None


def run(config: EchoConfig, args: argparse.Namespace) -> dict[str, Any]:
    command = "echo-spark " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    metrics = asdict(build(config, Path(args.out) if args.out else None, command,
                           Path(args.pretrained) if args.pretrained else None))
    print_summary(Summary("build-base-model summary", list(metrics.items())))
    return metrics
