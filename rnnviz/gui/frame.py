"""What the worker hands the window: one Frame per applied step (plain data, no Qt, no torch)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Frame:
    """A snapshot of the runner after `position` cells of `total` are done.

    trace: the engine's Trace (numpy arrays; entries not yet computed are NaN).
    record: the StepRecord (or record dict, for a loaded trace) of the cell just done, or None at 0.
    rows: the tensor table of this step: dicts with name, shape, dtype, device, min, max, mean, norm, nan, inf.
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
        return float(record_get(self.record, "ms", 0.0) or 0.0)


def record_get(record, name: str, default=None):
    """A field of a StepRecord or of a loaded trace's record dict."""
    if record is None:
        return default
    if isinstance(record, dict):
        return record.get(name, default)
    return getattr(record, name, default)


@dataclass
class Selection:
    """Which slice of (L, D, T, B, H) the panels show."""

    layer: int = 0
    direction: int = 0
    batch: int = 0
