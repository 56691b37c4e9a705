"""RNN and GRU over a whole sequence: a layer-major loop on the module's own parameters.

torch's CPU kernels for RNN and GRU are themselves loops of the same ops, so a loop that
computes the input projection of all timesteps in one matmul costs about what the module does,
and keeps every H_t as a tensor whose gradient autograd can hand back.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .cells import LayerWeights, gru_step, input_projection, rnn_step


@dataclass
class LayerRun:
    """One layer and direction over the whole sequence (time-major, positions 0..T-1), in graph."""

    hidden: list[torch.Tensor]                 # T tensors (B, H)
    grad_inputs: list[torch.Tensor]            # tensors whose gradients are read after backward
    gates: dict[str, list[torch.Tensor]] = field(default_factory=dict)
    output: torch.Tensor | None = None         # the stacked (T, B, H) hidden states
    h_n: torch.Tensor | None = None


def run_layer_unrolled(kind: str, x: torch.Tensor, h0: torch.Tensor, w: LayerWeights, nonlinearity: str,
                       reverse: bool) -> LayerRun:
    """Step one RNN or GRU layer and direction over x (T, B, I) on the module's parameters."""
    T = x.shape[0]
    gi = input_projection(x, w)  # (T, B, G)
    hidden: list = [None] * T
    gates: dict[str, list] = {}
    gh_list: list = [None] * T if kind == "gru" else []
    # unbind, not gi[t]: each index's backward would write a whole (T, B, G) zero tensor, O(T²) in all
    gi_steps = gi.unbind(0)
    h = h0
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        if kind == "rnn":
            h, step_gates = rnn_step(gi_steps[t], h, w, nonlinearity)
        else:
            h, step_gates, gh_list[t] = gru_step(gi_steps[t], h, w)
        hidden[t] = h
        for name, value in step_gates.items():
            gates.setdefault(name, [None] * T)[t] = value
    return LayerRun(hidden=hidden, grad_inputs=[gi, *hidden, *gh_list], gates=gates, h_n=h)
