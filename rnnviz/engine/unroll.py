"""The fast whole-sequence path behind `rnnviz.record`: every h_t of every layer, and its total dL/dh_t.

RNN and GRU: a layer-major loop on the module's own parameters, with the input projection of
all timesteps in one matmul (torch's CPU kernels are loops of the same ops, so this costs about
what the module does). LSTM: torch's fused kernel one layer at a time, with a zero "probe"
input Z_t that enters the gates through W_hh, so dL/dZ_t = dL/dgates_t · W_hh is exactly the
part of dL/dH_{t-1} that flows back through time (the fused kernel hides it otherwise).

Nothing here touches the module's .grad or training flag: gradients come from autograd.grad.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch.nn import functional as F

from .cells import LayerWeights, contribution_norm, gram, gru_step, input_projection, rnn_step


@dataclass
class LayerRun:
    """One layer and direction over the whole sequence (time-major, positions 0..T-1)."""

    hidden: list[torch.Tensor]                 # T tensors (B, H), in graph
    grad_inputs: list[torch.Tensor]            # tensors whose gradients are read after backward
    gi: torch.Tensor | None = None             # (T, B, G) input projection (in graph)
    gh: list[torch.Tensor] = field(default_factory=list)       # GRU: H_{t-1} W_hh^T + b_hh per t
    gates: dict[str, list[torch.Tensor]] = field(default_factory=dict)
    probe: torch.Tensor | None = None          # LSTM: (T, B, H) zero input whose grad is the recurrent part
    output: torch.Tensor | None = None         # LSTM: fused (T, B, H) output, in graph
    h_n: torch.Tensor | None = None
    c_n: torch.Tensor | None = None


def _time_order(T: int, reverse: bool):
    return range(T - 1, -1, -1) if reverse else range(T)


def run_layer_unrolled(kind: str, x: torch.Tensor, h0: torch.Tensor, w: LayerWeights, nonlinearity: str, reverse: bool) -> LayerRun:
    """Step one RNN or GRU layer and direction over x (T, B, I) on the module's parameters."""
    T = x.shape[0]
    gi = input_projection(x, w)  # (T, B, G)
    hidden: list = [None] * T
    gates: dict[str, list] = {}
    gh_list: list = [None] * T if kind == "gru" else []
    # unbind, not gi[t]: each index's backward would write a whole (T, B, G) zero tensor, O(T²) in all
    gi_steps = gi.unbind(0)
    h = h0
    for t in _time_order(T, reverse):
        if kind == "rnn":
            h, step_gates = rnn_step(gi_steps[t], h, w, nonlinearity)
        else:
            h, step_gates, gh_list[t] = gru_step(gi_steps[t], h, w)
        hidden[t] = h
        for name, value in step_gates.items():
            gates.setdefault(name, [None] * T)[t] = value
    return LayerRun(hidden=hidden, grad_inputs=[gi, *hidden, *gh_list], gi=gi, gh=gh_list,
                    gates=gates, h_n=h)


def run_lstm_layer_fused(x: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor, w: LayerWeights,
                         reverse: bool) -> LayerRun:
    """One LSTM layer through torch's fused kernel, with the recurrent-gradient probe."""
    if reverse:
        x = x.flip(0)
    T, B, _ = x.shape
    H = w.weight_hh.shape[1]
    probe = torch.zeros(T, B, H, dtype=x.dtype, device=x.device, requires_grad=True)
    weight = torch.cat([w.weight_ih, w.weight_hh], dim=1)  # (4H, I + H): Z_t enters like H_{t-1}
    flat = [weight, w.weight_hh] + ([w.bias_ih, w.bias_hh] if w.bias_ih is not None else [])
    out, h_n, c_n = torch.lstm(torch.cat([x, probe], dim=-1), (h0.unsqueeze(0), c0.unsqueeze(0)), flat,
                               w.bias_ih is not None, 1, 0.0, False, False, False)
    if reverse:
        out = out.flip(0)
    return LayerRun(hidden=list(out.unbind(0)), grad_inputs=[out, probe], probe=probe, output=out,
                    h_n=h_n[0], c_n=c_n[0])


def lstm_recurrent_grad(probe_grad: torch.Tensor, reverse: bool) -> torch.Tensor:
    """dL/dH_t through time alone, per position (T, B, H), from the probe's gradient.

    The probe at step s+1 enters where H_s does, so its gradient is H_s's recurrent part; for the
    reverse direction the probe lives in flipped time.
    """
    recurrent = torch.zeros_like(probe_grad)
    recurrent[:-1] = probe_grad[1:]
    return recurrent.flip(0) if reverse else recurrent


@torch.no_grad()
def lstm_internals(x: torch.Tensor, hidden: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor,
                   w: LayerWeights, reverse: bool):
    """Gates (T, B, H) each and C_t (T, B, H) of a fused LSTM run, recomputed from its H_t sequence."""
    prev = previous_states(hidden, h0, reverse)
    pre = input_projection(x, w) + F.linear(prev, w.weight_hh, w.bias_hh)
    i, f, g, o = pre.chunk(4, -1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    cell = i * g  # C_t = F_t C_{t-1} + I_t G_t, one fused op per step below
    c = c0
    for t in _time_order(x.shape[0], reverse):
        c = cell[t] = torch.addcmul(cell[t], f[t], c)
    return {"I": i, "F": f, "G": g, "O": o}, cell, prev


@torch.no_grad()
def lstm_gate_grads(gates: dict, cell: torch.Tensor, c0: torch.Tensor, hidden_grad: torch.Tensor,
                    reverse: bool) -> torch.Tensor:
    """dL/d(gate pre-activations) (T, B, 4H) from the total dL/dH_t, by the LSTM's backward recursion."""
    i, f, g, o = gates["I"], gates["F"], gates["G"], gates["O"]
    tanh_c = torch.tanh(cell)
    # dL/dC_t = dL/dH_t O_t (1 - tanh² C_t) + dL/dC_{t+1} F_{t+1}: one fused op per step
    grad_c_total = hidden_grad * o * (1 - tanh_c * tanh_c)
    order = list(_time_order(cell.shape[0], reverse))
    for later, t in zip(order[::-1], order[-2::-1]):
        grad_c_total[t] = torch.addcmul(grad_c_total[t], grad_c_total[later], f[later])
    prev_cell = previous_states(cell, c0, reverse)
    d_i = grad_c_total * g * i * (1 - i)
    d_f = grad_c_total * prev_cell * f * (1 - f)
    d_g = grad_c_total * i * (1 - g ** 2)
    d_o = hidden_grad * tanh_c * o * (1 - o)
    return torch.cat([d_i, d_f, d_g, d_o], dim=-1)


def previous_states(hidden: torch.Tensor, h0: torch.Tensor, reverse: bool) -> torch.Tensor:
    """H_{t-1} for each position t (the state the step at t read), (T, B, H)."""
    if reverse:
        return torch.cat([hidden[1:], h0.unsqueeze(0)], dim=0)
    return torch.cat([h0.unsqueeze(0), hidden[:-1]], dim=0)


@torch.no_grad()
def contribution_norms(grad_hh: torch.Tensor, grad_ih: torch.Tensor, prev: torch.Tensor, x: torch.Tensor):
    """(‖dL/dW_hh term at t‖, ‖dL/dW_ih term at t‖) for all t, each (T,)."""
    shared = gram(grad_hh) if grad_hh is grad_ih else None  # RNN and LSTM: one gate gradient for both
    return contribution_norm(grad_hh, prev, shared), contribution_norm(grad_ih, x, shared)
