"""ReplayRunner: the runner protocol over a finished Trace (a loaded file, read-only, or a record()
run such as a training iteration of the tutorial model). Entries past the position read as NaN,
as in a live run; moving along it computes nothing."""
from __future__ import annotations

import dataclasses

import numpy as np

from .schedule import Cell, StepRecord, full_schedule, new_run_id
from .trace import Trace
from .window import WindowReader, needs_window, windowed_snapshot


class ReplayRunner:
    """position / schedule / num_forward / step / back / seek / reset / snapshot over a complete trace."""

    replays = True   # a seek jumps: every number is already there

    def __init__(self, trace: Trace, module=None):
        self.trace = trace
        self.module = module            # its weights fill the tensor table; None for a file
        self.initial_states = None      # a finished trace keeps no h0: the table shows zeros
        L, D, T = trace.hidden.shape[:3]
        self.schedule: list[Cell] = [r.cell for r in trace.records] or full_schedule(L, D, T)
        self.num_forward = sum(1 for c in self.schedule if c.phase == "forward")
        self.position = 0
        self.run_id, self.label = new_run_id(), ""
        self.version = 0
        self._window = WindowReader(trace) if needs_window(trace) else None
        self._cells = None

    def record_at(self, index: int) -> StepRecord:
        """The record of cell `index`: the file's own when it kept one, else read off the trace's arrays."""
        trace = self.trace
        if index < len(trace.records):
            return trace.records[index]
        cell = self.schedule[index]
        key = (cell.layer, cell.direction, cell.t)
        operands = trace.operands[cell.layer] if cell.layer < len(trace.operands) else []
        number = lambda values: None if values is None else float(values[key])  # noqa: E731
        grad = number(trace.grad_norm) if cell.phase == "backward" else None
        return StepRecord(cell, operands, trace.equation, number(trace.hidden_norm), number(trace.saturation), grad)

    @property
    def done(self) -> bool:
        return self.position >= len(self.schedule)

    def step(self) -> StepRecord | None:
        if self.done:
            return None
        self.position += 1
        self.version += 1
        return self.record_at(self.position - 1)

    def back(self) -> None:
        self.seek(self.position - 1)

    def seek(self, position: int) -> None:
        position = max(0, min(int(position), len(self.schedule)))
        if position != self.position:
            self.position = position
            self.version += 1

    def reset(self) -> None:
        self.seek(0)

    def run_to_end(self) -> None:
        self.seek(len(self.schedule))

    def run_forward(self) -> None:
        self.seek(max(self.position, self.num_forward))

    def snapshot(self, copy: bool = False) -> Trace:
        """The trace as it stands after `position` cells: what is not computed yet is NaN.

        Always fresh arrays (or the finished trace, never written), so `copy` changes nothing. A trace
        recorded to disk, or too large to copy for every frame, gives a window of its large arrays
        around the cursor (engine/window.py)."""
        trace = self.trace
        if self.position >= len(self.schedule) and self._window is None:
            return trace
        L, D, T = trace.hidden.shape[:3]
        done_fwd = np.zeros((L, D, T), dtype=bool)
        done_bwd = np.zeros((L, D, T), dtype=bool)
        if self._cells is None:   # (phase is forward, layer, direction, t) per cell, once: a frame is one scatter
            self._cells = np.array([(c.phase == "forward", c.layer, c.direction, c.t) for c in self.schedule],
                                   dtype=np.int64).reshape(-1, 4)
        done = self._cells[:self.position]
        for target, rows in ((done_fwd, done[done[:, 0] == 1]), (done_bwd, done[done[:, 0] == 0])):
            target[rows[:, 1], rows[:, 2], rows[:, 3]] = True

        def mask(values, done):
            if values is None:
                return None
            out = np.array(values, dtype=np.float64 if values.dtype == np.float64 else np.float32)
            out[~done] = np.nan
            return out

        grads_done = done_bwd.all()
        if self._window is not None:   # a window around the cursor, never a whole array (engine/window.py)
            cursor = self.schedule[self.position - 1].t if self.position else 0
            return windowed_snapshot(
                trace, self._window, cursor, done_fwd, done_bwd, mask,
                saturation=mask(trace.saturation, done_fwd), hidden_norm=mask(trace.hidden_norm, done_fwd),
                grad_norm=mask(trace.grad_norm, done_bwd),
                whh_grad_contrib_norm=mask(trace.whh_grad_contrib_norm, done_bwd),
                wih_grad_contrib_norm=mask(trace.wih_grad_contrib_norm, done_bwd),
                records=trace.records[:self.position],
                param_grads=trace.param_grads if grads_done else {k: np.zeros_like(v) for k, v in trace.param_grads.items()})
        return dataclasses.replace(
            trace,
            hidden=mask(trace.hidden, done_fwd), hidden_grad=mask(trace.hidden_grad, done_bwd),
            cell=mask(trace.cell, done_fwd), gates={k: mask(v, done_fwd) for k, v in trace.gates.items()},
            saturation=mask(trace.saturation, done_fwd),
            hidden_norm=None, grad_norm=None,
            whh_grad_contrib_norm=mask(trace.whh_grad_contrib_norm, done_bwd),
            wih_grad_contrib_norm=mask(trace.wih_grad_contrib_norm, done_bwd),
            records=trace.records[:self.position],
            param_grads=trace.param_grads if grads_done else {k: np.zeros_like(v) for k, v in trace.param_grads.items()},
        )
