"""The base model: a tokenizer and a small Llama pretrained from scratch on code, with no download.

It stands in for a production completion model wherever none is given (the simulator's production
model, curate's perplexity scorer, the base that `train` fine-tunes), so it must complete code well
enough to be accepted now and then, and it must never have seen what the evaluation judges it on:
the corpus (`pretrain_corpus`) leaves out every file the simulator can hold out and any near-copy.

Pretraining runs in two phases. The first uses random FIM transformations (the cursor anywhere,
the middle running to a line end and a few more lines, sometimes empty), in PSM and SPM order, with
the loss on every token as in the FIM paper, so the base completes in the middle. A middle of
random length teaches that a completion may stop, not where: the first shipped base ran past the
developer's unit on most requests and was never accepted. The second phase (`anneal`: fresh
warm-up, lower peak, documents the first did not reach) makes most middles the atomic unit at the
cursor, so the base stops where a unit ends, as a production model's post-processing or
syntax-aware FIM training makes it do. Validation is left-to-right text of held-out files, reported
in bits per character, which compares across tokenizers.

A build checkpoints into its work folder every `eval_every_steps`; running the same command again
resumes from the newest checkpoint (batches, learning rate and data are functions of the settings
and the step). The finished model is written to `<dir>.building/model` and renamed into place, so
an interrupted build never leaves a half-written model where `train` or `inference` would load it.
`--pretrained DIR` takes the first phase from a finished build of the same settings and corpus
(its manifest is checked and cited), so a second phase can be added without repeating hours of the first.
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
from typing import Any, Callable

import numpy as np

from . import pretrain_corpus
from .batching import Examples
from .corpus import chunks
from .examples import tokenize
from .fim import FAMILIES, FimIds, encode, random_split, unit_split
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
# Where the atomic unit a completion at `cursor` should propose ends in `text` (the caller's
# definition: echo_spark/units.py for the shipped build; training does not import the pipeline).
UnitEnd = Callable[[str, int], int]


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
    steps: int  # of the first phase
    anneal_steps: int
    tokens_seen: int  # both phases
    pretrained_tokens: int  # the first phase
    initial_val_loss: float | None
    pretrained_val_loss: float | None  # after the first phase
    val_loss: float | None
    bits_per_char: dict[str, float]
    pretrained_from: str | None  # the build whose first phase was taken (`--pretrained`), if any


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


def pretraining_examples(tokenizer, documents: list[str], count: int, settings, seed: int, start: int = 0,
                         unit_rate: float = 0.0, unit_end: UnitEnd | None = None) -> Examples:
    """`count` examples from `documents` cycled in the order seeded by `settings.seed`, from the
    `start`-th on (a later phase reads on where an earlier one stopped), each a FIM transformation
    (its middle the unit at the cursor with probability `unit_rate`, else a random run of lines) or
    left-to-right text, labelled on every token but the sentinels. `seed` draws the transformations."""
    rng = random.Random(seed)
    ids = FimIds.of(tokenizer, FAMILIES["echo"])
    order = [documents[i] for i in np.random.default_rng(settings.seed).permutation(len(documents))]
    picked = [order[(start + i) % len(order)] for i in range(count)]
    splits = []
    for text in picked:
        if rng.random() < settings.fim_rate:
            if unit_end is not None and rng.random() < unit_rate:
                cut = unit_split(text, rng, settings.void_rate, unit_end)
            else:
                cut = random_split(text, rng, settings.void_rate)
            splits.append((*cut, "spm" if rng.random() < settings.spm_rate else "psm"))
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


# Settings that do not change what a phase learns: where it is written, how fast it runs, and (for
# the first phase) the second phase's. Not the first phase's step count when resuming it: a build
# that runs late can be finished sooner with fewer steps (the learning rate follows the shorter schedule).
_NOT_PRETRAINING = {"dir", "work_dir", "threads", "anneal"}


def _settings_key(settings, digest: str) -> str:
    """What a first-phase checkpoint must have been trained with to be resumed."""
    return json.dumps({"settings": settings.model_dump(exclude=_NOT_PRETRAINING | {"steps"}), "corpus": digest}, sort_keys=True)


def _anneal_key(settings, digest: str) -> str:
    """What a second-phase checkpoint must have been trained with (its own steps aside): the whole
    first phase, steps included, and the second phase's settings."""
    exclude = {name: True for name in _NOT_PRETRAINING - {"anneal"}} | {"anneal": {"steps"}}
    return json.dumps({"settings": settings.model_dump(exclude=exclude), "corpus": digest}, sort_keys=True)


