"""ReplayRunner: the runner interface over a finished Trace (a loaded file, read-only, or the engine's
record() while the step runner is unavailable). Entries past the position read as NaN, as in a live run."""
from __future__ import annotations

import dataclasses
from collections import namedtuple

import numpy as np

Cell = namedtuple("Cell", "phase layer direction t")


def default_schedule(L: int, D: int, T: int) -> list:
    """Forward cells (timestep-major when unidirectional, layer-major when bidirectional), then backward."""
    if D == 1:
        forward = [Cell("forward", l, 0, t) for t in range(T) for l in range(L)]
    else:
        forward = [Cell("forward", l, d, t) for l in range(L) for d in range(D)
                   for t in (range(T) if d == 0 else range(T - 1, -1, -1))]
    backward = [Cell("backward", c.layer, c.direction, c.t) for c in reversed(forward)]
    return forward + backward


def _cell_of(record) -> Cell | None:
    cell = record.get("cell") if isinstance(record, dict) else getattr(record, "cell", None)
    if cell is None and isinstance(record, dict) and "phase" in record:
        cell = {k: record[k] for k in ("phase", "layer", "direction", "t")}
    if cell is None:
        return None
    if isinstance(cell, dict):
        return Cell(cell["phase"], int(cell["layer"]), int(cell["direction"]), int(cell["t"]))
    return Cell(str(cell[0]), int(cell[1]), int(cell[2]), int(cell[3]))


class ReplayRunner:
    """position / schedule / num_forward / step / back / seek / reset / snapshot over a complete trace."""

    def __init__(self, trace, h0=None, module=None):
        self.trace = trace
        self.module, self.h0 = module, h0
        L, D, T = trace.hidden.shape[:3]
        cells = [_cell_of(r) for r in (trace.records or [])]
        self.schedule = cells if cells and all(cells) else default_schedule(L, D, T)
        self.num_forward = sum(1 for c in self.schedule if c.phase == "forward")
        self.position = 0
        self._index = {c: i for i, c in enumerate(self.schedule)}

    @property
    def records(self) -> list:
        return [self.record_at(i) for i in range(self.position)]

    def record_at(self, index: int) -> dict:
        """The record of cell `index`: the file's per-step numbers plus the layer's operands and equation."""
        trace = self.trace
        cell = self.schedule[index]
        operands = getattr(trace, "operands", None) or []
        record = {"ms": 0.0}
        if trace.records and index < len(trace.records) and isinstance(trace.records[index], dict):
            record.update(trace.records[index])
        record.update(cell=cell, operands=operands[cell.layer] if cell.layer < len(operands) else [],
                      equation=getattr(trace, "equation", "") or "")
        return record

    def step(self):
        if self.position < len(self.schedule):
            self.position += 1
        return self.record_at(self.position - 1) if self.position else None

    def back(self) -> None:
        self.position = max(0, self.position - 1)

    def seek(self, position: int) -> None:
        self.position = max(0, min(int(position), len(self.schedule)))

    def reset(self) -> None:
        self.position = 0

    def run_to_end(self) -> None:
        self.position = len(self.schedule)

    def run_forward(self) -> None:
        self.position = self.num_forward

    def snapshot(self):
        """The trace as it stands after `position` cells: what is not computed yet is NaN."""
        trace = self.trace
        if self.position >= len(self.schedule):
            return trace
        L, D, T = trace.hidden.shape[:3]
        done_fwd = np.zeros((L, D, T), dtype=bool)
        done_bwd = np.zeros((L, D, T), dtype=bool)
        for cell in self.schedule[:self.position]:
            (done_fwd if cell.phase == "forward" else done_bwd)[cell.layer, cell.direction, cell.t] = True

        def mask(values, done):
            if values is None:
                return None
            out = np.array(values, dtype=np.float64 if values.dtype == np.float64 else np.float32)
            out[~done] = np.nan
            return out

        grads_done = done_bwd.all()
        return dataclasses.replace(
            trace,
            hidden=mask(trace.hidden, done_fwd), hidden_grad=mask(trace.hidden_grad, done_bwd),
            cell=mask(trace.cell, done_fwd), gates={k: mask(v, done_fwd) for k, v in trace.gates.items()},
            saturation=mask(trace.saturation, done_fwd),
            hidden_norm=None, grad_norm=None,
            whh_grad_contrib_norm=mask(trace.whh_grad_contrib_norm, done_bwd),
            wih_grad_contrib_norm=mask(trace.wih_grad_contrib_norm, done_bwd),
            param_grads=trace.param_grads if grads_done else {k: np.zeros_like(v) for k, v in trace.param_grads.items()},
        )
