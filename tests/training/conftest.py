"""Fixtures of the training tests: a tiny base model and small gold tables, built in temp dirs.

Everything is tiny (2 layers, 64 wide, 512 tokens, 128-token context) so the whole folder runs in
a few minutes on two shared CPU cores; the one Ray + MLflow end-to-end test dominates.
"""

from __future__ import annotations

import random
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pytest

from echo_spark.config import AnnealConfig, BaseModelConfig, load_config
from training import corpus
from training.fim import random_split

# The standard library's training side only (third-party sources would make the build slow).
TINY_BASE = BaseModelConfig(
    sources=["stdlib"], corpus_chars=600_000, vocab_size=512, layers=2, hidden=64, heads=2, context_length=128,
    steps=40, batch_size=8, learning_rate=3e-3, warmup_steps=2, eval_every_steps=20, validation_files=8,
    anneal=AnnealConfig(steps=20, learning_rate=2e-3, warmup_steps=2),
)


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from echo_spark.train.base_job import build

    config = load_config(None)
    config.train.base = TINY_BASE
    out = tmp_path_factory.mktemp("models") / "tiny-base"
    build(config, out, command="tests")
    return out


@lru_cache(maxsize=1)
def _documents() -> tuple[str, ...]:
    """Stdlib files the tiny base model did not train on: the simulator's held-out ones."""
    from echo_spark.simulate.corpus import heldout_files, read_source

    texts = [read_source(f) for f in heldout_files(None, 0.2)[:30]]
    return tuple(corpus.chunks([t for t in texts if t], 600))


def gold_rows(count: int, seed: int = 1, validation_every: int = 5) -> list[dict]:
    """Completion-like samples cut from stdlib files the tiny base model did not train on."""
    documents = _documents()
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        prefix, middle, suffix = random_split(documents[rng.randrange(len(documents))], rng, void_rate=0.15, max_middle_lines=1)
        rows.append(
            {
                "sample_id": f"s{i:05d}",
                "prefix": prefix,
                "suffix": suffix if rng.random() > 0.1 else None,
                "middle": middle,
                "language": "python",
                "is_void": middle == "",
                "split": "validation" if i % validation_every == 0 else "train",
                "user_id": f"u{i % 7}",
                "request_id": f"r{i}",
            }
        )
    return rows


def gold_source(lakehouse_root: Path, table: str = "sft_samples"):
    """The train job's gold source over a local lakehouse; the engine is never needed for a folder."""
    from echo_spark.config import LakehouseConfig
    from echo_spark.gold_source import gold_source as source
    from echo_spark.lakehouse import Lakehouse

    def no_engine():
        raise AssertionError("a folder is read without starting an engine")

    return source(Lakehouse(None, LakehouseConfig(root=str(lakehouse_root)), connect=no_engine), table)


def write_gold(path: Path, rows: list[dict], mode: str = "overwrite") -> None:
    from deltalake import write_deltalake

    write_deltalake(str(path), pa.Table.from_pylist(rows), mode=mode)


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray for the tests that need it (started as the train job starts it)."""
    import ray

    from echo_spark.config import TrainConfig
    from training.sft import start_ray

    start_ray(TrainConfig(ray_num_cpus=2))
    yield
    ray.shutdown()
