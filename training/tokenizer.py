"""A byte-level BPE tokenizer for the tiny base model, trained locally on the code corpus.

Byte level, so any text (any language, any bytes) encodes with no unknown token; the FIM sentinels
of the `echo` family and a pad token are special tokens, never merged with code. Saved as a
Hugging Face fast tokenizer, so the model folder loads with `AutoTokenizer` like any checkpoint.
"""

from __future__ import annotations

from typing import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from .fim import FAMILIES

PAD = "<|pad|>"


def train_tokenizer(texts: Iterable[str], vocab_size: int):
    """A `PreTrainedTokenizerFast` with the echo FIM tokens, its end token as EOS, and PAD."""
    from transformers import PreTrainedTokenizerFast

    fim = FAMILIES["echo"]
    specials = [fim.end, fim.prefix, fim.suffix, fim.middle, PAD]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token=fim.end,
        pad_token=PAD,
        additional_special_tokens=[fim.prefix, fim.suffix, fim.middle],
    )

