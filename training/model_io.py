"""Model files in and out: the base model made trainable (full or LoRA), the trainable weights of a
checkpoint, and the final Hugging Face folder (LoRA merged) that inference and MLflow load.

Checkpoints hold only the trainable weights and the optimizer: the frozen rest is the base model,
which every attempt loads anyway, so a LoRA checkpoint of a large model stays small.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers.utils import logging as transformers_logging

TRAINABLE_FILE = "trainable.pt"
# The FIM layout a model folder was fine-tuned in: inference must prompt it the same way.
FIM_LAYOUT_FILE = "echo_fim.json"

# Weight loading and saving bars would drown a job's one progress line (the HF_HUB_ variable set in
# training/__init__ is too late when huggingface_hub was imported first).
transformers_logging.disable_progress_bar()


@dataclass(frozen=True)
class ModelSpec:
    """What to train: a local Hugging Face folder (weights and tokenizer), fully or with LoRA."""

    path: str
    finetune: str = "full"
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target_modules: tuple[str, ...] = field(default=("q_proj", "k_proj", "v_proj", "o_proj"))
    seed: int = 7


def load_tokenizer(path: str | Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path), local_files_only=True)


def load_trainable(spec: ModelSpec) -> torch.nn.Module:
    """The base model in fp32 (master weights; bf16 comes from autocast), LoRA-wrapped if asked.
    Seeded, so LoRA's random initialisation is the same in every attempt of a run."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(spec.path, dtype=torch.float32, local_files_only=True)
    if spec.finetune == "lora":
        from peft import LoraConfig, get_peft_model

        torch.manual_seed(spec.seed)
        lora = LoraConfig(
            r=spec.lora_r,
            lora_alpha=spec.lora_alpha,
            lora_dropout=spec.lora_dropout,
            target_modules=list(spec.lora_target_modules),
            task_type="CAUSAL_LM",
        )
        model = get_peft_model(model, lora)
    return model


def trainable_names(model: torch.nn.Module) -> set[str]:
    return {name for name, p in model.named_parameters() if p.requires_grad}


def load_weights(model: torch.nn.Module, checkpoint_dir: Path) -> None:
    weights = torch.load(checkpoint_dir / TRAINABLE_FILE, map_location="cpu", weights_only=True)
    missing = set(weights) - set(model.state_dict())
    if missing:
        raise ValueError(f"checkpoint weights not in the model: {sorted(missing)[:3]}")
    model.load_state_dict(weights, strict=False)


def export(spec: ModelSpec, checkpoint_dir: Path, out_dir: Path, fim_family: str | None = None, fim_order: str | None = None) -> Path:
    """The checkpoint as a standalone Hugging Face folder (model + tokenizer), LoRA merged in,
    with the FIM layout it was fine-tuned in when one is given."""
    model = load_trainable(spec)
    load_weights(model, checkpoint_dir)
    if spec.finetune == "lora":
        model = model.merge_and_unload()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    load_tokenizer(spec.path).save_pretrained(str(out_dir))
    if fim_family and fim_order:
        (out_dir / FIM_LAYOUT_FILE).write_text(json.dumps({"family": fim_family, "order": fim_order}))
    return out_dir


def fim_layout(path: str | Path) -> dict[str, str]:
    """The FIM family and order a folder was fine-tuned in ({} for any other checkpoint)."""
    file = Path(path) / FIM_LAYOUT_FILE
    return json.loads(file.read_text()) if file.is_file() else {}
