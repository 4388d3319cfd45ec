"""The tiny base model: a tokenizer and a small Llama trained from scratch on a code corpus.

It stands in for a production completion model wherever none is given (the simulator's model, the
curate stage's perplexity scorer, the base that `train` fine-tunes), and it must be built with no
download. Pretraining uses random FIM transformations (the cursor anywhere, the middle running to a
line end, sometimes empty), in PSM and SPM order, with the loss on every token as in the FIM paper;
so the base already completes in the middle and knows when to stop, and fine-tuning on telemetry
has a non-trivial model to improve on.

The model is built in `<dir>.building/` and renamed into place at the end: an interrupted build
never leaves a half-written model where `train` or `inference` would load it.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import corpus
from .batching import Examples
from .examples import tokenize
from .fim import FAMILIES, FimIds, encode, random_split
from .model_io import ModelSpec, export
from .session import LocalSession
from .tiny_model import build, llama_config
from .tokenizer import train_tokenizer
from .train_loop import LoopSettings, fit

MANIFEST = "echo_base.json"
# Characters per training document: about what fits the context at ~3 characters per token.
CHARS_PER_TOKEN = 3
VALIDATION_EVERY = 20
VALIDATION_EXAMPLES = 128


@dataclass(frozen=True)
class BaseModelReport:
    dir: str
    corpus: str
    files: int
    parameters: int
    vocab_size: int
    steps: int
    initial_val_loss: float | None
    val_loss: float | None


def pretraining_examples(tokenizer, documents: list[str], count: int, settings, seed: int) -> Examples:
    """`count` examples drawn from `documents` (cycled in a seeded order), each a random FIM
    transformation (or left-to-right text), labelled on every token but the sentinels."""
    rng = random.Random(seed)
    ids = FimIds.of(tokenizer, FAMILIES["echo"])
    order = [documents[i] for i in np.random.default_rng(seed).permutation(len(documents))]
    picked = [order[i % len(order)] for i in range(count)]
    splits = []
    for text in picked:
        if rng.random() < settings.fim_rate:
            splits.append((*random_split(text, rng, settings.void_rate), "spm" if rng.random() < settings.spm_rate else "psm"))
        else:
            splits.append((text, "", "", None))
    prefixes = tokenize(tokenizer, [s[0] for s in splits])
    middles = tokenize(tokenizer, [s[1] for s in splits])
    suffixes = tokenize(tokenizer, [s[2] for s in splits])
    input_ids, labels = [], []
    for (_, _, _, fim_order), p, m, s in zip(splits, prefixes, middles, suffixes):
        if fim_order is None:
            tokens = p[: settings.context_length]
            input_ids.append(tokens)
            labels.append(tokens)
            continue
        example = encode(ids, p, s, m, settings.context_length, fim_order, train_on_context=True)
        input_ids.append(example.input_ids)
        labels.append(example.labels)
    return Examples([np.asarray(x, dtype=np.int32) for x in input_ids], [np.asarray(x, dtype=np.int32) for x in labels])


def build_base_model(settings, out_dir: Path | None = None) -> BaseModelReport:
    """Train the tokenizer and the model of `settings` (a TinyBaseConfig) into `out_dir`."""
    import torch

    if settings.threads:
        torch.set_num_threads(settings.threads)
    out_dir = Path(out_dir or settings.dir)
    root = Path(settings.corpus) if settings.corpus else corpus.default_root()
    files = corpus.sample_files(root, settings.corpus_files)
    if len(files) < 2:
        raise ValueError(f"corpus {root} has fewer than 2 readable .py files")
    # Every VALIDATION_EVERY-th file of the (hash-ordered) sample is held out: validation text the
    # model has never seen, the same in every build.
    val_files = files[::VALIDATION_EVERY]
    train_files = [f for i, f in enumerate(files) if i % VALIDATION_EVERY]

    tokenizer = train_tokenizer((f.text for f in train_files), settings.vocab_size)
    model_config = llama_config(
        len(tokenizer),
        settings.layers,
        settings.hidden,
        settings.heads,
        settings.context_length,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    staging = out_dir.with_name(out_dir.name + ".building")
    shutil.rmtree(staging, ignore_errors=True)
    init_dir = staging / "init"
    model = build(model_config, settings.seed)
    model.save_pretrained(str(init_dir))
    tokenizer.save_pretrained(str(init_dir))

    chars = settings.context_length * CHARS_PER_TOKEN
    train = pretraining_examples(tokenizer, corpus.chunks(train_files, chars), settings.steps * settings.batch_size, settings, settings.seed)
    val = pretraining_examples(tokenizer, corpus.chunks(val_files, chars), VALIDATION_EXAMPLES, settings, settings.seed + 1)
    spec = ModelSpec(path=str(init_dir), seed=settings.seed)
    loop = LoopSettings(
        model=spec,
        pad_id=tokenizer.pad_token_id,
        total_steps=settings.steps,
        batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        warmup_steps=max(1, settings.steps // 20),
        seed=settings.seed,
        checkpoint_every=settings.steps,
        eval_every=max(1, settings.steps // 4),
        log_every=max(1, settings.steps // 20),
        label="build-base-model",
    )
    session = LocalSession(staging / "checkpoints", keep=1)
    state = fit(loop, train, val, session)
    export(spec, session.checkpoints()[-1], staging / "model")

    report = BaseModelReport(
        dir=str(out_dir),
        corpus=str(root),
        files=len(files),
        parameters=sum(p.numel() for p in model.parameters()),
        vocab_size=len(tokenizer),
        steps=settings.steps,
        initial_val_loss=state.base_val_loss,
        val_loss=state.val_loss,
    )
    (staging / "model" / MANIFEST).write_text(json.dumps({"report": asdict(report), "settings": settings.model_dump()}, indent=2))
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    (staging / "model").rename(out_dir)
    shutil.rmtree(staging)
    return report
