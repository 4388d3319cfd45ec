"""The driver of a fine-tuning run: gold table -> Ray Train (TorchTrainer) -> MLflow model.

Resources, and why nothing deadlocks: Ray Data reads and tokenizes the gold table first and the
examples are collected on the driver and put in the object store; only then is the TorchTrainer
created. The read's tasks have all finished before any training worker holds a CPU, so workers
may take every CPU of a local Ray (`ray.init(num_cpus=...)` is explicit, 2 workers x 1 CPU on a
2-core machine) without starving a read that they would wait for. Workers fetch the examples
with `ray.get`, and their data order comes from the seed, not from a streaming split.
(The alternative, streaming `get_dataset_shard` with fractional worker CPUs, leaves the order to
Ray Data's scheduling, which an exact resume cannot use.) That suits gold tables of up to a few
million samples: their token ids fit in memory many times over.

Run identity: `train.run_name`, by default derived from the gold version and every setting that
changes the result, names the Ray Train storage folder and tags the MLflow run. Running the same
command again after a kill resumes from the last checkpoint into the same MLflow run; running it
after the run finished returns that run's results without training again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from .batching import Examples
from .data import FimFormat, GoldSource, read_gold
from .fim import detect_family
from .model_io import ModelSpec, export, load_tokenizer
from .train_loop import LoopSettings, MlflowTarget

# Settings that change neither the data nor the math: the same run whatever their value. The table
# and version are part of a run's identity as resolved (a path and a number), not as configured, so
# "latest" and the number it resolves to name the same run.
OPERATIONAL_KEYS = {
    "run_name", "runs_dir", "mlflow_tracking_uri", "mlflow_dir", "mlflow_experiment", "registered_model",
    "system_metrics", "ray_address", "ray_num_cpus", "cpus_per_worker", "max_failures", "fail_at_step",
    "log_every_steps", "keep_checkpoints", "base", "gold_table", "gold_version",
}


class TrainingInputError(ValueError):
    """Input the user must fix (no base model, empty table, impossible settings)."""


def base_model_path(train_config) -> Path:
    path = Path(train_config.base_model or train_config.base.dir)
    if not (path / "config.json").is_file():
        hint = "" if train_config.base_model else " (build it with `echo-spark build-base-model`)"
        raise TrainingInputError(f"no Hugging Face model folder at {path}{hint}")
    return path.resolve()


def derived_run_name(train_config, uri: str, version: int, model_path: Path) -> str:
    settings = {k: v for k, v in train_config.model_dump(mode="json").items() if k not in OPERATIONAL_KEYS}
    # The model folder by its files' names, sizes and times: a rebuilt base model is a new run.
    files = sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in model_path.iterdir() if f.is_file())
    identity = json.dumps({"settings": settings, "gold": [uri, version], "model": [str(model_path), files]}, sort_keys=True)
    return f"sft-v{version}-{hashlib.sha256(identity.encode()).hexdigest()[:10]}"


def total_steps(train_config, train_samples: int) -> int:
    per_epoch = -(-train_samples // (train_config.batch_size * train_config.num_workers))
    steps = per_epoch * train_config.epochs
    return min(steps, train_config.max_steps) if train_config.max_steps else steps


def model_spec(cfg, model_path: Path) -> ModelSpec:
    return ModelSpec(
        path=str(model_path),
        finetune=cfg.finetune,
        lora_r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        lora_target_modules=tuple(cfg.lora_target_modules),
        seed=cfg.seed,
    )


def loop_settings(cfg, spec: ModelSpec, pad_id: int, steps: int, mlflow_target: MlflowTarget | None) -> LoopSettings:
    """The `train` section as the workers' loop needs it (bf16 autocast on GPU unless configured)."""
    return LoopSettings(
        model=spec,
        pad_id=pad_id,
        total_steps=steps,
        batch_size=cfg.batch_size,
        learning_rate=cfg.learning_rate,
        weight_decay=cfg.weight_decay,
        warmup_steps=cfg.warmup_steps,
        grad_clip=cfg.grad_clip,
        seed=cfg.seed,
        bucket_batches=cfg.bucket_batches,
        checkpoint_every=cfg.checkpoint_every_steps,
        eval_every=cfg.eval_every_steps,
        log_every=cfg.log_every_steps,
        precision=("bf16" if cfg.use_gpu else "fp32") if cfg.precision == "auto" else cfg.precision,
        strategy=cfg.strategy,
        fail_at_step=cfg.fail_at_step,
        label="train",
        mlflow=mlflow_target,
    )


