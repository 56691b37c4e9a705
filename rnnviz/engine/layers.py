"""A stacked RNN, GRU or LSTM, every layer and direction, through bptt: the one layer loop that
`record` (engine/record.py) and the own-model Function (engine/layer_function.py) both drive.

Forward: each layer and direction by bptt.layer_forward, optionally into (L, D, T, B, ·) buffers
the caller keeps, with the caller's dropout multipliers between layers. Backward, top layer
first: bptt.layer_backward in place on the (L, D, T, B, H) dL/dH_t array, every weight gradient
and the per-timestep W_hh / W_ih term norms while the gate gradients exist, and the gradient
reaching the layer below written straight into its slice of that array (one product per pair
of directions, no (T, B, D*H) dL/dX in between).

Shapes: T timesteps, B batch, I input, H hidden, G gate width, L layers, D directions;
initial states are indexed layer * D + d, as torch's h0 (L*D, B, H).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from . import buffers
from .bptt import GATE_WIDTH, LayerForward, layer_backward, layer_forward, weight_grads
from .cells import LayerWeights
from .summaries import layer_contribution_norms


@dataclass
class StackForward:
    kind: str
    runs: dict                    # (layer, d) -> LayerForward
    weights: dict                 # (layer, d) -> LayerWeights
    output: torch.Tensor          # the top layer's output (T, B, D*H)
    num_layers: int
    num_directions: int

    @property
    def h_n(self) -> list:
        return [self.runs[key].h_n for key in sorted(self.runs)]

    @property
    def c_n(self) -> list | None:
        return [self.runs[key].c_n for key in sorted(self.runs)] if self.kind == "lstm" else None


@dataclass
class StackGrads:
    hidden_grad: torch.Tensor     # (L, D, T, B, H) total dL/dH_t
    param_grads: dict             # parameter name -> gradient
    contributions: dict           # (layer, d) -> (W_hh term norms (T,), W_ih term norms (T,))
    input_grad: torch.Tensor | None = None                      # dL/dX (T, B, I) when asked for
    h0_grads: list = field(default_factory=list)                # dL/dh0 per layer * D + d, when asked for
    c0_grads: list | None = None                                # dL/dc0, when grad_c_n was given


@torch.no_grad()
def forward_layers(kind: str, nonlinearity: str, weights: dict, x: torch.Tensor, h0s, c0s=None, masks=None,
                   hidden: torch.Tensor | None = None, cell: torch.Tensor | None = None,
                   work: torch.Tensor | None = None) -> StackForward:
    """Every layer and direction forward with no graph. weights: (layer, d) -> LayerWeights; h0s,
    c0s: (B, H) states indexed layer * D + d; masks: per layer the dropout multiplier of its
    output (T, B, D*H), or None; hidden, cell (L, D, T, B, H) and work (L, D, T, B, G): buffers to
    write into, or None."""
    L = 1 + max(layer for layer, _ in weights)
    D = 1 + max(d for _, d in weights)
    runs, layer_input = {}, x
    for layer in range(L):
        for d in range(D):
            index = layer * D + d
            runs[layer, d] = layer_forward(
                kind, layer_input, h0s[index], None if c0s is None else c0s[index], weights[layer, d], nonlinearity,
                bool(d), hidden=None if hidden is None else hidden[layer, d],
                cell=None if cell is None else cell[layer, d], work=None if work is None else work[layer, d])
        outs = [runs[layer, d].hidden for d in range(D)]
        layer_input = outs[0] if D == 1 else torch.cat(outs, dim=-1)
        if masks is not None and masks[layer] is not None:
            layer_input = layer_input * masks[layer]
    return StackForward(kind, runs, weights, layer_input, L, D)


@torch.no_grad()
def backward_layers(stack: StackForward, top_grad: torch.Tensor, *, masks=None, grad_h_n=None, grad_c_n=None,
                    hidden_grad: torch.Tensor | None = None, input_grad: bool = False,
                    initial_grads: bool = False) -> StackGrads:
    """BPTT through every layer and direction, top layer first.

    top_grad: dL/d(output) (T, B, D*H); grad_h_n: dL/dh_n (L*D, B, H) or None; grad_c_n: dL/dc_n
    (LSTM), None unless an LSTM's c_n or c0 gradient is in play (then c0_grads are returned);
    hidden_grad: an (L, D, T, B, H) buffer for dL/dH_t, or None; input_grad: also dL/dX of the
    bottom layer; initial_grads: also dL/dh0 (and dL/dc0 with grad_c_n).
    """
    L, D = stack.num_layers, stack.num_directions
    T, B, H = stack.runs[0, 0].hidden.shape
    G = GATE_WIDTH[stack.kind] * H
    if hidden_grad is None:
        hidden_grad = buffers.empty(L, D, T, B, H, dtype=top_grad.dtype, device=top_grad.device)
    for d in range(D):
        hidden_grad[L - 1, d].copy_(top_grad[..., d * H:(d + 1) * H])
    result = StackGrads(hidden_grad, {}, {}, c0_grads=None if grad_c_n is None else [None] * (L * D))
    result.h0_grads = [None] * (L * D) if initial_grads else []
    for layer in range(L - 1, -1, -1):
        if masks is not None and masks[layer] is not None:
            for d in range(D):   # the layer's output was dropped out: dL/dH = dL/d(output) ⊙ mask
                hidden_grad[layer, d].mul_(masks[layer][..., d * H:(d + 1) * H])
        for d in range(D):
            index = layer * D + d
            run, w = stack.runs[layer, d], stack.weights[layer, d]
            first, last = (T - 1, 0) if d else (0, T - 1)
            if grad_h_n is not None:
                hidden_grad[layer, d][last] += grad_h_n[index]
            back = layer_backward(run, hidden_grad[layer, d], w, in_place=True,
                                  grad_c_n=None if grad_c_n is None else grad_c_n[index])
            result.param_grads.update(weight_grads(run, back, w))
            result.contributions[layer, d] = layer_contribution_norms(back.grad_gh, back.grad_gi, run.hidden, run.h0,
                                                                      run.reverse, run.x)
            if initial_grads:
                result.h0_grads[index] = _initial_grad(run, back, w, first)
            if grad_c_n is not None:
                result.c0_grads[index] = back.grad_c0
            flat = back.grad_gi.reshape(T * B, G)
            if layer > 0:   # dL/dX of this layer is what reaches the outputs of the layer below
                for below in range(D):
                    target = hidden_grad[layer - 1, below].view(T * B, H)
                    part = w.weight_ih[:, below * H:(below + 1) * H]
                    if d == 0:
                        torch.mm(flat, part, out=target)
                    else:
                        target.addmm_(flat, part)
            elif input_grad:
                dx = (flat @ w.weight_ih).view(T, B, -1)
                result.input_grad = dx if result.input_grad is None else result.input_grad.add_(dx)
            del back
        for d in range(D):   # what only the backward read: a bidirectional layer's concatenated input, GRU's gh_n
            stack.runs[layer, d].x = stack.runs[layer, d].hidden_n = None
    return result


def _initial_grad(run: LayerForward, back, w: LayerWeights, first: int) -> torch.Tensor:
    """dL/dh0: what the first position's recurrent product sends back (and, for the GRU, the
    direct path H_t = N_t + Z_t (H_{t-1} - N_t))."""
    grad = back.grad_gh[first] @ w.weight_hh
    if run.kind == "gru":
        grad += back.hidden_grad[first] * run.gates["Z"][first]
    return grad
