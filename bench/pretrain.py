"""Pretraining throughput on this machine: tokens/s of Llama-style shapes, full training steps.

    python bench/pretrain.py                       # the default grid (about 3 minutes on 2 cores)
    python bench/pretrain.py --shapes 4x192 6x256 --contexts 512 1024 --threads 1 2 --batches 8 16

A step is what pretraining does: forward, backward and AdamW on a full batch of `context` tokens,
fp32 (this CPU has no bf16 units: autocast runs about 3x slower). Figures are the median of the
timed steps after warm-up. `chars/s` multiplies by the shipped tokenizer's characters per token
when a model folder is given (`--tokenizer models/echo-base`), the figure that compares vocabularies.

    python bench/pretrain.py --curve models/echo-base    # what more tokens would buy that model

`--curve` reads a built model's validation curve (bits per character on held-out standard-library
files against tokens seen, from its manifest), fits L(D) = E + A * D^-alpha through the first
phase's points and prints the fit and its projections; no training step is timed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def measure(layers: int, hidden: int, vocab: int, context: int, batch: int, threads: int, steps: int) -> tuple[float, int]:
    import torch

    from training.tiny_model import build, llama_config

    torch.set_num_threads(threads)
    heads = max(1, hidden // 64) if hidden % 64 == 0 else max(1, hidden // 48)
    model = build(llama_config(vocab, layers, hidden, heads, context), seed=1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95))
    ids = torch.randint(0, vocab, (batch, context))
    times = []
    for step in range(steps + 2):
        started = time.perf_counter()
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step >= 2:
            times.append(time.perf_counter() - started)
    parameters = sum(p.numel() for p in model.parameters())
    return batch * context / statistics.median(times), parameters


def project(model_dir: Path) -> None:
    import json

    from training.scaling import fit_power_law

    manifest = json.loads((model_dir / "echo_base.json").read_text())
    curve = manifest["validation_curve"]
    print(f"{'phase':>8} {'step':>6} {'tokens':>12} {'bits/char':>9}")
    for row in curve:
        print(f"{row.get('phase', 'pretrain'):>8} {row['step']:>6} {row['tokens']:>12,} {row['bits_per_char']:>9.4f}")
    # The first points are the warm-up's, which no power law of the data describes; the second
    # phase restarts the schedule on other middles, so the fit is the first phase's alone.
    points = [row for row in curve
              if row.get("phase", "pretrain") == "pretrain" and row["step"] > manifest["settings"]["warmup_steps"] * 2]
    law = fit_power_law([r["tokens"] for r in points], [r["bits_per_char"] for r in points])
    if law is None:
        print("too few validation points to fit")
        return
    print(f"fit over steps > {manifest['settings']['warmup_steps'] * 2}: bits/char = {law.floor:.3f} + {law.scale:.1f} * tokens^-{law.exponent:.3f}")
    for tokens in (30e6, 60e6, 100e6, 300e6):
        print(f"projected at {tokens / 1e6:>5.0f}M tokens: {law(tokens):.3f} bits/char")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shapes", nargs="+", default=["4x192", "4x256", "6x256", "8x256"], help="LAYERSxWIDTH")
    parser.add_argument("--vocabs", nargs="+", type=int, default=[8192])
    parser.add_argument("--contexts", nargs="+", type=int, default=[512])
    parser.add_argument("--batches", nargs="+", type=int, default=[16])
    parser.add_argument("--threads", nargs="+", type=int, default=[2])
    parser.add_argument("--steps", type=int, default=5, help="timed steps per point (after 2 warm-up steps)")
    parser.add_argument("--tokenizer", help="model folder whose tokenizer gives characters per token")
    parser.add_argument("--curve", metavar="MODEL_DIR", help="fit and project a built model's validation curve instead")
    args = parser.parse_args()
    if args.curve:
        project(Path(args.curve))
        return

    chars_per_token = None
    if args.tokenizer:
        import json

        manifest = json.loads((Path(args.tokenizer) / "echo_base.json").read_text())
        chars_per_token = manifest["report"].get("chars_per_token")
    print(f"{'shape':>7} {'vocab':>6} {'ctx':>5} {'batch':>5} {'thr':>3} {'params':>9} {'tokens/s':>9}" + (" chars/s" if chars_per_token else ""))
    for shape in args.shapes:
        layers, hidden = (int(x) for x in shape.split("x"))
        for vocab in args.vocabs:
            for context in args.contexts:
                for batch in args.batches:
                    for threads in args.threads:
                        rate, params = measure(layers, hidden, vocab, context, batch, threads, args.steps)
                        extra = f" {rate * chars_per_token:8,.0f}" if chars_per_token else ""
                        print(f"{shape:>7} {vocab:>6} {context:>5} {batch:>5} {threads:>3} {params / 1e6:8.2f}M {rate:9,.0f}{extra}", flush=True)


if __name__ == "__main__":
    main()