@dataclass(frozen=True)
class Pretrained:
    """The finished first phase: its model folder and what it reports."""

    dir: Path
    tokens_seen: int
    initial_val_loss: float | None
    val_loss: float | None
    curve: list[dict]
    source: str | None = None  # the build it was taken from (`--pretrained`), with its manifest's sha256


def pretrained_from(folder: Path, settings, digest: str) -> Pretrained:
    """The first phase of a finished build in `folder` (a model with its manifest), checked to be
    what this build's first phase would train: the same settings (its own second phase aside) and corpus."""
    manifest_file = Path(folder) / MANIFEST
    if not manifest_file.is_file():
        raise FileNotFoundError(f"{folder} holds no base model manifest ({MANIFEST})")
    manifest = json.loads(manifest_file.read_text())
    theirs = {k: v for k, v in manifest["settings"].items() if k not in _NOT_PRETRAINING}
    ours = settings.model_dump(exclude=_NOT_PRETRAINING)
    if theirs != ours or manifest["report"]["corpus_digest"] != digest:
        differ = sorted(k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k))
        raise ValueError(f"{folder} was pretrained with other settings ({', '.join(differ) or 'the corpus'}): "
                         "its first phase is not this build's")
    report = manifest["report"]
    if report.get("anneal_steps"):
        raise ValueError(f"{folder} has had its second phase already: give the build of its first phase alone")
    first = [row for row in manifest["validation_curve"] if row.get("phase", "pretrain") == "pretrain"]
    tokens = report.get("pretrained_tokens", report["tokens_seen"])
    sha = hashlib.sha256(manifest_file.read_bytes()).hexdigest()
    return Pretrained(Path(folder), tokens, report["initial_val_loss"], report.get("pretrained_val_loss", report["val_loss"]),
                      [dict(row, phase="pretrain") for row in first], f"{folder} ({MANIFEST} sha256 {sha})")


