"""The per-worker training loop: steps, validation, checkpoints, resume.

Resume is exact by construction: a step's batch comes from (seed, epoch, step) alone
(`batching.epoch_batches`), its dropout masks from a per-step seed, its learning rate from the step
number, and a checkpoint holds the trainable weights, the optimizer state and the step. An attempt
that starts from the last checkpoint therefore replays exactly what an uninterrupted run would
have done after it.

The loss is the mean over the global batch's target tokens (middle + end token), not a mean of
per-worker means: each worker divides its token-loss sum by the global token count over the world
size, and DDP's gradient average restores the exact global mean however unevenly the targets fall.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from .batching import Examples, collate, epoch_batches, rank_share, target_tokens
from .fim import IGNORE
from .model_io import TRAINABLE_FILE, ModelSpec, load_trainable, trainable_names
from .progress import ProgressLine
from .session import Session, scratch_dir

OPTIMIZER_FILE = "optimizer.pt"
STATE_FILE = "state.json"


@dataclass(frozen=True)
class MlflowTarget:
    """Where rank 0 logs its per-step metrics: an MLflow run the driver opened."""

    tracking_uri: str
    run_id: str


@dataclass(frozen=True)
class LoopSettings:
    model: ModelSpec
    pad_id: int
    total_steps: int
    batch_size: int
    learning_rate: float
    weight_decay: float = 0.0
    warmup_steps: int = 10
    grad_clip: float = 1.0
    seed: int = 7
    bucket_batches: int = 16
    checkpoint_every: int = 20
    eval_every: int = 20
    log_every: int = 5
    precision: str = "fp32"
    strategy: str = "ddp"
    fail_at_step: int | None = None
    label: str = "train"
    mlflow: MlflowTarget | None = None


@dataclass
class LoopState:
    """What a checkpoint carries besides weights: enough to continue and to report the run."""

    step: int = 0
    base_val_loss: float | None = None
    val_loss: float | None = None
    resumed_from: int = 0


class SimulatedFailure(RuntimeError):
    """Raised by the `fail_at_step` drill: a worker dying mid-run."""


def learning_rate(settings: LoopSettings, step: int) -> float:
    """Linear warm-up, then cosine decay to a tenth of the peak."""
    if step < settings.warmup_steps:
        return settings.learning_rate * (step + 1) / settings.warmup_steps
    span = max(1, settings.total_steps - settings.warmup_steps)
    progress = min(1.0, (step - settings.warmup_steps) / span)
    return settings.learning_rate * (0.1 + 0.45 * (1 + math.cos(math.pi * progress)))


def fit(settings: LoopSettings, train: Examples, val: Examples, session: Session) -> LoopState:
    """Train to `settings.total_steps` from the session's latest checkpoint (or from the base)."""
    model = load_trainable(settings.model)
    names = trainable_names(model)
    model = session.prepare(model, settings.strategy)
    optimizer, params = make_optimizer(model, settings)
    state = _restore(model, optimizer, session)
    sink = _MetricsSink(settings.mlflow) if session.rank == 0 and settings.mlflow else None
    if state.step == 0:
        state.base_val_loss = state.val_loss = evaluate(model, val, settings, session)
        if sink:
            sink.log({"val_loss": state.base_val_loss}, 0)

    world = session.world_size
    lengths = train.lengths()
    steps_per_epoch = -(-len(train) // (settings.batch_size * world))
    progress = ProgressLine(settings.label, settings.total_steps, state.step)
    plan: tuple[int, list[np.ndarray]] = (-1, [])
    window = _Window()
    model.train()
    while state.step < settings.total_steps:
        started = time.perf_counter()
        epoch, index = divmod(state.step, steps_per_epoch)
        if plan[0] != epoch:
            plan = (epoch, epoch_batches(lengths, settings.batch_size * world, settings.seed, epoch, settings.bucket_batches))
        batch = collate(train, rank_share(plan[1][index], session.rank, world), settings.pad_id)
        lr = learning_rate(settings, state.step)
        loss_sum, targets, inputs = train_step(model, optimizer, params, batch, settings, session, state.step, lr)
        state.step += 1
        window.add(loss_sum, targets, inputs, time.perf_counter() - started)

        step, last = state.step, state.step == settings.total_steps
        metrics: dict[str, float | None] = {}
        if step % settings.eval_every == 0 or last:
            state.val_loss = metrics["val_loss"] = evaluate(model, val, settings, session)
        if step % settings.log_every == 0 or last:
            metrics["loss"], metrics["tokens_per_s"] = window.drain(session)
            metrics["learning_rate"] = lr
            if session.rank == 0:
                progress.emit(step, metrics["loss"], metrics["tokens_per_s"], lr, metrics.get("val_loss"))
        if sink and metrics:
            sink.log(metrics, step)
        if step % settings.checkpoint_every == 0 or last:
            _save(model, optimizer, names, state, session)
        if settings.fail_at_step == step and state.resumed_from == 0:
            raise SimulatedFailure(f"simulated worker failure after step {step} (train.fail_at_step)")
    if state.resumed_from == settings.total_steps:
        # Restored after the last step (the driver died after training): report the final
        # metrics again so the run still ends with them.
        session.report(_report_metrics(state), None)
    return state


def make_optimizer(model: torch.nn.Module, settings: LoopSettings) -> tuple[torch.optim.Optimizer, list[torch.nn.Parameter]]:
    """AdamW over the trainable parameters (all of them, or LoRA's)."""
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.AdamW(params, lr=settings.learning_rate, weight_decay=settings.weight_decay, betas=(0.9, 0.95)), params


def train_step(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    params: list[torch.nn.Parameter],
    batch: dict[str, torch.Tensor],
    settings: LoopSettings,
    session: Session,
    step: int,
    lr: float,
) -> tuple[float, float, float]:
    """One optimizer step on this rank's share of a global batch.

    Returns this rank's token-loss sum and the global target and input token counts.
    """
    world = session.world_size
    batch = {k: v.to(session.device, non_blocking=True) for k, v in batch.items()}
    targets, inputs = session.all_reduce_sum([target_tokens(batch["labels"]), float(batch["attention_mask"].sum())])
    for group in optimizer.param_groups:
        group["lr"] = lr
    # Dropout masks (LoRA) depend on the step alone, so a resumed attempt draws the same ones.
    torch.manual_seed(settings.seed * 1_000_003 + step * 1_009 + session.rank)
    share = max(targets, 1.0) / world
    with _autocast(settings, session):
        loss = model(**batch, num_items_in_batch=share).loss
    loss.backward()
    if settings.grad_clip:
        _clip(model, params, settings.grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.item() * share, targets, inputs


def train_loop_per_worker(config: dict) -> None:
    """Ray Train entry point: the driver's settings and the examples it put in the object store."""
    import ray

    from .session import RaySession

    fit(config["settings"], ray.get(config["train"]), ray.get(config["validation"]), RaySession())


def evaluate(model: torch.nn.Module, val: Examples, settings: LoopSettings, session: Session) -> float | None:
    """Mean loss per target token over the validation examples, split across ranks.

    Every rank runs the same number of forward passes (FSDP gathers weights in each one): the
    share is padded with repeats whose labels are masked, so they count for nothing.
    """
    if len(val) == 0:
        return None
    world = session.world_size
    per_rank = -(-len(val) // world)
    order = np.resize(np.argsort(val.lengths(), kind="stable"), per_rank * world)
    positions = np.arange(per_rank * world)[session.rank :: world]
    share = order[session.rank :: world]
    loss_sum = tokens = 0.0
    model.eval()
    with torch.no_grad(), _autocast(settings, session):
        for start in range(0, per_rank, settings.batch_size):
            batch = collate(val, share[start : start + settings.batch_size], settings.pad_id)
            batch["labels"][torch.from_numpy(positions[start : start + settings.batch_size] >= len(val))] = IGNORE
            batch = {k: v.to(session.device) for k, v in batch.items()}
            loss_sum += model(**batch, num_items_in_batch=1).loss.item()
            tokens += target_tokens(batch["labels"])
    model.train()
    loss_sum, tokens = session.all_reduce_sum([loss_sum, tokens])
    return loss_sum / max(tokens, 1.0)


class _Window:
    """Loss, tokens and step time since the last progress line (validation time not counted)."""

    def __init__(self) -> None:
        self.loss_sum = self.targets = self.inputs = self.seconds = 0.0

    def add(self, loss_sum: float, targets: float, inputs: float, seconds: float) -> None:
        self.loss_sum += loss_sum
        self.targets += targets
        self.inputs += inputs
        self.seconds += seconds

    def drain(self, session: Session) -> tuple[float, float]:
        """(mean loss per target token, input tokens per second) over the whole world."""
        (loss_sum,) = session.all_reduce_sum([self.loss_sum])
        result = loss_sum / max(self.targets, 1.0), self.inputs / max(self.seconds, 1e-9)
        self.__init__()
        return result


class _MetricsSink:
    def __init__(self, target: MlflowTarget):
        from mlflow import MlflowClient

        self.client = MlflowClient(tracking_uri=target.tracking_uri)
        self.run_id = target.run_id

    def log(self, metrics: dict[str, float | None], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        entries = [Metric(k, float(v), now, step) for k, v in metrics.items() if v is not None]
        self.client.log_batch(self.run_id, metrics=entries, synchronous=True)


def _autocast(settings: LoopSettings, session: Session):
    return torch.autocast(session.device.type, dtype=torch.bfloat16, enabled=settings.precision == "bf16")


def _clip(model: torch.nn.Module, params: list[torch.nn.Parameter], max_norm: float) -> None:
    # FSDP shards gradients: only its own method sees the global norm.
    if hasattr(model, "clip_grad_norm_"):
        model.clip_grad_norm_(max_norm)
    else:
        torch.nn.utils.clip_grad_norm_(params, max_norm)


def _state_dict_options():
    from torch.distributed.checkpoint.state_dict import StateDictOptions

    return StateDictOptions(full_state_dict=True, cpu_offload=True, strict=False)


def _save(model: torch.nn.Module, optimizer: torch.optim.Optimizer, names: set[str], state: LoopState, session: Session) -> None:
    """Every rank takes part (FSDP gathers the full state); rank 0 writes and hands it to the session."""
    from torch.distributed.checkpoint.state_dict import get_model_state_dict, get_optimizer_state_dict

    weights = get_model_state_dict(model, options=_state_dict_options())
    optim = get_optimizer_state_dict(model, optimizer, options=_state_dict_options())
    metrics = _report_metrics(state)
    if session.rank != 0:
        session.report(metrics, None)
        return
    with scratch_dir() as folder:
        torch.save({k: v for k, v in weights.items() if k in names}, folder / TRAINABLE_FILE)
        torch.save(optim, folder / OPTIMIZER_FILE)
        (folder / STATE_FILE).write_text(json.dumps(asdict(state)))
        session.report(metrics, folder)


def _report_metrics(state: LoopState) -> dict[str, float | int | None]:
    return {"step": state.step, "val_loss": state.val_loss, "base_val_loss": state.base_val_loss, "resumed_from": state.resumed_from}


def _restore(model: torch.nn.Module, optimizer: torch.optim.Optimizer, session: Session) -> LoopState:
    from torch.distributed.checkpoint.state_dict import set_model_state_dict, set_optimizer_state_dict

    with session.latest_checkpoint() as folder:
        if folder is None:
            return LoopState()
        weights = torch.load(Path(folder) / TRAINABLE_FILE, map_location="cpu", weights_only=True)
        optim = torch.load(Path(folder) / OPTIMIZER_FILE, map_location="cpu", weights_only=True)
        state = LoopState(**json.loads((Path(folder) / STATE_FILE).read_text()))
    set_model_state_dict(model, weights, options=_state_dict_options())
    set_optimizer_state_dict(model, optimizer, optim, options=_state_dict_options())
    state.resumed_from = state.step
    return state
