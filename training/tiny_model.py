"""Model configurations built locally (no hub download): the tiny default and a ~0.5B benchmark.

Llama-style (RoPE, RMSNorm, SwiGLU, grouped-query attention) like today's code models (Qwen2.5-Coder,
DeepSeek-Coder), so what is learnt about training it carries over to them; tied embeddings keep the
tiny one's parameters in its layers rather than in a vocabulary-sized output matrix.
"""

from __future__ import annotations

from transformers import LlamaConfig, LlamaForCausalLM


def llama_config(
    vocab_size: int,
    layers: int,
    hidden: int,
    heads: int,
    context_length: int,
    kv_heads: int | None = None,
    intermediate: int | None = None,
    pad_token_id: int | None = None,
    eos_token_id: int | None = None,
) -> LlamaConfig:
    if hidden % heads:
        raise ValueError(f"hidden size {hidden} is not a multiple of {heads} heads")
    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        # SwiGLU's usual 8/3 width, rounded up to a multiple of 16.
        intermediate_size=intermediate or -(-hidden * 8 // 3 // 16) * 16,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads or heads,
        max_position_embeddings=context_length,
        tie_word_embeddings=True,
        pad_token_id=pad_token_id,
        eos_token_id=eos_token_id,
        bos_token_id=None,
        attn_implementation="sdpa",
    )


def qwen_half_b_config(context_length: int = 2048) -> LlamaConfig:
    """The shape of Qwen2.5-Coder-0.5B (24 layers, 896 wide, 14 heads / 2 KV heads, 151,936
    tokens): ~0.49B parameters, for throughput and MFU on one GPU."""
    return llama_config(151_936, 24, 896, 14, context_length, kv_heads=2, intermediate=4864)


def build(config: LlamaConfig, seed: int) -> LlamaForCausalLM:
    import torch

    torch.manual_seed(seed)
    return LlamaForCausalLM(config)
