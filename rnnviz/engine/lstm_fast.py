"""The LSTM's whole-sequence path: torch's fused kernel forward, then BPTT written out.

torch's CPU LSTM is really fused (oneDNN), so an unrolled autograd loop costs about 2.5x. The
fused kernel hides every inner h_t's gradient, though. So: run the fused kernel without a graph,
recompute the gates of all timesteps in two batched matmuls, and step the LSTM's backward
recursion by hand — one small matmul and a few elementwise ops per timestep — which yields the
total dL/dH_t and dL/dC_t of every cell; the weight gradients are then batched matmuls over
all timesteps at once. The oracle tests hold it to torch's own gradients.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F

from .cells import LayerWeights, input_projection, previous_states


@dataclass
class LSTMLayerRun:
    """One layer and direction, time-major (positions 0..T-1), no autograd graph."""

    hidden: torch.Tensor      # (T, B, H)
    cell: torch.Tensor        # (T, B, H)
    gates: dict               # 'I', 'F', 'G', 'O': (T, B, H) each, after their nonlinearity
    prev_hidden: torch.Tensor  # H_{t-1} read at each position (T, B, H)
    prev_cell: torch.Tensor
    h_n: torch.Tensor
    c_n: torch.Tensor


def _order(T: int, reverse: bool) -> range:
    return range(T - 1, -1, -1) if reverse else range(T)


@torch.no_grad()
def lstm_layer_forward(x: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor, w: LayerWeights,
                       reverse: bool) -> LSTMLayerRun:
    """Run one layer and direction through the fused kernel and recover its gates and C_t."""
    flat = [w.weight_ih, w.weight_hh] + ([w.bias_ih, w.bias_hh] if w.bias_ih is not None else [])
    source = x.flip(0) if reverse else x
    out, h_n, c_n = torch.lstm(source, (h0.unsqueeze(0), c0.unsqueeze(0)), flat, w.bias_ih is not None,
                               1, 0.0, False, False, False)
    hidden = out.flip(0) if reverse else out
    prev_hidden = previous_states(hidden, h0, reverse)
    pre = input_projection(x, w) + F.linear(prev_hidden, w.weight_hh, w.bias_hh)
    i, f, g, o = pre.chunk(4, -1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    cell = i * g
    c = c0
    for t in _order(x.shape[0], reverse):
        c = cell[t] = torch.addcmul(cell[t], f[t], c)  # C_t = F_t ⊙ C_{t-1} + I_t ⊙ G_t
    return LSTMLayerRun(hidden, cell, {"I": i, "F": f, "G": g, "O": o}, prev_hidden,
                        previous_states(cell, c0, reverse), h_n[0], c_n[0])


@torch.no_grad()
def lstm_layer_backward(run: LSTMLayerRun, external_grad: torch.Tensor, w: LayerWeights, reverse: bool):
    """BPTT through one layer and direction.

    external_grad: (T, B, H) gradient reaching each H_t from outside the chain (the loss, or the
    layer above). Returns (total dL/dH_t (T, B, H), dL/d(gate pre-activations) (T, B, 4H)).
    """
    i, f, g, o = (run.gates[k] for k in "IFGO")
    tanh_c = torch.tanh(run.cell)
    to_cell = o * (1 - tanh_c * tanh_c)                                  # dC_t/dH_t path factor
    factors = torch.cat([g * i * (1 - i), run.prev_cell * f * (1 - f), i * (1 - g * g), tanh_c * o * (1 - o)], -1)
    T, B, H = external_grad.shape
    hidden_grad = torch.empty_like(external_grad)
    grad_gates = torch.empty_like(factors)
    carry_h = torch.zeros_like(external_grad[0])
    carry_c = torch.zeros_like(external_grad[0])
    w_hh = w.weight_hh
    for t in reversed(_order(T, reverse)):
        grad_h = torch.add(external_grad[t], carry_h, out=hidden_grad[t])
        grad_c = torch.addcmul(carry_c, grad_h, to_cell[t])
        slot = grad_gates[t]
        blocks = slot.view(B, 4, H)
        blocks[:, :3] = grad_c.unsqueeze(1)   # dC feeds I, F and G; dH feeds O
        blocks[:, 3] = grad_h
        slot.mul_(factors[t])
        carry_h = slot @ w_hh
        carry_c = grad_c * f[t]
    return hidden_grad, grad_gates


@torch.no_grad()
def lstm_weight_grads(grad_gates: torch.Tensor, x: torch.Tensor, prev_hidden: torch.Tensor, w: LayerWeights) -> dict:
    """dL/dW_ih, dL/dW_hh, dL/db_* summed over all timesteps and the batch, keyed like the module."""
    flat_gates = grad_gates.reshape(-1, grad_gates.shape[-1])
    grads = {
        w.names["weight_ih"]: flat_gates.T @ x.reshape(-1, x.shape[-1]),
        w.names["weight_hh"]: flat_gates.T @ prev_hidden.reshape(-1, prev_hidden.shape[-1]),
    }
    if w.bias_ih is not None:
        bias = flat_gates.sum(0)
        grads[w.names["bias_ih"]] = bias
        grads[w.names["bias_hh"]] = bias.clone()
    return grads
