"""Breakpoints: conditions checked after every cell a Runner steps, and the NaN/Inf sentinel.

numpy only (the window builds conditions without importing torch); `check(runner, conditions)`
reads the runner's own per-cell arrays (hidden, hidden_grad, gates, cell, norms) at the cell just
done, so a hit names exactly what the panels show. `run_until` is `Runner.run_until`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

QUANTITIES = {  # kind -> (symbol shown, runner array, the phase whose cells compute it)
    "h_norm": ("‖h_t‖", "hidden_norm", "forward"),
    "saturation": ("saturation", "saturation", "forward"),
    "grad_norm": ("‖dL/dh_t‖", "grad_norm", "backward"),
}
KINDS = ("nonfinite", *QUANTITIES, "timestep", "layer")


@dataclass(frozen=True)
class Condition:
    """One breakpoint.

    kind: 'nonfinite' (the sentinel: the first NaN or Inf in any tensor the cell recorded),
    'h_norm' / 'saturation' / 'grad_norm' (the quantity `op` `value`: e.g. grad_norm < 1e-6),
    'timestep' (the cell's t == value) or 'layer' (the cell's layer == value).
    phase: 'forward', 'backward' or None (both); layer: only cells of that layer, or None.
    """

    kind: str
    op: str = "<"
    value: float = 0.0
    phase: str | None = None
    layer: int | None = None
    enabled: bool = True

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"breakpoint kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.op not in ("<", ">"):
            raise ValueError(f"breakpoint op must be '<' or '>', got {self.op!r}")
        if self.phase not in (None, "forward", "backward"):
            raise ValueError(f"breakpoint phase must be forward, backward or None, got {self.phase!r}")
        if not np.isfinite(self.value):
            raise ValueError(f"breakpoint value must be a finite number, got {self.value!r}")
        if self.kind in ("timestep", "layer") and (self.value < 0 or self.value != int(self.value)):
            raise ValueError(f"a {self.kind} breakpoint needs a whole number >= 0, got {self.value!r}")

    def describe(self) -> str:
        where = "" if self.layer is None else f" in layer {self.layer}"
        phase = "" if self.phase is None else f" ({self.phase})"
        if self.kind == "nonfinite":
            return f"sentinel: first NaN or Inf{where}{phase}"
        if self.kind in QUANTITIES:
            return f"{QUANTITIES[self.kind][0]} {self.op} {self.value:g}{where}"
        return f"at {'t' if self.kind == 'timestep' else 'layer'} = {int(self.value)}{where}{phase}"

    def toggled(self, enabled: bool) -> "Condition":
        return replace(self, enabled=enabled)


def sentinel() -> Condition:
    return Condition("nonfinite")


def threshold(quantity: str, op: str, value: float, layer: int | None = None) -> Condition:
    """e.g. threshold('grad_norm', '<', 1e-6): where the gradient vanished."""
    if quantity not in QUANTITIES:
        raise ValueError(f"quantity must be one of {', '.join(QUANTITIES)}, got {quantity!r}")
    return Condition(quantity, op, float(value), layer=layer)


def at_timestep(t: int, phase: str | None = None, layer: int | None = None) -> Condition:
    return Condition("timestep", value=int(t), phase=phase, layer=layer)


def at_layer(layer: int, phase: str | None = None) -> Condition:
    return Condition("layer", value=int(layer), phase=phase)


@dataclass(frozen=True)
class Hit:
    """Where a run stopped: the condition, the cell, the schedule position after it, and why."""

    condition: Condition
    cell: tuple                # (phase, layer, direction, t)
    position: int
    message: str
    tensor: str | None = None  # the sentinel: which tensor held the non-finite value
    value: float | None = None


def _where(cell) -> str:
    return f"layer {cell.layer}, direction {cell.direction}, t={cell.t} ({cell.phase})"


def _recorded(runner, cell) -> list[tuple[str, np.ndarray]]:
    """The tensors the cell just done recorded, in the order the cell made them."""
    key = (cell.layer, cell.direction, cell.t)
    if cell.phase == "backward":
        return [("dL/dh_t", runner.hidden_grad[key])]
    tensors = []
    if cell.layer == 0:
        x = runner.x[cell.t]
        tensors.append(("input X_t", x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)))
    tensors += [(f"gate {name}_t", values[key]) for name, values in runner.gates.items()]
    if runner.cell is not None:
        tensors.append(("C_t", runner.cell[key]))
    tensors.append(("h_t", runner.hidden[key]))
    return tensors


def _check_one(runner, condition: Condition, cell, position: int) -> Hit | None:
    if condition.phase is not None and cell.phase != condition.phase:
        return None
    if condition.layer is not None and cell.layer != condition.layer:
        return None
    kind = condition.kind
    if kind == "nonfinite":
        for name, values in _recorded(runner, cell):
            bad = ~np.isfinite(values)
            if bad.any():
                nan, inf = int(np.isnan(values).sum()), int(np.isinf(values).sum())
                return Hit(condition, tuple(cell), position,
                           f"stopped: first non-finite value in {name} at {_where(cell)}: {nan} NaN, {inf} Inf",
                           tensor=name)
        if position == runner.num_forward and runner.loss is not None and not np.isfinite(runner.loss):
            return Hit(condition, tuple(cell), position, f"stopped: the loss is {runner.loss} after the forward pass",
                       tensor="loss", value=runner.loss)
        return None
    if kind in QUANTITIES:
        symbol, array, phase = QUANTITIES[kind]
        if cell.phase != phase:
            return None
        value = float(getattr(runner, array)[cell.layer, cell.direction, cell.t])
        if (value < condition.value) if condition.op == "<" else (value > condition.value):
            return Hit(condition, tuple(cell), position,
                       f"stopped: {symbol} = {value:.3g} {condition.op} {condition.value:g} at {_where(cell)}",
                       value=value)
        return None
    target = cell.t if kind == "timestep" else cell.layer
    if target == int(condition.value):
        return Hit(condition, tuple(cell), position, f"stopped: breakpoint {condition.describe()} at {_where(cell)}")
    return None


def check(runner, conditions) -> Hit | None:
    """The first enabled condition that holds at the cell the runner did last, or None."""
    if runner.position == 0:
        return None
    cell = runner.schedule[runner.position - 1]
    for condition in conditions:
        if condition.enabled:
            hit = _check_one(runner, condition, cell, runner.position)
            if hit is not None:
                return hit
    return None


def as_conditions(conditions) -> list[Condition]:
    """One Condition or several; the sentinel when none is given."""
    if conditions is None:
        return [sentinel()]
    if isinstance(conditions, Condition):
        return [conditions]
    return list(conditions)


def run_until(runner, conditions=None, until: int | None = None, stopped=None) -> Hit | None:
    """Step `runner` until a condition holds at the cell just done (the Hit), or position `until`
    (default: the end of the schedule; None then). `stopped()` returning True ends the run early."""
    conditions = as_conditions(conditions)
    end = len(runner.schedule) if until is None else min(int(until), len(runner.schedule))
    while runner.position < end and not (stopped is not None and stopped()):
        runner.step()
        hit = check(runner, conditions)
        if hit is not None:
            return hit
    return None
