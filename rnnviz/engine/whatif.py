"""What-if edits: change an input value or a hidden unit of h_t (set, zero, scale, clamp) and run on.

An Edit is a patch the runner applies every time it computes the cell it names, as a
differentiable torch op on that cell's X_t or H_t (torch.where), so the backward pass through the
edited run is exact too. `overlay(trace, original)` compares the edited run with the unedited one
(numpy only: the window calls it with the arrays it holds).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OPS = ("set", "zero", "scale", "clamp")
TARGETS = ("h", "x")


@dataclass(frozen=True)
class Edit:
    """target 'h': unit `index` of H_t of (layer, direction); target 'x': feature `index` of the input X_t.
    batch None: every batch element. op: set (to value), zero, scale (by value), clamp (to ±|value|)."""

    t: int
    index: int
    target: str = "h"
    op: str = "set"
    value: float = 0.0
    layer: int = 0
    direction: int = 0
    batch: int | None = None

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"edit target must be 'h' (a hidden unit) or 'x' (an input feature), got {self.target!r}")
        if self.op not in OPS:
            raise ValueError(f"edit op must be one of {', '.join(OPS)}, got {self.op!r}")
        if not np.isfinite(self.value):
            raise ValueError(f"edit value must be a finite number, got {self.value!r}")
        if self.target == "x" and (self.layer != 0 or self.direction != 0):
            raise ValueError("an input edit changes X_t, which layer 0 reads in every direction: leave layer and "
                             "direction at 0")

    def describe(self) -> str:
        what = f"h_t[unit {self.index}] of layer {self.layer}" if self.target == "h" else f"x_t[feature {self.index}]"
        if self.direction:
            what += f" (direction {self.direction})"
        rows = "every batch element" if self.batch is None else f"batch element {self.batch}"
        how = {"set": f"set to {self.value:g}", "zero": "zeroed", "scale": f"scaled by {self.value:g}",
               "clamp": f"clamped to ±{abs(self.value):g}"}[self.op]
        return f"t={self.t}: {what}, {rows}, {how}"


def check_edit(edit: Edit, num_layers: int, num_directions: int, seq_len: int, batch: int, width: int) -> None:
    """ValueError naming what is out of range (width: hidden_size for 'h', input_size for 'x')."""
    for name, value, top in (("t", edit.t, seq_len), ("layer", edit.layer, num_layers),
                             ("direction", edit.direction, num_directions),
                             ("unit" if edit.target == "h" else "feature", edit.index, width)):
        if not 0 <= value < top:
            raise ValueError(f"edit {name} must be between 0 and {top - 1}, got {value}")
    if edit.batch is not None and not 0 <= edit.batch < batch:
        raise ValueError(f"edit batch element must be between 0 and {batch - 1}, got {edit.batch}")


def apply(values, edits):
    """`values` (B, K) with every edit applied in order: differentiable torch ops, same graph."""
    import torch

    for edit in edits:
        mask = torch.zeros(values.shape, dtype=torch.bool, device=values.device)
        if edit.batch is None:
            mask[:, edit.index] = True
        else:
            mask[edit.batch, edit.index] = True
        if edit.op in ("set", "zero"):
            changed = torch.full_like(values, 0.0 if edit.op == "zero" else edit.value)
        elif edit.op == "scale":
            changed = values * edit.value
        else:
            changed = values.clamp(-abs(edit.value), abs(edit.value))
        values = torch.where(mask, changed, values)
    return values


@dataclass
class Overlay:
    """Edited vs original, (L, D, T) each: ‖h_t − h_t^orig‖ and both runs' ‖dL/dh_t‖; both losses."""

    h_diff: np.ndarray
    grad_norm: np.ndarray
    grad_norm_original: np.ndarray
    loss: float
    loss_original: float


def overlay(trace, original) -> Overlay:
    """Compare a (possibly partial) edited trace with the original run's full trace; NaN where the
    edited run has not computed that cell yet."""
    diff = np.asarray(trace.hidden, dtype=np.float64) - np.asarray(original.hidden, dtype=np.float64)
    h_diff = np.sqrt((diff ** 2).sum(axis=(-2, -1)))  # NaN stays NaN where not computed
    return Overlay(h_diff, np.asarray(trace.grad_norm, dtype=np.float64), np.asarray(original.grad_norm, dtype=np.float64),
                   float(trace.loss), float(original.loss))