def run_training(train_config, gold_source: GoldSource) -> dict[str, Any]:
    """Fine-tune on the gold table (`gold_source`: echo_spark/gold_source.py). Returns the run's summary: among others `model_dir`, the
    exported Hugging Face folder (`inference.load_model` loads it), `model_uri`, `val_loss` and
    `base_val_loss` (the base model on the same validation samples)."""
    import mlflow
    import ray

    from . import mlflow_store, mlflow_tracking

    started = time.perf_counter()
    cfg = train_config
    if cfg.fail_at_step is not None and cfg.fail_at_step < cfg.checkpoint_every_steps:
        raise TrainingInputError("train.fail_at_step must come after the first checkpoint (checkpoint_every_steps)")
    if cfg.strategy == "fsdp" and not cfg.use_gpu:
        raise TrainingInputError("train.strategy=fsdp needs GPU workers (use_gpu: true)")
    model_path = base_model_path(cfg)
    longest = json.loads((model_path / "config.json").read_text()).get("max_position_embeddings")
    if longest and cfg.context_length > longest:
        raise TrainingInputError(f"train.context_length {cfg.context_length} exceeds the model's context of {longest} tokens")
    tokenizer = load_tokenizer(model_path)
    try:
        family = detect_family(tokenizer, cfg.fim_family)
    except ValueError as err:
        raise TrainingInputError(f"{model_path}: {err}") from None
    uri = gold_source.address
    version = gold_source.pinned_version(cfg.gold_version)
    run_name = cfg.run_name or derived_run_name(cfg, uri, version, model_path)
    storage = Path(cfg.runs_dir).resolve()
    model_dir = storage / run_name / "model"
    uri_mlflow = mlflow_store.tracking_uri(cfg.mlflow_tracking_uri, cfg.mlflow_dir)
    artifact_root = mlflow_store.artifact_root(cfg.mlflow_tracking_uri, cfg.mlflow_dir)
    handle = mlflow_tracking.open_run(uri_mlflow, cfg.mlflow_experiment, artifact_root, run_name)
    if handle.state == "finished":
        return _finished(handle.run_id, model_dir)

    own_ray = not ray.is_initialized()
    if own_ray:
        start_ray(cfg)
    try:
        gold = read_gold(gold_source, version, FimFormat(str(model_path), family.family, cfg.fim_order, cfg.context_length), cfg.eval_max_samples)
        if len(gold.train) == 0:
            raise TrainingInputError(f"{uri}@v{version} has no usable split='train' rows")
        steps = total_steps(cfg, len(gold.train))
        spec = model_spec(cfg, model_path)
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.convert_tokens_to_ids(family.end)
        settings = loop_settings(cfg, spec, pad_id, steps, MlflowTarget(uri_mlflow, handle.run_id))
        # nested: a caller's own active run (the evaluation's) stays active around this one.
        with mlflow.start_run(run_id=handle.run_id, nested=True, log_system_metrics=cfg.system_metrics):
            if not handle.params_logged:
                mlflow.log_params(mlflow_tracking.flatten("train", cfg.model_dump(mode="json")))
                mlflow_tracking.log_dataset(uri, version, len(gold.train), len(gold.validation))
                mlflow.log_params({"model.path": str(model_path), "fim.family": family.family})
                mlflow.log_params({mlflow_tracking.PARAMS_MARKER: steps})
            result = _fit(cfg, settings, gold.train, gold.validation, storage, run_name)
            shutil.rmtree(model_dir, ignore_errors=True)
            with result.checkpoint.as_directory() as folder:
                export(spec, Path(folder), model_dir, family.family, cfg.fim_order)
            logged = mlflow_tracking.log_model(model_dir, cfg.registered_model)
            final = result.metrics
            if final["val_loss"] is not None:
                mlflow.log_metrics({"final_val_loss": final["val_loss"], "base_val_loss": final["base_val_loss"]})
            summary = {
                "run_name": run_name,
                "mlflow_run_id": handle.run_id,
                "resumed": handle.state == "unfinished",
                "gold_uri": uri,
                "gold_version": version,
                "train_samples": len(gold.train),
                "validation_samples": len(gold.validation),
                "skipped_rows": gold.skipped_rows,
                "steps": steps,
                "resumed_from": final["resumed_from"],
                "base_val_loss": final["base_val_loss"],
                "val_loss": final["val_loss"],
                "model_dir": str(model_dir),
                **logged,
                "seconds": round(time.perf_counter() - started, 1),
            }
            mlflow_tracking.log_summary(summary)
    finally:
        if own_ray:
            ray.shutdown()
    return summary


