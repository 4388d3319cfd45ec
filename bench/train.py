"""Training throughput: tokens/s of the real training step (training/train_loop.train_step).

    python bench/train.py                                   # tiny default model, this CPU
    OMP_NUM_THREADS=1 python bench/train.py                 # one core, as each CPU train worker runs
    python bench/train.py --config 0.5b --bf16 --device cuda --batch-size 8 --context 2048

One process, random tokens (throughput does not depend on the text), a randomly initialized
model of the chosen shape built locally: `tiny` is the default base model (train.base), `0.5b`
the shape of Qwen2.5-Coder-0.5B. After `--warmup` steps, times `--steps` steps and prints tokens/s
and, where the peak is known (`--peak-tflops`, or an H100/H200/A100 detected), the model FLOPs
utilization: (6 x parameters + 12 x layers x width x context) FLOPs per token, the usual
approximation (attention counted in full, though causal).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from echo_spark.config import BaseModelConfig  # noqa: E402
from training.batching import Examples, collate  # noqa: E402
from training.model_io import ModelSpec  # noqa: E402
from training.session import LocalSession  # noqa: E402
from training.tiny_model import build, llama_config, qwen_half_b_config  # noqa: E402
from training.train_loop import LoopSettings, make_optimizer, train_step  # noqa: E402

# Dense bf16 peak TFLOP/s by device name fragment.
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0}


def model_config(name: str, context: int | None):
    """The model shape and the example length (default: the model's context)."""
    if name == "0.5b":
        return qwen_half_b_config(context or 2048)
    base = BaseModelConfig()
    return llama_config(base.vocab_size, base.layers, base.hidden, base.heads, context or base.context_length)


def peak_tflops(args: argparse.Namespace) -> float | None:
    if args.peak_tflops:
        return args.peak_tflops
    if args.device.startswith("cuda"):
        name = torch.cuda.get_device_name()
        return next((v for k, v in PEAK_TFLOPS.items() if k in name), None)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", choices=["tiny", "0.5b"], default="tiny")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (fp32 master weights), as train does on GPU")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--context", type=int, help="tokens per example (default: the model's context)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--peak-tflops", type=float, help="device peak for MFU (default: known GPUs)")
    args = parser.parse_args()

    config = model_config(args.config, args.context)
    context = config.max_position_embeddings
    session = LocalSession(Path("."), device=args.device)
    model = session.prepare(build(config, seed=0), "ddp")
    settings = LoopSettings(
        model=ModelSpec(path="(in memory)"), pad_id=0, total_steps=args.warmup + args.steps,
        batch_size=args.batch_size, learning_rate=1e-4, precision="bf16" if args.bf16 else "fp32",
    )
    optimizer, params = make_optimizer(model, settings)
    rng = np.random.default_rng(0)
    tokens = [rng.integers(1, config.vocab_size, size=context, dtype=np.int32) for _ in range(args.batch_size)]
    batch = collate(Examples(tokens, tokens), np.arange(args.batch_size), pad_id=0)

    for step in range(args.warmup):
        train_step(model, optimizer, params, batch, settings, session, step, 1e-4)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    started = time.perf_counter()
    for step in range(args.warmup, args.warmup + args.steps):
        train_step(model, optimizer, params, batch, settings, session, step, 1e-4)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started

    parameters = sum(p.numel() for p in model.parameters())
    tokens_per_s = args.steps * args.batch_size * context / seconds
    flops_per_token = 6 * parameters + 12 * config.num_hidden_layers * config.hidden_size * context
    line = (
        f"{args.config}: {parameters / 1e6:.1f}M parameters, {args.device}, {'bf16' if args.bf16 else 'fp32'}, "
        f"batch {args.batch_size} x {context} tokens, {torch.get_num_threads()} threads: "
        f"{tokens_per_s:,.0f} tokens/s ({seconds / args.steps * 1000:.0f} ms/step)"
    )
    peak = peak_tflops(args)
    if peak:
        line += f", MFU {flops_per_token * tokens_per_s / (peak * 1e12):.1%} of {peak:.0f} TFLOP/s"
    print(line)


if __name__ == "__main__":
    main()
