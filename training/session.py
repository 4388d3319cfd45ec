"""Where the training loop runs: a Ray Train worker, or this process alone.

The loop (`train_loop.fit`) talks to one small interface, so the very same steps, checkpoints and
resume logic serve distributed fine-tuning (RaySession, one per worker) and single-process work:
the base model's pretraining, the benchmark, and fast resume tests (LocalSession).
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Iterator, Protocol

import torch


class Session(Protocol):
    rank: int
    world_size: int
    device: torch.device

    def prepare(self, model: torch.nn.Module, strategy: str) -> torch.nn.Module: ...

    def latest_checkpoint(self) -> AbstractContextManager[Path | None]: ...

    def report(self, metrics: dict[str, Any], checkpoint_dir: Path | None) -> None: ...

    def all_reduce_sum(self, values: list[float]) -> list[float]: ...


class LocalSession:
    """One process, checkpoints as `checkpoint_NNNNNN` folders under `root` (newest `keep` kept)."""

    rank = 0
    world_size = 1

    def __init__(self, root: Path, keep: int = 2, device: str = "cpu"):
        self.root = Path(root)
        self.keep = keep
        self.device = torch.device(device)
        self.reports: list[dict[str, Any]] = []

    def prepare(self, model: torch.nn.Module, strategy: str) -> torch.nn.Module:
        return model.to(self.device)

    def checkpoints(self) -> list[Path]:
        return sorted(self.root.glob("checkpoint_*")) if self.root.is_dir() else []

    @contextmanager
    def latest_checkpoint(self) -> Iterator[Path | None]:
        found = self.checkpoints()
        yield found[-1] if found else None

    def report(self, metrics: dict[str, Any], checkpoint_dir: Path | None) -> None:
        self.reports.append(dict(metrics))
        if checkpoint_dir is None:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.root / f"checkpoint_{int(metrics['step']):06d}"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(checkpoint_dir, target)
        for old in self.checkpoints()[: -self.keep]:
            shutil.rmtree(old)

    def all_reduce_sum(self, values: list[float]) -> list[float]:
        return list(values)


class RaySession:
    """A Ray Train worker: DDP/FSDP through `prepare_model`, checkpoints through `ray.train.report`
    (Ray keeps the newest per CheckpointConfig and hands the latest back after a restart)."""

    def __init__(self) -> None:
        import ray.train
        import ray.train.torch

        context = ray.train.get_context()
        self.rank = context.get_world_rank()
        self.world_size = context.get_world_size()
        self.device = ray.train.torch.get_device()

    def prepare(self, model: torch.nn.Module, strategy: str) -> torch.nn.Module:
        import ray.train.torch

        kwargs = _fsdp_options(model) if strategy == "fsdp" else None
        return ray.train.torch.prepare_model(model, parallel_strategy=strategy, parallel_strategy_kwargs=kwargs)

    @contextmanager
    def latest_checkpoint(self) -> Iterator[Path | None]:
        import ray.train

        checkpoint = ray.train.get_checkpoint()
        if checkpoint is None:
            yield None
            return
        with checkpoint.as_directory() as folder:
            yield Path(folder)

    def report(self, metrics: dict[str, Any], checkpoint_dir: Path | None) -> None:
        import ray.train

        if checkpoint_dir is None:
            ray.train.report(metrics)
            return
        checkpoint = ray.train.Checkpoint.from_directory(str(checkpoint_dir))
        ray.train.report(metrics, checkpoint=checkpoint, checkpoint_dir_name=f"checkpoint_{int(metrics['step']):06d}")

    def all_reduce_sum(self, values: list[float]) -> list[float]:
        import torch.distributed as dist

        # NCCL reduces only GPU tensors, gloo CPU ones: the tensor lives where the model does.
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return tensor.tolist()


def _fsdp_options(model: torch.nn.Module) -> dict[str, Any]:
    """Shard per decoder layer (the classes a Hugging Face model lists in `_no_split_modules`),
    keeping the original parameters so LoRA's frozen and trainable weights can share a shard."""
    from torch.distributed.fsdp.wrap import ModuleWrapPolicy

    names = set(getattr(model, "_no_split_modules", None) or [])
    layers = {type(m) for m in model.modules() if type(m).__name__ in names}
    options: dict[str, Any] = {"use_orig_params": True}
    if layers:
        options["auto_wrap_policy"] = ModuleWrapPolicy(layers)
    return options


@contextmanager
def scratch_dir() -> Iterator[Path]:
    """A folder for one checkpoint before the session copies it to its storage."""
    folder = tempfile.mkdtemp(prefix="echo-ckpt-")
    try:
        yield Path(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
