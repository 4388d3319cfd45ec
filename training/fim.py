"""Fill-in-the-middle formatting: one (prefix, suffix, middle) sample -> token ids and labels.

Every model family spells the FIM sentinels differently, and a model only completes well when
fine-tuned in the exact layout it was pretrained on, so the family is data (`FimTokens`), detected
from the tokenizer's vocabulary unless configured.

Layouts (the FIM paper's names, P/S/M = prefix/suffix/middle tokens):
  psm: <pre> P <suf> S <mid> M <end>
  spm: <pre> <suf> S <mid> P M <end>   (the suffix comes first, so P and M stay contiguous)

Context is cut from its FAR ends (the start of the prefix, the end of the suffix): the text next to
the cursor is what decides the middle. Labels are -100 everywhere except the middle and the end
token, so the loss teaches what to write and when to stop; a void sample (empty middle) is the end
token alone: it teaches silence.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Literal, Protocol, Sequence

IGNORE = -100
FimOrder = Literal["psm", "spm"]


@dataclass(frozen=True)
class FimTokens:
    family: str
    prefix: str
    suffix: str
    middle: str
    end: str
    # Prepended to every example when the family's tokenizer expects it (DeepSeek-Coder's BOS).
    bos: str | None = None


FAMILIES: dict[str, FimTokens] = {
    t.family: t
    for t in (
        # The tiny in-house model (training/tokenizer.py trains these in).
        FimTokens("echo", "<|fim_pre|>", "<|fim_suf|>", "<|fim_mid|>", "<|eot|>"),
        FimTokens("starcoder", "<fim_prefix>", "<fim_suffix>", "<fim_middle>", "<|endoftext|>"),
        FimTokens("qwen2.5-coder", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|endoftext|>"),
        FimTokens(
            "deepseek-coder",
            "<｜fim▁begin｜>",
            "<｜fim▁hole｜>",
            "<｜fim▁end｜>",
            "<｜end▁of▁sentence｜>",
            bos="<｜begin▁of▁sentence｜>",
        ),
    )
}


class TokenizerLike(Protocol):
    def convert_tokens_to_ids(self, tokens: str) -> int | None: ...
    def get_vocab(self) -> dict[str, int]: ...


def detect_family(tokenizer: TokenizerLike, configured: str = "auto") -> FimTokens:
    """The configured family, or the one whose sentinels the vocabulary holds; checked either way."""
    vocab = tokenizer.get_vocab()
    candidates = list(FAMILIES.values()) if configured == "auto" else [FAMILIES[configured]]
    for tokens in candidates:
        needed = [tokens.prefix, tokens.suffix, tokens.middle, tokens.end] + ([tokens.bos] if tokens.bos else [])
        if all(t in vocab for t in needed):
            return tokens
    if configured == "auto":
        raise ValueError("the tokenizer has no known FIM tokens (echo, starcoder, qwen2.5-coder, deepseek-coder)")
    raise ValueError(f"the tokenizer lacks the {configured} FIM tokens")


@dataclass(frozen=True)
class FimIds:
    """Sentinel ids of one tokenizer: what `encode` and generation need."""

    prefix: int
    suffix: int
    middle: int
    end: int
    bos: int | None

    @classmethod
    def of(cls, tokenizer: TokenizerLike, tokens: FimTokens) -> "FimIds":
        ids = [tokenizer.convert_tokens_to_ids(t) for t in (tokens.prefix, tokens.suffix, tokens.middle, tokens.end)]
        bos = tokenizer.convert_tokens_to_ids(tokens.bos) if tokens.bos else None
        return cls(*ids, bos=bos)


@dataclass(frozen=True)
class Encoded:
    input_ids: list[int]
    labels: list[int]


def context_budget(prefix_len: int, suffix_len: int, budget: int) -> tuple[int, int]:
    """Tokens kept of prefix and suffix: the prefix may take 3/4 of the budget, the suffix 1/4, and
    whichever needs less leaves the rest to the other (the prefix usually decides more)."""
    suffix_keep = min(suffix_len, max(budget - prefix_len, budget // 4))
    prefix_keep = min(prefix_len, budget - suffix_keep)
    return prefix_keep, suffix_keep


def encode(
    ids: FimIds,
    prefix: Sequence[int],
    suffix: Sequence[int],
    middle: Sequence[int],
    max_tokens: int,
    order: FimOrder = "psm",
    train_on_context: bool = False,
) -> Encoded:
    """Token ids of one FIM example of at most `max_tokens`, with its labels.

    The middle keeps at most half the room (its head; a cut middle loses its end token too, since
    the model must not learn to stop there); the context fills the rest. `train_on_context` labels
    the prefix and suffix tokens too (pretraining, where every token is signal).
    """
    middle_cap = (max_tokens - _sentinel_count(ids)) // 2
    target = list(middle) + [ids.end] if len(middle) < middle_cap else list(middle[:middle_cap])
    context = prompt(ids, prefix, suffix, max_tokens - len(target), order)
    if train_on_context:
        sentinels = {ids.prefix, ids.suffix, ids.middle, ids.bos}
        context_labels = [IGNORE if t in sentinels else t for t in context]
    else:
        context_labels = [IGNORE] * len(context)
    # Label i is the token at i; the model shifts them (the Hugging Face causal-LM convention).
    return Encoded(context + target, context_labels + target)


def prompt(ids: FimIds, prefix: Sequence[int], suffix: Sequence[int], max_tokens: int, order: FimOrder = "psm") -> list[int]:
    """The context part of an example, at most `max_tokens`: what a completion request feeds the model."""
    prefix_keep, suffix_keep = context_budget(len(prefix), len(suffix), max(0, max_tokens - _sentinel_count(ids)))
    p = list(prefix[len(prefix) - prefix_keep :])
    s = list(suffix[:suffix_keep])
    head = [ids.bos] if ids.bos is not None else []
    if order == "psm":
        return head + [ids.prefix] + p + [ids.suffix] + s + [ids.middle]
    return head + [ids.prefix, ids.suffix] + s + [ids.middle] + p


def _sentinel_count(ids: FimIds) -> int:
    return 3 + (ids.bos is not None)


def random_split(text: str, rng: random.Random, void_rate: float, max_middle_lines: int = 3) -> tuple[str, str, str]:
    """Cut a document into (prefix, middle, suffix) the way completions look: the cursor anywhere,
    the middle running to the end of its line and up to a few more lines; sometimes empty."""
    cursor = rng.randrange(len(text) + 1)
    if rng.random() < void_rate:
        return text[:cursor], "", text[cursor:]
    end = cursor
    for _ in range(rng.randint(1, max_middle_lines)):
        newline = text.find("\n", end)
        if newline < 0:
            end = len(text)
            break
        end = newline + 1
    return text[:cursor], text[cursor:end], text[end:]


def unit_split(text: str, rng: random.Random, void_rate: float, unit_end: Callable[[str, int], int]) -> tuple[str, str, str]:
    """Cut a document into (prefix, middle, suffix) with the cursor anywhere and the middle the
    atomic unit there, ending at `unit_end(text, cursor)`: what a completion should propose, so a
    model trained on it learns where to stop (a random run of lines teaches only that it may)."""
    cursor = rng.randrange(len(text) + 1)
    if rng.random() < void_rate:
        return text[:cursor], "", text[cursor:]
    end = max(cursor, min(len(text), unit_end(text, cursor)))
    return text[:cursor], text[cursor:end], text[end:]
