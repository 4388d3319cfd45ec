"""Fixtures of the evaluation tests: a small simulation (a stand-in model proposing) and an
untrained tiny model folder (wiring, not quality: its proposals are noise)."""

from __future__ import annotations

from pathlib import Path

import pytest

from echo_spark.config import EchoConfig
from echo_spark.evaluate.proposer import ModelProposer
from echo_spark.simulate.job import simulate


class LastWord:
    """A stand-in model: proposes the prefix's last word again, or blanks after a colon."""

    def __init__(self) -> None:
        self.calls = 0

    def complete(self, prefix, suffix, max_new_tokens=64):
        self.calls += 1
        if prefix.rstrip().endswith(":"):
            return "   \n"
        words = prefix.split()
        return words[-1] if words else ""

    def complete_batch(self, prefixes, suffixes, max_new_tokens=64, batch_size=16):
        return [self.complete(p, s, max_new_tokens) for p, s in zip(prefixes, suffixes)]


@pytest.fixture(scope="session")
def sim(tmp_path_factory) -> tuple[Path, LastWord]:
    config = EchoConfig()
    settings = config.simulate.model_copy(update={"events": 2_000, "users": 5, "heldout_share": 0.4, "corpus_max_files": 100})
    model = LastWord()
    out = tmp_path_factory.mktemp("sim")
    simulate(settings, config, out, make_proposer=ModelProposer("last-word", model).for_sessions())
    return out, model


@pytest.fixture(scope="session")
def untrained_model(tmp_path_factory) -> Path:
    from training.tiny_model import build, llama_config
    from training.tokenizer import train_tokenizer

    out = tmp_path_factory.mktemp("models") / "untrained"
    text = [f"def f{i}(x):\n    return x + {i}\n" for i in range(50)]
    tokenizer = train_tokenizer(text, 300)
    model = build(llama_config(len(tokenizer), 1, 32, 2, 128, pad_token_id=tokenizer.pad_token_id,
                               eos_token_id=tokenizer.eos_token_id), seed=1)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return out
