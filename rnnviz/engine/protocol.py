"""The one runner protocol the window drives: the live Runner and the ReplayRunner both implement it."""
from __future__ import annotations

from typing import Protocol, runtime_checkable

from .schedule import Cell, StepRecord
from .trace import Trace


@runtime_checkable
class StepRunner(Protocol):
    schedule: list[Cell]        # forward cells, then backward cells
    num_forward: int
    position: int               # cells done
    run_id: int                 # unique per runner in this process
    version: int                # bumped by every change a snapshot shows: (run_id, version) names the numbers
    label: str                  # how the window names the run ("" = by its spec)
    module: object              # the torch module whose weights the tensor table shows, or None
    initial_states: object      # (h0, c0) indexable [layer][direction], or None (zeros shown)
    replays: bool               # True: moves along a finished trace (computes nothing; no edits,
                                # breakpoints, proof or truncation split, which need a live run)

    def step(self) -> StepRecord | None: ...
    def back(self) -> None: ...
    def seek(self, position: int) -> None: ...
    def reset(self) -> None: ...
    def run_forward(self) -> None: ...
    def run_to_end(self) -> None: ...
    def record_at(self, index: int) -> StepRecord: ...
    def snapshot(self, copy: bool = False) -> Trace: ...
