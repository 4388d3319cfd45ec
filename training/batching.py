"""Which examples form each step's batch, and how a batch becomes padded tensors.

The order is a pure function of (seed, epoch), so any worker can compute any step's batch: a resumed
run skips to its step and sees exactly the batches an uninterrupted run would have seen, and no
sampler state needs to be checkpointed.

Length bucketing instead of packing: examples are sorted by length within windows of a few global
batches, so a batch pads little, yet no example attends across another's tokens (packing would need
per-example attention masks to keep FIM examples apart). Batches are shuffled afterwards, and each
rank takes every W-th example of a sorted global batch, so the ranks' shares are equally long and
no DDP worker waits for another.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .fim import IGNORE


@dataclass(frozen=True)
class Examples:
    """Tokenized FIM examples: what the driver hands to every worker (small, picklable)."""

    input_ids: list[np.ndarray]
    labels: list[np.ndarray]

    def __len__(self) -> int:
        return len(self.input_ids)

    def lengths(self) -> np.ndarray:
        return np.fromiter((len(x) for x in self.input_ids), dtype=np.int64, count=len(self))


def epoch_batches(lengths: np.ndarray, global_batch: int, seed: int, epoch: int, bucket_batches: int) -> list[np.ndarray]:
    """The global batches of one epoch (index arrays of `global_batch` examples each).

    The last partial batch is filled with examples from the epoch's start, so every step has a full
    batch on every rank (DDP needs all ranks to take the same number of steps).
    """
    n = len(lengths)
    if n == 0:
        return []
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(n)
    steps = -(-n // global_batch)
    order = np.resize(order, steps * global_batch)
    window = global_batch * bucket_batches
    batches = []
    for start in range(0, len(order), window):
        chunk = order[start : start + window]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + global_batch] for i in range(0, len(chunk), global_batch))
    return [batches[i] for i in rng.permutation(len(batches))]


def rank_share(batch: np.ndarray, rank: int, world_size: int) -> np.ndarray:
    return batch[rank::world_size]


def collate(examples: Examples, indices: np.ndarray, pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded input_ids, attention_mask and labels (-100 on padding)."""
    width = max(len(examples.input_ids[i]) for i in indices)
    ids = torch.full((len(indices), width), pad_id, dtype=torch.long)
    labels = torch.full((len(indices), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(indices), width), dtype=torch.long)
    for row, i in enumerate(indices):
        n = len(examples.input_ids[i])
        ids[row, :n] = torch.from_numpy(examples.input_ids[i].astype(np.int64))
        labels[row, :n] = torch.from_numpy(examples.labels[i].astype(np.int64))
        mask[row, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def target_tokens(labels: torch.Tensor) -> int:
    """Tokens the loss counts: labels after the causal shift that are not ignored."""
    return int((labels[:, 1:] != IGNORE).sum())
