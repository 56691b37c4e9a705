"""Checking a module's input and initial state, with torch's wording, before any step runs."""
from __future__ import annotations

import torch

from .cells import ModuleInfo


def _shape(t: torch.Tensor) -> tuple:
    return tuple(t.shape)


def time_major_input(info: ModuleInfo, inputs, reference: torch.Tensor) -> torch.Tensor:
    """The input as (T, B, I), checked against the module: ValueError naming what was expected.

    Modules take their own layout ((seq, batch, feature), or (batch, seq, feature) when
    batch_first); cells take the sequence as (seq, batch, feature).
    """
    if not isinstance(inputs, torch.Tensor):
        raise TypeError(f"inputs must be a torch.Tensor, got {type(inputs).__name__}")
    layout = "(batch, seq, {})" if info.batch_first else "(seq, batch, {})"
    expected = layout.format(info.input_size)
    if inputs.dim() != 3:
        raise ValueError(f"Expected input of size {expected}, got {_shape(inputs)}")
    if inputs.shape[-1] != info.input_size:
        raise ValueError(f"Expected input of size {expected}, got {_shape(inputs)}: "
                         f"input.size(-1) must be equal to input_size ({info.input_size})")
    if 0 in inputs.shape[:2]:
        raise ValueError(f"Expected a non-empty input of size {expected}, got {_shape(inputs)}")
    if inputs.dtype != reference.dtype:
        raise ValueError(f"input dtype {inputs.dtype} does not match the module's parameters ({reference.dtype})")
    if inputs.device != reference.device:
        raise ValueError(f"input is on {inputs.device} but the module is on {reference.device}")
    return inputs.transpose(0, 1) if info.batch_first else inputs


def initial_states(info: ModuleInfo, hidden, batch: int, reference: torch.Tensor):
    """(h0[l][d], c0[l][d] or None) as (B, H) tensors; zeros when `hidden` is None."""
    L, D, H = info.num_layers, info.num_directions, info.hidden_size
    expected = (batch, H) if info.is_cell else (L * D, batch, H)
    zeros = torch.zeros(expected, dtype=reference.dtype, device=reference.device)
    if info.kind == "lstm":
        if hidden is None:
            h0, c0 = zeros, zeros
        elif isinstance(hidden, (tuple, list)) and len(hidden) == 2:
            h0, c0 = hidden
        else:
            raise ValueError("an LSTM's initial state must be a pair (h0, c0)")
    else:
        h0, c0 = (zeros if hidden is None else hidden), None
    for name, state in (("h0", h0), ("c0", c0)):
        if state is None:
            continue
        if not isinstance(state, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(state).__name__}")
        if _shape(state) != expected:
            raise ValueError(f"Expected hidden size {expected}, got {_shape(state)} for {name}")
        if state.dtype != reference.dtype or state.device != reference.device:
            raise ValueError(f"{name} must be {reference.dtype} on {reference.device}, got {state.dtype} on {state.device}")

    def split(state):
        if state is None:
            return None
        if info.is_cell:
            return [[state]]
        return [[state[layer * D + d] for d in range(D)] for layer in range(L)]

    return split(h0), split(c0)
