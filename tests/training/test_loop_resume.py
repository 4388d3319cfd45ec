"""A killed run resumes from its last checkpoint and ends where an uninterrupted run ends.

Single-process (LocalSession) so it is fast; the Ray end-to-end test repeats the drill with two
DDP workers.
"""

from dataclasses import replace

import pytest
import torch

from training.examples import encode_samples
from training.fim import FAMILIES, FimIds
from training.model_io import TRAINABLE_FILE, ModelSpec, load_tokenizer
from training.session import LocalSession
from training.train_loop import LoopSettings, SimulatedFailure, fit

from .conftest import gold_rows


def _examples(tiny_base, rows):
    tokenizer = load_tokenizer(tiny_base)
    ids = FimIds.of(tokenizer, FAMILIES["echo"])
    return encode_samples(tokenizer, ids, [r["prefix"] for r in rows], [r["suffix"] or "" for r in rows], [r["middle"] for r in rows], 128)


@pytest.fixture(scope="module")
def data(tiny_base):
    rows = gold_rows(60)
    return _examples(tiny_base, rows[:48]), _examples(tiny_base, rows[48:])


def _settings(tiny_base, finetune: str) -> LoopSettings:
    tokenizer = load_tokenizer(tiny_base)
    return LoopSettings(
        model=ModelSpec(str(tiny_base), finetune=finetune, lora_r=4, lora_alpha=8, lora_dropout=0.1),
        pad_id=tokenizer.pad_token_id,
        total_steps=12,
        batch_size=4,
        learning_rate=1e-3,
        warmup_steps=2,
        checkpoint_every=4,
        eval_every=6,
        log_every=6,
    )


def _weights(session: LocalSession) -> dict[str, torch.Tensor]:
    return torch.load(session.checkpoints()[-1] / TRAINABLE_FILE, weights_only=True)


@pytest.mark.parametrize("finetune", ["full", "lora"])
def test_interrupted_and_resumed_run_matches_the_uninterrupted_one(tmp_path, tiny_base, data, finetune):
    train, val = data
    settings = _settings(tiny_base, finetune)
    straight = LocalSession(tmp_path / "straight")
    reference = fit(settings, train, val, straight)

    killed = LocalSession(tmp_path / "killed")
    with pytest.raises(SimulatedFailure):
        fit(replace(settings, fail_at_step=6), train, val, killed)
    assert [c.name for c in killed.checkpoints()] == ["checkpoint_000004"]  # step 6 was lost with the worker
    resumed = fit(replace(settings, fail_at_step=6), train, val, killed)

    assert resumed.resumed_from == 4 and resumed.step == reference.step == 12
    assert resumed.val_loss == pytest.approx(reference.val_loss, rel=1e-5)
    expected, got = _weights(straight), _weights(killed)
    assert expected.keys() == got.keys() and len(expected) > 0
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=1e-4, atol=1e-6)


def test_training_lowers_validation_loss_and_keeps_the_newest_checkpoints(tmp_path, tiny_base, data):
    train, val = data
    session = LocalSession(tmp_path / "run", keep=2)
    state = fit(_settings(tiny_base, "full"), train, val, session)
    assert state.val_loss < state.base_val_loss
    assert [c.name for c in session.checkpoints()] == ["checkpoint_000008", "checkpoint_000012"]
    assert [r["step"] for r in session.reports] == [4, 8, 12]

    # Restored after the last step (the driver died after training): no step, the final metrics again.
    again = fit(_settings(tiny_base, "full"), train, val, session)
    assert (again.step, again.resumed_from, again.val_loss) == (12, 12, state.val_loss)
    assert session.reports[-1] == {**session.reports[-2], "resumed_from": 12}
    assert [c.name for c in session.checkpoints()] == ["checkpoint_000008", "checkpoint_000012"]
