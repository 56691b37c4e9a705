"""What the worker hands the window: one Frame per applied step (plain data, no Qt, no torch)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Frame:
    """A snapshot of the runner after `position` cells of `total` are done.

    trace: the engine's Trace (numpy arrays; entries not yet computed are NaN).
    record: the engine's StepRecord of the cell just done, or None at 0.
    rows: the tensor table of this step: dicts with name, shape, dtype, device, min, max, mean, norm, nan, inf.
    sequence: (name, shape, dimension names) of the whole-sequence tensors (input, out, h_n, c_n).
    version: the runner's change counter when the snapshot was taken: equal versions, equal numbers.
    """

    trace: object
    position: int
    total: int
    num_forward: int
    record: object = None
    device: str = "cpu"
    rows: list = field(default_factory=list)
    schedule: list = field(default_factory=list)
    read_only: bool = False
    final: bool = False      # the last frame of its job: shown at once, all panels in one go
    sequence: list = field(default_factory=list)
    run_id: int = 0          # the runner's: frames of one run share it
    version: int = 0
    recurrent_weights: dict = field(default_factory=dict)   # (layer, direction) -> W_hh as numpy (RNNs)

    @property
    def cell(self):
        """The cell just done ((phase, layer, direction, t)), or None before the first step."""
        if self.position <= 0 or not self.schedule:
            return None
        return self.schedule[self.position - 1]

    @property
    def t(self) -> int | None:
        cell = self.cell
        return None if cell is None else int(cell.t)

    @property
    def phase(self) -> str:
        cell = self.cell
        return "ready" if cell is None else cell.phase

    @property
    def ms(self) -> float:
        return 0.0 if self.record is None else float(self.record.ms)


@dataclass
class Selection:
    """Which slice of (L, D, T, B, H) the panels show."""

    layer: int = 0
    direction: int = 0
    batch: int = 0
