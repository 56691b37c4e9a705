"""The cell equations of torch's RNN, GRU and LSTM, on a module's own parameters.

Each step takes the input projection ``gi = X_t · W_ih^T + b_ih`` (computed per step, or for all
timesteps at once) and returns the new state together with the intermediate tensors a debugger
shows. The formulas are those of torch/nn/modules/rnn.py, in the same order of operations.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .module_info import ModuleInfo, module_kind  # noqa: F401  (re-exported: the engine reads them here)
from .names import SATURATION_LIMIT, parameter_names


@dataclass
class LayerWeights:
    """The parameters of one layer and direction, as the module holds them (not copies)."""

    names: dict[str, str]          # role ('weight_ih', ...) -> module parameter name
    weight_ih: torch.Tensor
    weight_hh: torch.Tensor
    bias_ih: torch.Tensor | None
    bias_hh: torch.Tensor | None


def layer_weights(module: nn.Module, layer: int, direction: int, is_cell: bool) -> LayerWeights:
    names = parameter_names(layer, direction, is_cell)
    params = dict(module.named_parameters())
    if getattr(module, "proj_size", 0):
        raise ValueError("LSTM with proj_size > 0 is not supported")
    return LayerWeights(names, params[names["weight_ih"]], params[names["weight_hh"]],
                        params.get(names["bias_ih"]), params.get(names["bias_hh"]))


def input_projection(x: torch.Tensor, w: LayerWeights) -> torch.Tensor:
    """X · W_ih^T + b_ih for x of shape (..., I): one timestep or all at once."""
    return F.linear(x, w.weight_ih, w.bias_ih)


def phi(nonlinearity: str):
    return torch.tanh if nonlinearity == "tanh" else torch.relu


def rnn_step(gi: torch.Tensor, h: torch.Tensor, w: LayerWeights, nonlinearity: str):
    """(H_t, {'A': pre-activation}) with A_t = gi + H_{t-1} W_hh^T + b_hh."""
    pre = gi + F.linear(h, w.weight_hh, w.bias_hh)
    return phi(nonlinearity)(pre), {"A": pre}


def gru_step(gi: torch.Tensor, h: torch.Tensor, w: LayerWeights):
    """(H_t, gates, gh) — gh = H_{t-1} W_hh^T + b_hh is returned so its gradient can be read."""
    gh = F.linear(h, w.weight_hh, w.bias_hh)
    i_r, i_z, i_n = gi.chunk(3, -1)
    h_r, h_z, h_n = gh.chunk(3, -1)
    reset = torch.sigmoid(i_r + h_r)
    update = torch.sigmoid(i_z + h_z)
    new = torch.tanh(i_n + reset * h_n)
    h_next = new + update * (h - new)
    return h_next, {"R": reset, "Z": update, "N": new}, gh


def lstm_step(gi: torch.Tensor, h: torch.Tensor, c: torch.Tensor, w: LayerWeights):
    """(H_t, C_t, gates) for the pre-activation gi + H_{t-1} W_hh^T + b_hh."""
    gates = gi + F.linear(h, w.weight_hh, w.bias_hh)
    i, f, g, o = gates.chunk(4, -1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c_next = f * c + i * g
    h_next = o * torch.tanh(c_next)
    return h_next, c_next, {"I": i, "F": f, "G": g, "O": o}


def saturated(h, nonlinearity: str):
    """Where a unit is saturated (torch or numpy, elementwise): |h| > SATURATION_LIMIT for tanh,
    h <= 0 (dead) for relu. The one rule every saturation figure uses."""
    return (h <= 0) if nonlinearity == "relu" else (abs(h) > SATURATION_LIMIT)


def mark_saturated(h: torch.Tensor, nonlinearity: str, out: torch.Tensor) -> torch.Tensor:
    """`saturated` written as 1.0 / 0.0 into the float tensor `out` (h's shape): the same comparison,
    in place, with no boolean array and no conversion pass."""
    if nonlinearity == "relu":
        return torch.le(h, 0, out=out)
    return torch.abs(h, out=out).gt_(SATURATION_LIMIT)


def saturation(h: torch.Tensor, nonlinearity: str) -> torch.Tensor:
    """Fraction of saturated units over the trailing (B, H)."""
    return saturated(h, nonlinearity).to(h.dtype).mean(dim=(-2, -1))