def build_base_model(settings, heldout: list[HeldOutFile], out_dir: Path | None = None, command: str | None = None,
                     unit_end: UnitEnd | None = None, pretrained: Path | None = None) -> BaseModelReport:
    """Select the corpus, train the tokenizer and the model of `settings` (a BaseModelConfig) into
    `out_dir` in two phases, resuming a build of the same settings and corpus whose checkpoints are
    in the work folder. `unit_end(text, cursor)` ends the second phase's unit middles; `pretrained`
    is a finished build whose first phase this one takes instead of training it again."""
    import torch

    if settings.threads:
        torch.set_num_threads(settings.threads)
    if settings.anneal.steps and unit_end is None:
        raise ValueError("the second pretraining phase needs where a unit ends (unit_end)")
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

    given = pretrained_from(pretrained, settings, digest) if pretrained else None
    key = _settings_key(settings, digest)
    if (work / SETTINGS).is_file() and (work / SETTINGS).read_text() != key:
        _say(f"{work} holds a build of other settings or another corpus: starting over")
        shutil.rmtree(work)
    init_dir = work / "init"
    if given is None and not (init_dir / "config.json").is_file():
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
    work.mkdir(parents=True, exist_ok=True)
    (work / SETTINGS).write_text(key)
    from .model_io import load_tokenizer

    tokenizer = load_tokenizer(given.dir if given else init_dir)
    sample = "".join(f.text for f in train_files[:200])[:2_000_000]
    chars_per_token = len(sample) / max(1, len(tokenizer(sample, add_special_tokens=False)["input_ids"]))

    # Documents a little shorter than the context, so that a FIM example with its sentinels fits.
    documents = chunks([f.text for f in train_files], int(settings.context_length * chars_per_token * 0.95))
    _say(f"{len(documents):,} documents of ~{int(settings.context_length * chars_per_token * 0.95)} characters; "
         f"{chars_per_token:.2f} characters per token")
    val_stdlib = text_windows(tokenizer, _capped([f.text for f in heldout], settings.validation_files), settings.context_length)

    def loop_settings(model: Path, steps: int, learning_rate: float, warmup: int, label: str) -> LoopSettings:
        return LoopSettings(
            model=ModelSpec(path=str(model), seed=settings.seed),
            pad_id=tokenizer.pad_token_id,
            total_steps=steps,
            batch_size=settings.batch_size,
            learning_rate=learning_rate,
            warmup_steps=warmup,
            seed=settings.seed,
            checkpoint_every=settings.eval_every_steps,
            eval_every=settings.eval_every_steps,
            log_every=max(1, min(25, steps // 20)),
            label=label,
        )

    def curve_of(session: RecordingSession, tokens: int, steps: int, offset: int, phase: str) -> list[dict]:
        return [
            {"step": row["step"], "tokens": offset + int(tokens * row["step"] / steps),
             "bits_per_char": round(val_stdlib.bits_per_char(row["val_loss"]), 4), "phase": phase}
            for row in session.history()
            if row.get("val_loss") is not None
        ]

    first = given or _first_phase(work, init_dir, tokenizer, documents, settings, val_stdlib, loop_settings, curve_of)
    final, loop, tokens_seen, val_loss, curve = first.dir, None, first.tokens_seen, first.val_loss, list(first.curve)
    staging = work / "model"
    shutil.rmtree(staging, ignore_errors=True)
    if settings.anneal.steps:
        anneal = settings.anneal
        anneal_work = work / "anneal"
        anneal_key = _anneal_key(settings, digest)
        if (anneal_work / SETTINGS).is_file() and (anneal_work / SETTINGS).read_text() != anneal_key:
            shutil.rmtree(anneal_work)
        anneal_work.mkdir(parents=True, exist_ok=True)
        (anneal_work / SETTINGS).write_text(anneal_key)
        _say(f"second phase: tokenizing {anneal.steps * settings.batch_size:,} examples, {anneal.unit_rate:.0%} of FIM middles whole units")
        examples = pretraining_examples(tokenizer, documents, anneal.steps * settings.batch_size, settings, settings.seed + 1,
                                        start=settings.steps * settings.batch_size, unit_rate=anneal.unit_rate, unit_end=unit_end)
        loop = loop_settings(first.dir, anneal.steps, anneal.learning_rate, anneal.warmup_steps, "build-base-model (anneal)")
        session = RecordingSession(anneal_work / "checkpoints", keep=1)
        state = fit(loop, examples, val_stdlib.examples, session)
        export(loop.model, session.checkpoints()[-1], staging)
        anneal_tokens = int(sum(len(x) for x in examples.input_ids))
        curve += curve_of(session, anneal_tokens, anneal.steps, first.tokens_seen, "anneal")
        tokens_seen += anneal_tokens
        val_loss = state.val_loss
        final = staging
    else:
        shutil.copytree(first.dir, staging)
        loop = loop_settings(first.dir, 1, settings.learning_rate, 1, "build-base-model")
    for stale in [staging / MANIFEST, staging / CORPUS_LIST]:
        stale.unlink(missing_ok=True)

    bits = {"stdlib_heldout": val_stdlib.bits_per_char(val_loss)}
    val_third_party = _capped(validation_third_party, settings.validation_files)
    if val_third_party:
        bits["third_party_heldout"] = _bits_per_char(final, tokenizer, val_third_party, loop, settings.context_length)
    report = BaseModelReport(
        dir=str(out_dir),
        corpus_digest=digest,
        corpus_files=counts,
        corpus_chars=training_set.chars(),
        skipped=dict(selection.skipped),
        parameters=sum(p.numel() for p in _weights(final).values()),
        vocab_size=len(tokenizer),
        chars_per_token=round(chars_per_token, 3),
        steps=settings.steps,
        anneal_steps=settings.anneal.steps,
        tokens_seen=tokens_seen,
        pretrained_tokens=first.tokens_seen,
        initial_val_loss=first.initial_val_loss,
        pretrained_val_loss=first.val_loss,
        val_loss=val_loss,
        bits_per_char={k: round(v, 4) for k, v in bits.items()},
        pretrained_from=first.source,
    )
    _write_manifest(staging, report, settings, curve, training_set, command)
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(out_dir)
    shutil.rmtree(work)
    return report


def _first_phase(work: Path, init_dir: Path, tokenizer, documents: list[str], settings, val_stdlib: TextWindows,
                 loop_settings, curve_of) -> Pretrained:
    """Pretrain from the initial weights (random FIM middles), or resume it; exported to `work/pretrained`."""
    done = work / "pretrained"
    record = done / "phase.json"
    if record.is_file():
        return Pretrained(done, **json.loads(record.read_text()))
    _say(f"first phase: tokenizing {settings.steps * settings.batch_size:,} examples")
    examples = pretraining_examples(tokenizer, documents, settings.steps * settings.batch_size, settings, settings.seed)
    loop = loop_settings(init_dir, settings.steps, settings.learning_rate, settings.warmup_steps, "build-base-model")
    session = RecordingSession(work / "checkpoints", keep=1)
    state = fit(loop, examples, val_stdlib.examples, session)
    shutil.rmtree(done, ignore_errors=True)
    export(loop.model, session.checkpoints()[-1], done)
    tokens = int(sum(len(x) for x in examples.input_ids))
    fields = {"tokens_seen": tokens, "initial_val_loss": state.base_val_loss, "val_loss": state.val_loss,
              "curve": curve_of(session, tokens, settings.steps, 0, "pretrain")}
    record.write_text(json.dumps(fields))
    return Pretrained(done, **fields)


def _weights(model_dir: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(model_dir / "model.safetensors"))


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
