"""The order in which a runner computes cells, and the typed record of one computed cell.

A "cell" here is one step of the schedule: (phase, layer, direction, t). Both the live Runner and
the replay of a finished trace walk the same schedule and hand out the same StepRecord.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import NamedTuple

from .operands import Operand


class Cell(NamedTuple):
    phase: str       # 'forward' | 'backward'
    layer: int
    direction: int
    t: int


_RUN_IDS = itertools.count(1)


def new_run_id() -> int:
    """A number no other runner in this process has: (run_id, version) identifies what a snapshot shows."""
    return next(_RUN_IDS)


def forward_schedule(num_layers: int, num_directions: int, seq_len: int) -> list[Cell]:
    """Unidirectional: timestep-major (every layer of t before t+1). Bidirectional: layer-major,
    since the reverse direction of layer l needs all of layer l-1."""
    if num_directions == 1:
        return [Cell("forward", layer, 0, t) for t in range(seq_len) for layer in range(num_layers)]
    cells = []
    for layer in range(num_layers):
        for d in range(num_directions):
            times = range(seq_len - 1, -1, -1) if d else range(seq_len)
            cells += [Cell("forward", layer, d, t) for t in times]
    return cells


def backward_schedule(forward: list[Cell]) -> list[Cell]:
    """The forward cells in reverse: every consumer of a state is done before the state itself."""
    return [Cell("backward", c.layer, c.direction, c.t) for c in reversed(forward)]


def full_schedule(num_layers: int, num_directions: int, seq_len: int) -> list[Cell]:
    forward = forward_schedule(num_layers, num_directions, seq_len)
    return forward + backward_schedule(forward)


@dataclass
class StepRecord:
    """What one computed cell produced: its operands and equation, and the numbers of that step."""

    cell: Cell
    operands: list[Operand]
    equation: str
    h_norm: float
    saturation: float
    grad_norm: float | None = None
    whh_contrib_norm: float | None = None
    wih_contrib_norm: float | None = None
    loss: float | None = None
    ms: float = 0.0

    def as_dict(self) -> dict:
        """The file format's per-step entry (operands and equation are stored once per trace)."""
        return {"phase": self.cell.phase, "layer": self.cell.layer, "direction": self.cell.direction,
                "t": self.cell.t, "h_norm": self.h_norm, "saturation": self.saturation,
                "grad_norm": self.grad_norm, "ms": self.ms}

    @classmethod
    def from_dict(cls, entry: dict, operands: list[Operand] = (), equation: str = "") -> "StepRecord":
        """A record read back from a trace file; numbers the file lacks stay None (NaN for the norms)."""
        cell = Cell(str(entry["phase"]), int(entry["layer"]), int(entry["direction"]), int(entry["t"]))
        number = lambda key: None if entry.get(key) is None else float(entry[key])  # noqa: E731
        return cls(cell, list(operands), equation, number("h_norm") if "h_norm" in entry else float("nan"),
                   number("saturation") if "saturation" in entry else float("nan"), number("grad_norm"),
                   ms=float(entry.get("ms") or 0.0))
