import json
import math

import pyarrow as pa
import pytest

from training.fim import FAMILIES
from training.inference import load_model
from training.pretrain import MANIFEST


@pytest.fixture(scope="module")
def model(tiny_base):
    return load_model(tiny_base, device="cpu")


def test_base_model_is_a_loadable_folder_that_learnt_something(tiny_base):
    manifest = json.loads((tiny_base / MANIFEST).read_text())
    report = manifest["report"]
    assert report["val_loss"] < report["initial_val_loss"] - 0.5
    assert report["vocab_size"] == 512 and report["steps"] == 40 and report["anneal_steps"] == 20
    assert report["pretrained_tokens"] < report["tokens_seen"] and report["pretrained_from"] is None
    assert [row["phase"] for row in manifest["validation_curve"]] == ["pretrain", "pretrain", "anneal"]
    assert not tiny_base.with_name(tiny_base.name + ".building").exists()


def test_second_phase_on_a_finished_build_takes_its_first_phase_once_its_settings_match(tiny_base, tmp_path):
    from echo_spark.config import AnnealConfig, load_config
    from echo_spark.errors import UsageError
    from echo_spark.train.base_job import build

    from .conftest import TINY_BASE

    config = load_config(None)
    config.train.base = TINY_BASE.model_copy(update={"anneal": AnnealConfig(steps=0)})
    first = build(config, tmp_path / "first", command="tests")
    assert first.anneal_steps == 0 and first.tokens_seen == first.pretrained_tokens

    config.train.base = TINY_BASE.model_copy(update={"anneal": AnnealConfig(steps=4, learning_rate=1e-3, warmup_steps=1, unit_rate=1.0)})
    report = build(config, tmp_path / "annealed", command="tests", pretrained=tmp_path / "first")
    assert report.pretrained_from.startswith(f"{tmp_path / 'first'} (echo_base.json sha256 ")
    assert report.pretrained_tokens == first.tokens_seen and report.tokens_seen > report.pretrained_tokens
    assert report.pretrained_val_loss == first.val_loss and report.val_loss != first.val_loss

    # A model that has had its second phase is no first phase; nor is one of other settings.
    with pytest.raises(UsageError, match="second phase already"):
        build(config, tmp_path / "twice", command="tests", pretrained=tiny_base)
    config.train.base = config.train.base.model_copy(update={"learning_rate": 1e-2})
    with pytest.raises(UsageError, match="learning_rate"):
        build(config, tmp_path / "other", command="tests", pretrained=tmp_path / "first")


def test_tokenizer_knows_the_echo_fim_tokens_and_treats_them_in_code_as_text(model):
    echo = FAMILIES["echo"]
    assert model.tokens == echo
    literal = model.tokenizer(f"x = '{echo.end}'", add_special_tokens=False, split_special_tokens=True)["input_ids"]
    assert model.ids.end not in literal
    assert model.tokenizer.decode(literal) == f"x = '{echo.end}'"


def test_complete_is_greedy_and_bounded(model):
    first = model.complete("def add(a, b):\n    return ", "\n", max_new_tokens=8)
    assert first == model.complete("def add(a, b):\n    return ", "\n", max_new_tokens=8)
    assert len(model.tokenizer(first, add_special_tokens=False)["input_ids"]) <= 8


def test_scores_are_the_same_batched_or_alone_and_prefer_code_to_noise(model):
    prefixes = ["import os\n\n\ndef main():\n    ", "class A:\n    def f(self):\n        ", "x = "]
    suffixes = ["\n", None, "\n"]
    middles = ["return None\n", "", "1"]
    batched = model.score_batch(prefixes, suffixes, middles, batch_size=2)
    alone = [model.score(p, s, m) for p, s, m in zip(prefixes, suffixes, middles)]
    assert batched == pytest.approx(alone, abs=1e-4)
    assert all(s < 0 for s in batched)
    assert model.score("def f(x):\n    ", "\n", "return x\n") > model.score("def f(x):\n    ", "\n", "\x07ζ\x1b⌘¥\x02")


def test_batched_completion_gives_the_middles_of_one_by_one_completion(model):
    prefixes = ["def add(a, b):\n    return ", "import os\n\n\ndef main():\n    path = ", "x = "]
    suffixes = ["\n", None, "\n\nprint(x)\n"]
    alone = [model.complete(p, s, max_new_tokens=6) for p, s in zip(prefixes, suffixes)]
    assert model.complete_batch(prefixes, suffixes, max_new_tokens=6, batch_size=2) == alone


def test_curate_perplexity_stage_scores_with_the_tiny_base_model(tiny_base, model):
    """What curate's perplexity stage runs on each batch (in a worker process), on the model
    `train.base.dir` points at."""
    from echo_spark.config import EchoConfig
    from echo_spark.curate.job import scoring_model
    from echo_spark.curate.worker import score_table
    from echo_spark.tables import CURATE_PERPLEXITY

    path = scoring_model(EchoConfig.model_validate({"train": {"base": {"dir": str(tiny_base)}}}))
    assert path == str(tiny_base)
    samples = [
        {"session_id": "a", "request_id": "1", "prefix": "def f(x):\n    ", "suffix": "\n", "middle": "return x\n"},
        {"session_id": "a", "request_id": "2", "prefix": "def f(x):\n    ", "suffix": None, "middle": "\x07ζ\x1b⌘¥\x02"},
        {"session_id": "b", "request_id": "3", "prefix": None, "suffix": "x = 1\n", "middle": ""},
    ]
    # The verdict's digests and user travel with each score (curate_scores' columns).
    rows = [{**r, "user_id": "u", "input_sha256": f"i{i}", "config_sha256": "c"} for i, r in enumerate(samples)]
    out = score_table(path, 2, None, CURATE_PERPLEXITY.arrow_schema, pa.Table.from_pylist(rows)).to_pylist()
    assert [(r["session_id"], r["request_id"], r["input_sha256"]) for r in out] == [("a", "1", "i0"), ("a", "2", "i1"), ("b", "3", "i2")]
    perplexity = [r["perplexity"] for r in out]
    assert all(1 < p < float("inf") for p in perplexity)
    assert perplexity[0] == pytest.approx(math.exp(-model.score("def f(x):\n    ", "\n", "return x\n")), rel=1e-4)
    assert perplexity[0] < perplexity[1]


def test_a_folder_is_prompted_in_the_fim_layout_it_was_trained_in(tiny_base, tmp_path):
    import shutil

    from training.model_io import FIM_LAYOUT_FILE

    folder = tmp_path / "spm-model"
    shutil.copytree(tiny_base, folder)
    (folder / FIM_LAYOUT_FILE).write_text(json.dumps({"family": "echo", "order": "spm"}))
    assert load_model(folder, device="cpu").order == "spm"
    assert load_model(folder, order="psm", device="cpu").order == "psm"
    assert load_model(tiny_base, device="cpu").order == "psm"  # no layout file: PSM


def test_perplexity_scorer_loads_once_when_engine_tasks_ask_at_the_same_time(tiny_base, tmp_path):
    """Sail runs a partition per thread in one process: the first batches of two partitions ask
    for the model together (unguarded, transformers races: "Cannot copy out of meta tensor")."""
    import shutil
    from concurrent.futures import ThreadPoolExecutor

    from echo_spark.curate.scoring import shared_model

    path = str(shutil.copytree(tiny_base, tmp_path / "scorer"))
    with ThreadPoolExecutor(4) as pool:
        models = list(pool.map(lambda _: shared_model(path), range(8)))
    assert all(m is models[0] for m in models)
