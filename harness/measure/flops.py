"""Arithmetic cost of a BERT-style encoder (BERT, ALBERT) for sequence classification.

FLOPs are 2 x multiply-accumulates of the matrix products; element-wise work (softmax,
layer norm, activations, embedding look-ups) is left out, as is usual. Per layer and token:
Q, K, V and output projections 4*H^2, feed-forward 2*H*I, attention scores and weighted
sum 2*L*H for a sequence of L tokens. Per token once: the embedding projection E*H (ALBERT,
when E != H). Per sequence: pooler H^2 and classifier H*labels.

For albert-base-v2 (H 768, I 3072, E 128, 12 layers) this is about 170 MFLOP per token plus
36.9 kFLOP per token of context, i.e. about 172.7 MFLOP per token at MRPC's mean length (~71).
"""

from __future__ import annotations

from collections.abc import Iterable


def _dims(config) -> tuple[int, int, int, int, int]:
    hidden = int(config.hidden_size)
    inter = int(getattr(config, "intermediate_size", 4 * hidden))
    layers = int(config.num_hidden_layers)
    embedding = int(getattr(config, "embedding_size", hidden) or hidden)
    labels = int(getattr(config, "num_labels", 2))
    return hidden, inter, layers, embedding, labels


def token_macs(config) -> int:
    """Multiply-accumulates per token that do not depend on the sequence length."""
    hidden, inter, layers, embedding, _ = _dims(config)
    per_layer = 4 * hidden * hidden + 2 * hidden * inter
    projection = embedding * hidden if embedding != hidden else 0
    return layers * per_layer + projection


def attention_macs_per_context_token(config) -> int:
    """Multiply-accumulates per token per token of context (QK^T and the weighted sum of V)."""
    hidden, _, layers, _, _ = _dims(config)
    return 2 * hidden * layers


def sequence_macs(config) -> int:
    """Multiply-accumulates once per sequence (pooler and classifier)."""
    hidden, _, _, _, labels = _dims(config)
    return hidden * hidden + hidden * labels


def flops_per_token(config, seq_len: float) -> float:
    """FLOPs per token for sequences of ``seq_len`` tokens (pooler and classifier spread over them)."""
    seq_len = float(seq_len)
    macs = token_macs(config) + attention_macs_per_context_token(config) * seq_len
    macs += sequence_macs(config) / seq_len
    return 2.0 * macs


def total_flops(config, lengths: Iterable[int]) -> float:
    """FLOPs for a set of sequences with these (unpadded) lengths, attention counted exactly."""
    lengths = [int(n) for n in lengths]
    tokens = sum(lengths)
    squares = sum(n * n for n in lengths)
    macs = (token_macs(config) * tokens + attention_macs_per_context_token(config) * squares
            + sequence_macs(config) * len(lengths))
    return 2.0 * macs


def matmul_flops(m: int, n: int | None = None, k: int | None = None) -> float:
    """FLOPs of one (m x k) @ (k x n) product; square when n and k are left out."""
    n = m if n is None else n
    k = m if k is None else k
    return 2.0 * m * n * k