# What Ray says when a local head node did not come up in time (not a configuration error).
SLOW_START = ("Timed out waiting for file", "timed out during startup")


def start_ray(cfg) -> None:
    """A local Ray of `ray_num_cpus` (or a connection to `ray_address`), quiet, no dashboard.

    A local Ray's workers are this machine's processes with this environment: they import the
    installed package and inherit the environment variables, so they need no runtime environment
    and can use the workers Ray starts in advance (one would make every task and training worker
    start a fresh process). A cluster's workers get this package shipped to them (`py_modules`),
    so they run the driver's code whatever is installed there.
    """
    import ray

    # Ray Train's console logging of workers is off: it prints every report at INFO whatever the level.
    quiet_workers = {"RAY_TRAIN_ENABLE_WORKER_STRUCTURED_LOGGING": "0"}
    if cfg.ray_address is None:
        os.environ.update(quiet_workers)
        runtime_env = None
    else:
        runtime_env = {"py_modules": [str(Path(__file__).resolve().parent)], "env_vars": quiet_workers}
    for attempt in (1, 2):
        try:
            ray.init(
                address=cfg.ray_address,
                num_cpus=cfg.ray_num_cpus if cfg.ray_address is None else None,
                include_dashboard=False,
                # Errors only from Ray's own loggers: the progress line (from rank 0) stays readable.
                logging_level=logging.WARNING,
                logging_config=ray.LoggingConfig(log_level="ERROR"),
                runtime_env=runtime_env,
            )
            return
        except Exception as err:  # Ray raises a bare Exception for a node that does not start in time
            # A local head node slow to start on a loaded machine fails the start ("Timed out
            # waiting for file .../gcs_server_port_..." or "The current node timed out during
            # startup"), and a second start goes through.
            if attempt == 2 or cfg.ray_address is not None or not any(s in str(err) for s in SLOW_START):
                raise
            print("train: the local Ray did not start in time; starting it again", file=sys.stderr, flush=True)
            ray.shutdown()


def _fit(cfg, settings: LoopSettings, train: Examples, val: Examples, storage: Path, run_name: str):
    import ray
    from ray.train import CheckpointConfig, FailureConfig, LoggingConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    from .train_loop import train_loop_per_worker

    trainer = TorchTrainer(
        train_loop_per_worker,
        train_loop_config={"settings": settings, "train": ray.put(train), "validation": ray.put(val)},
        torch_config=TorchConfig(backend="nccl" if cfg.use_gpu else "gloo"),
        scaling_config=ScalingConfig(
            num_workers=cfg.num_workers, use_gpu=cfg.use_gpu, resources_per_worker={"CPU": cfg.cpus_per_worker}
        ),
        run_config=RunConfig(
            name=run_name,
            storage_path=str(storage),
            failure_config=FailureConfig(max_failures=cfg.max_failures),
            checkpoint_config=CheckpointConfig(num_to_keep=cfg.keep_checkpoints),
            # Errors only: Ray Train's INFO lines, and a warning every second from its placement
            # group cleaner, which polls the State API of the dashboard that we do not start.
            logging_config=LoggingConfig(log_level="ERROR"),
        ),
    )
    return trainer.fit()


def _finished(run_id: str, model_dir: Path) -> dict[str, Any]:
    """The summary of a run that finished earlier, its model folder restored from MLflow if the
    runs folder has lost it."""
    from . import mlflow_tracking

    summary = mlflow_tracking.load_summary(run_id)
    if not (model_dir / "config.json").is_file():
        model_dir.parent.mkdir(parents=True, exist_ok=True)
        mlflow_tracking.download_model_folder(run_id, model_dir)
    return {**summary, "model_dir": str(model_dir), "already_finished": True}
