"""The base model: a tokenizer and a small Llama pretrained from scratch on code, with no download.

It stands in for a production completion model wherever none is given (the simulator's production
model, curate's perplexity scorer, the base that `train` fine-tunes), so it must complete code well
enough to be accepted now and then, and it must never have seen what the evaluation judges it on:
the corpus (`pretrain_corpus`) leaves out every file the simulator can hold out and any near-copy.

Pretraining uses random FIM transformations (the cursor anywhere, the middle running to a line end,
sometimes empty), in PSM and SPM order, with the loss on every token as in the FIM paper, so the
base already completes in the middle and knows when to stop. Validation is left-to-right text of
held-out files, reported in bits per character, which compares across tokenizers.

A build checkpoints into its work folder every `eval_every_steps`; running the same command again
resumes from the newest checkpoint (batches, learning rate and data are functions of the settings
and the step). The finished model is written to `<dir>.building/model` and renamed into place, so
an interrupted build never leaves a half-written model where `train` or `inference` would load it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import random
import shutil
import sys
import sysconfig
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import pretrain_corpus
from .batching import Examples
from .corpus import chunks
from .examples import tokenize
from .fim import FAMILIES, FimIds, encode, random_split
from .model_io import ModelSpec, export
from .session import LocalSession
from .tiny_model import build, llama_config
from .tokenizer import train_tokenizer
from .train_loop import LoopSettings, fit

MANIFEST = "echo_base.json"
CORPUS_LIST = "corpus_files.tsv.gz"
HISTORY = "history.jsonl"
SETTINGS = "settings.json"
# Text the tokenizer is trained on (the first files of the corpus, in its order).
TOKENIZER_CHARS = 12_000_000
# Characters of each source's held-out text read for validation.
VALIDATION_CHARS = 400_000
THIRD_PARTY_VALIDATION_SHARE = 0.01


@dataclass(frozen=True)
class HeldOutFile:
    """A file the evaluation may judge the model on: never pretrained on, nor any near-copy."""

    path: str  # relative to the standard library
    text: str


@dataclass(frozen=True)
class BaseModelReport:
    dir: str
    corpus_digest: str
    corpus_files: dict[str, int]
    corpus_chars: int
    skipped: dict[str, int]
    parameters: int
    vocab_size: int
    chars_per_token: float
    steps: int
    tokens_seen: int
    initial_val_loss: float | None
    val_loss: float | None
    bits_per_char: dict[str, float]


class RecordingSession(LocalSession):
    """A LocalSession that also appends every report to a history file, so the validation curve of
    a build survives its resumptions."""

    def report(self, metrics: dict[str, Any], checkpoint_dir: Path | None) -> None:
        super().report(metrics, checkpoint_dir)
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / HISTORY, "a") as fh:
            fh.write(json.dumps(metrics) + "\n")

    def history(self) -> list[dict[str, Any]]:
        file = self.root / HISTORY
        if not file.is_file():
            return []
        by_step = {row["step"]: row for row in map(json.loads, file.read_text().splitlines())}
        return [by_step[step] for step in sorted(by_step)]


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


@dataclass(frozen=True)
class TextWindows:
    """Left-to-right windows of whole files, and the characters their predicted tokens spell."""

    examples: Examples
    predicted_chars: int

    def bits_per_char(self, loss_per_token: float) -> float:
        predicted_tokens = int(self.examples.lengths().sum()) - len(self.examples)
        return loss_per_token * predicted_tokens / self.predicted_chars / math.log(2)


def text_windows(tokenizer, texts: list[str], context: int) -> TextWindows:
    """Each text cut into consecutive windows of `context` tokens; every token but a window's first
    is predicted, and counted with the characters it decodes to."""
    windows, chars = [], 0
    for ids in tokenize(tokenizer, texts):
        for start in range(0, len(ids), context):
            window = ids[start : start + context]
            if len(window) < 2:
                continue
            windows.append(np.asarray(window, dtype=np.int32))
            chars += len(tokenizer.decode(window[1:]))
    return TextWindows(Examples(windows, list(windows)), chars)


def heldout_index(heldout: list[HeldOutFile], threshold: float) -> pretrain_corpus.NearDuplicateIndex:
    index = pretrain_corpus.NearDuplicateIndex(threshold)
    for file in heldout:
        index.add(f"heldout:{file.path}", file.text)
    return index


def _roots(settings) -> list[tuple[str, Path]]:
    if settings.corpus:
        return [("corpus", Path(settings.corpus))]
    roots = {"stdlib": Path(sysconfig.get_paths()["stdlib"]), "third-party": Path(sysconfig.get_paths()["purelib"])}
    return [(name, roots[name]) for name in settings.sources]


def select_corpus(settings, heldout: list[HeldOutFile]) -> pretrain_corpus.CorpusSelection:
    index = heldout_index(heldout, settings.near_duplicate_threshold)
    excluded = frozenset(f.path for f in heldout)
    roots = [(name, root, excluded if name == "stdlib" else frozenset()) for name, root in _roots(settings)]
    for name, root, _ in roots:
        if not Path(root).is_dir():
            raise FileNotFoundError(f"pretraining source {name!r} not found: {root}")
    return pretrain_corpus.select(roots, index, max_bytes=settings.max_file_bytes, max_chars=settings.corpus_chars)


def _is_validation(file: pretrain_corpus.CorpusFile) -> bool:
    digest = hashlib.sha256(f"validation:{file.path}".encode()).digest()
    return file.source != "stdlib" and int.from_bytes(digest[:8], "big") / 2**64 < THIRD_PARTY_VALIDATION_SHARE


def _capped(texts: list[str], files: int) -> list[str]:
    out, size = [], 0
    for text in texts[:files]:
        if size >= VALIDATION_CHARS:
            break
        out.append(text[: VALIDATION_CHARS - size])
        size += len(out[-1])
    return out


def _settings_key(settings, digest: str) -> str:
    """What a checkpoint must have been trained with to be resumed. Not the step count: a build
    that runs late can be finished sooner by resuming it with fewer steps (the learning rate then
    follows the shorter schedule from there on). Nor the threads, which change only the speed."""
    return json.dumps({"settings": settings.model_dump(exclude={"dir", "work_dir", "steps", "threads"}), "corpus": digest}, sort_keys=True)


def build_base_model(settings, heldout: list[HeldOutFile], out_dir: Path | None = None, command: str | None = None) -> BaseModelReport:
    """Select the corpus, train the tokenizer and the model of `settings` (a BaseModelConfig) into
    `out_dir`, resuming a build of the same settings and corpus whose checkpoints are in the work folder."""
    import torch

    if settings.threads:
        torch.set_num_threads(settings.threads)
    out_dir = Path(out_dir or settings.dir)
    work = Path(settings.work_dir) if settings.work_dir else out_dir.with_name(out_dir.name + ".building")
    _say(f"selecting the corpus ({', '.join(name for name, _ in _roots(settings))}; {len(heldout)} held-out files excluded)")
    selection = select_corpus(settings, heldout)
    train_files = [f for f in selection.files if not _is_validation(f)]
    validation_third_party = [f.text for f in selection.files if _is_validation(f)]
    if len(train_files) < 2:
        raise ValueError(f"the pretraining corpus has fewer than 2 usable files ({dict(selection.skipped)} skipped)")
    training_set = pretrain_corpus.CorpusSelection(train_files, selection.skipped)
    digest = training_set.digest
    counts: dict[str, int] = {}
    for f in train_files:
        counts[f.source] = counts.get(f.source, 0) + 1
    _say(f"corpus {digest[:12]}: {counts} files, {training_set.chars():,} characters; skipped {dict(selection.skipped)}")

    key = _settings_key(settings, digest)
    if (work / SETTINGS).is_file() and (work / SETTINGS).read_text() != key:
        _say(f"{work} holds a build of other settings or another corpus: starting over")
        shutil.rmtree(work)
    init_dir = work / "init"
    if not (init_dir / "config.json").is_file():
        shutil.rmtree(work, ignore_errors=True)
        tokenizer_texts, size = [], 0
        for f in train_files:
            if size >= TOKENIZER_CHARS:
                break
            tokenizer_texts.append(f.text)
            size += len(f.text)
        _say(f"training the tokenizer ({settings.vocab_size} tokens) on {size:,} characters")
        tokenizer = train_tokenizer(tokenizer_texts, settings.vocab_size)
        model_config = llama_config(
            len(tokenizer),
            settings.layers,
            settings.hidden,
            settings.heads,
            settings.context_length,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
        build(model_config, settings.seed).save_pretrained(str(init_dir))
        tokenizer.save_pretrained(str(init_dir))
        (work / SETTINGS).write_text(key)
    from .model_io import load_tokenizer

    tokenizer = load_tokenizer(init_dir)
    sample = "".join(f.text for f in train_files[:200])[:2_000_000]
    chars_per_token = len(sample) / max(1, len(tokenizer(sample, add_special_tokens=False)["input_ids"]))

    # Documents a little shorter than the context, so that a FIM example with its sentinels fits.
    documents = chunks([f.text for f in train_files], int(settings.context_length * chars_per_token * 0.95))
    _say(f"{len(documents):,} documents of ~{int(settings.context_length * chars_per_token * 0.95)} characters; "
         f"{chars_per_token:.2f} characters per token; tokenizing {settings.steps * settings.batch_size:,} examples")
    train = pretraining_examples(tokenizer, documents, settings.steps * settings.batch_size, settings, settings.seed)
    val_stdlib = text_windows(tokenizer, _capped([f.text for f in heldout], settings.validation_files), settings.context_length)
    loop = LoopSettings(
        model=ModelSpec(path=str(init_dir), seed=settings.seed),
        pad_id=tokenizer.pad_token_id,
        total_steps=settings.steps,
        batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        warmup_steps=settings.warmup_steps,
        seed=settings.seed,
        checkpoint_every=settings.eval_every_steps,
        eval_every=settings.eval_every_steps,
        log_every=max(1, min(25, settings.steps // 20)),
        label="build-base-model",
    )
    session = RecordingSession(work / "checkpoints", keep=1)
    state = fit(loop, train, val_stdlib.examples, session)
    staging = work / "model"
    shutil.rmtree(staging, ignore_errors=True)
    export(loop.model, session.checkpoints()[-1], staging)

    bits = {"stdlib_heldout": val_stdlib.bits_per_char(state.val_loss)}
    val_third_party = _capped(validation_third_party, settings.validation_files)
    if val_third_party:
        bits["third_party_heldout"] = _bits_per_char(staging, tokenizer, val_third_party, loop, settings.context_length)
    tokens_seen = int(sum(len(x) for x in train.input_ids))
    curve = [
        {"step": row["step"], "tokens": int(tokens_seen * row["step"] / settings.steps),
         "bits_per_char": round(val_stdlib.bits_per_char(row["val_loss"]), 4)}
        for row in session.history()
        if row.get("val_loss") is not None
    ]
    report = BaseModelReport(
        dir=str(out_dir),
        corpus_digest=digest,
        corpus_files=counts,
        corpus_chars=training_set.chars(),
        skipped=dict(selection.skipped),
        parameters=sum(p.numel() for p in torch.load(session.checkpoints()[-1] / "trainable.pt", weights_only=True).values()),
        vocab_size=len(tokenizer),
        chars_per_token=round(chars_per_token, 3),
        steps=settings.steps,
        tokens_seen=tokens_seen,
        initial_val_loss=state.base_val_loss,
        val_loss=state.val_loss,
        bits_per_char={k: round(v, 4) for k, v in bits.items()},
    )
    _write_manifest(staging, report, settings, curve, training_set, command)
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(out_dir)
    shutil.rmtree(work)
    return report


def _bits_per_char(model_dir: Path, tokenizer, texts: list[str], loop: LoopSettings, context: int) -> float:
    from .model_io import load_trainable
    from .train_loop import evaluate

    windows = text_windows(tokenizer, texts, context)
    model = load_trainable(ModelSpec(path=str(model_dir)))
    return windows.bits_per_char(evaluate(model, windows.examples, loop, LocalSession(model_dir / "checkpoints")))


def _write_manifest(folder: Path, report: BaseModelReport, settings, curve: list[dict],
                    corpus: pretrain_corpus.CorpusSelection, command: str | None) -> None:
    with gzip.open(folder / CORPUS_LIST, "wt", encoding="utf-8") as fh:
        fh.writelines(line + "\n" for line in corpus.listing())
    manifest = {
        "command": command,
        "python": sys.version.split()[0],
        "report": asdict(report),
        "settings": settings.model_dump(),
        "validation_curve": curve,
        "files": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()},
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def _say(message: str) -> None:
    sys.stderr.write(f"[build-base-model] {message}\n")
    sys.stderr.flush()
