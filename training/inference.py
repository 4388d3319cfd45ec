"""Completion and scoring with a FIM model folder: the production model of the simulator, the
perplexity scorer of the curate stage, and what the MLflow model serves.

    model = load_model("models/echo-base")
    model.complete("def add(a, b):\n    return ", "\n")      # greedy; "" means: suggest nothing
    model.score(prefix, suffix, middle)                       # mean log-likelihood per middle token
    model.score_batch(prefixes, suffixes, middles)            # the same, batched

`score` counts the end token with the middle: a middle the model would not end there is less
likely, and a void middle is scored by how sure the model is that nothing belongs in the gap.
Perplexity is exp(-score).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .batching import collate
from .examples import encode_samples, tokenize
from .fim import IGNORE, FimIds, FimOrder, FimTokens, detect_family, prompt
from .model_io import fim_layout, load_tokenizer

# Real checkpoints accept far longer contexts than a completion needs; scoring cost grows with it.
MAX_CONTEXT = 4096


@dataclass
class FimModel:
    model: torch.nn.Module
    tokenizer: object
    tokens: FimTokens
    ids: FimIds
    context_length: int
    order: FimOrder = "psm"

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @torch.no_grad()
    def complete(self, prefix: str, suffix: str | None, max_new_tokens: int = 64) -> str:
        """Greedy middle for the gap between prefix and suffix, up to the end token."""
        p, s = tokenize(self.tokenizer, [prefix, suffix or ""])
        context = prompt(self.ids, p, s, max(8, self.context_length - max_new_tokens), self.order)
        input_ids = torch.tensor([context], device=self.device)
        stop = [self.ids.end, self.ids.prefix, self.ids.suffix, self.ids.middle]
        output = self.model.generate(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            eos_token_id=stop,
            pad_token_id=self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.ids.end,
        )
        generated = output[0, len(context) :].tolist()
        cut = next((i for i, t in enumerate(generated) if t in stop), len(generated))
        return self.tokenizer.decode(generated[:cut], skip_special_tokens=True)

    @torch.no_grad()
    def complete_batch(
        self, prefixes: Sequence[str], suffixes: Sequence[str | None], max_new_tokens: int = 64, batch_size: int = 16
    ) -> list[str]:
        """`complete` for many gaps: left-padded greedy generation, gaps of similar length batched
        together. The same middles as one by one (up to floating-point ties), a fraction of the
        forward passes: what an evaluation over hundreds of requests needs on a CPU."""
        pairs = tokenize(self.tokenizer, [t for p, s in zip(prefixes, suffixes) for t in (p, s or "")])
        budget = max(8, self.context_length - max_new_tokens)
        contexts = [prompt(self.ids, pairs[i], pairs[i + 1], budget, self.order) for i in range(0, len(pairs), 2)]
        stop = [self.ids.end, self.ids.prefix, self.ids.suffix, self.ids.middle]
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.ids.end
        out = [""] * len(contexts)
        order = sorted(range(len(contexts)), key=lambda i: len(contexts[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            width = max(len(contexts[i]) for i in chunk)
            input_ids = torch.tensor([[pad] * (width - len(contexts[i])) + contexts[i] for i in chunk], device=self.device)
            mask = torch.tensor([[0] * (width - len(contexts[i])) + [1] * len(contexts[i]) for i in chunk], device=self.device)
            output = self.model.generate(
                input_ids=input_ids,
                attention_mask=mask,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                eos_token_id=stop,
                pad_token_id=pad,
            )
            for row, i in enumerate(chunk):
                generated = output[row, width:].tolist()
                cut = next((k for k, t in enumerate(generated) if t in stop), len(generated))
                out[i] = self.tokenizer.decode(generated[:cut], skip_special_tokens=True)
        return out

    def score(self, prefix: str, suffix: str | None, middle: str) -> float:
        return self.score_batch([prefix], [suffix], [middle])[0]

    @torch.no_grad()
    def score_batch(
        self, prefixes: Sequence[str], suffixes: Sequence[str | None], middles: Sequence[str], batch_size: int = 16
    ) -> list[float]:
        """Mean log-likelihood per middle token (end token included) of each sample."""
        examples = encode_samples(
            self.tokenizer, self.ids, prefixes, [s or "" for s in suffixes], middles, self.context_length, self.order
        )
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.ids.end
        scores = np.zeros(len(examples))
        for start in range(0, len(examples), batch_size):
            indices = np.arange(start, min(start + batch_size, len(examples)))
            batch = {k: v.to(self.device) for k, v in collate(examples, indices, pad).items()}
            logits = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
            labels = batch["labels"][:, 1:]
            mask = labels != IGNORE
            log_probs = torch.log_softmax(logits[:, :-1], dim=-1)
            picked = log_probs.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
            totals = (picked * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)
            scores[indices] = totals.cpu().numpy()
        return scores.tolist()


def load_model(
    path: str | Path,
    fim_family: str = "auto",
    order: FimOrder | None = None,
    device: str | None = None,
    context_length: int | None = None,
) -> FimModel:
    """A local Hugging Face folder (model + tokenizer) ready for FIM completion and scoring.

    Family and order default to the layout `echo-spark train` fine-tuned the folder in (a model
    trained in SPM order must be prompted in SPM), else to the family found in the vocabulary, PSM.
    `context_length` caps the tokens of a prompt below the model's own context: prompt as the arms
    were fine-tuned, and a forward pass costs what the caller can afford.
    """
    from transformers import AutoModelForCausalLM

    tokenizer = load_tokenizer(path)
    layout = fim_layout(path)
    tokens = detect_family(tokenizer, layout.get("family", "auto") if fim_family == "auto" else fim_family)
    order = order or layout.get("order", "psm")
    model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True)
    model.to(device or ("cuda" if torch.cuda.is_available() else "cpu")).eval()
    context = min(getattr(model.config, "max_position_embeddings", MAX_CONTEXT) or MAX_CONTEXT, MAX_CONTEXT, context_length or MAX_CONTEXT)
    return FimModel(model, tokenizer, tokens, FimIds.of(tokenizer, tokens), context, order)
