import numpy as np

from training.batching import Examples, collate, epoch_batches, rank_share, target_tokens
from training.fim import IGNORE


def test_each_epoch_covers_every_example_in_full_batches():
    lengths = np.random.default_rng(0).integers(5, 100, size=37)
    batches = epoch_batches(lengths, global_batch=8, seed=7, epoch=0, bucket_batches=2)
    assert all(len(b) == 8 for b in batches)
    assert len(batches) == 5
    assert set(np.concatenate(batches)) == set(range(37))


def test_order_is_a_function_of_seed_and_epoch():
    lengths = np.arange(50)
    a = epoch_batches(lengths, 4, seed=7, epoch=1, bucket_batches=4)
    b = epoch_batches(lengths, 4, seed=7, epoch=1, bucket_batches=4)
    c = epoch_batches(lengths, 4, seed=7, epoch=2, bucket_batches=4)
    assert all((x == y).all() for x, y in zip(a, b))
    assert any((x != y).any() for x, y in zip(a, c))


def test_batches_are_length_bucketed_and_ranks_get_equal_shares():
    lengths = np.random.default_rng(1).integers(1, 1000, size=256)
    batches = epoch_batches(lengths, global_batch=8, seed=0, epoch=0, bucket_batches=32)
    spread = np.mean([lengths[b].max() - lengths[b].min() for b in batches])
    assert spread < 100  # random batches of 8 from 1..1000 spread ~780
    b = batches[0]
    assert sorted(np.concatenate([rank_share(b, r, 2) for r in range(2)])) == sorted(b)


def test_collate_pads_right_and_ignores_padding():
    ex = Examples([np.array([5, 6, 7], np.int32), np.array([8], np.int32)], [np.array([IGNORE, 6, 7], np.int32), np.array([8], np.int32)])
    batch = collate(ex, np.array([0, 1]), pad_id=0)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [[IGNORE, 6, 7], [8, IGNORE, IGNORE]]
    assert target_tokens(batch["labels"]) == 2  # the first label of a row has no context to predict it
