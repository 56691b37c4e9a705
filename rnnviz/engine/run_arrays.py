"""The numbers a live run keeps, as numpy: the per-cell arrays (NaN where not computed yet) and the
Trace snapshot over them. A mixin of engine/runner.Runner, which fills the arrays as it steps and
undoes them as it steps back; it owns the state read here (info, schedule, records, _forward, loss)."""
from __future__ import annotations

import numpy as np
import torch

from .names import GATE_NAMES
from .trace import Trace


class RunArrays:
    def _reset_arrays(self) -> None:
        """Every per-cell array NaN again, refilled in place when the dtype still fits."""
        L, D, T, B, H = (self.info.num_layers, self.info.num_directions, self.seq_len, self.batch_size,
                         self.info.hidden_size)
        np_dtype = np.float64 if self._reference.dtype == torch.float64 else np.float32
        if getattr(self, "hidden", None) is not None and self.hidden.dtype == np_dtype:
            # Refilled in place: fresh arrays cost their page faults again (~200 ms for the 100 MB of
            # (1000,8,64,512,2)), a fill a few ms. A snapshot's arrays are views of these anyway.
            for array in self._arrays():
                array.fill(np.nan)
            return
        full = lambda *shape: np.full(shape, np.nan, dtype=np_dtype)  # noqa: E731
        self.hidden, self.hidden_grad = full(L, D, T, B, H), full(L, D, T, B, H)
        self.cell = full(L, D, T, B, H) if self.info.kind == "lstm" else None
        self.gates = {name: full(L, D, T, B, H) for name in GATE_NAMES[self.info.kind]}
        self.hidden_norm, self.grad_norm, self.saturation = full(L, D, T), full(L, D, T), full(L, D, T)
        self.whh_contrib, self.wih_contrib = full(L, D, T), full(L, D, T)
        self.step_ms = full(len(self.schedule))

    def _arrays(self) -> list[np.ndarray]:
        """Every per-cell array a snapshot shows."""
        arrays = [self.hidden, self.hidden_grad, self.cell, *self.gates.values(), self.hidden_norm, self.grad_norm,
                  self.saturation, self.whh_contrib, self.wih_contrib, self.step_ms]
        return [array for array in arrays if array is not None]

    def snapshot(self, copy: bool = False) -> Trace:
        """The arrays so far (NaN where not computed yet); views of the runner's own unless `copy`."""
        take = (lambda a: None if a is None else a.copy()) if copy else (lambda a: a)  # noqa: E731
        as_np = lambda t: None if t is None else t.detach().cpu().numpy()  # noqa: E731
        output, h_n, c_n = self._finished_outputs() if self.position >= self.num_forward else (None, None, None)
        if copy:
            output, h_n, c_n = (None if a is None else a.copy() for a in (output, h_n, c_n))
        return Trace(
            kind=self.info.kind, is_cell=self.info.is_cell, nonlinearity=self.info.activation,
            batch_first=self.info.batch_first, inputs=as_np(self.inputs),
            output=output if output is not None else np.full(0, np.nan),
            hidden=take(self.hidden), hidden_grad=take(self.hidden_grad), h_n=h_n, c_n=c_n,
            cell=take(self.cell), gates={k: take(v) for k, v in self.gates.items()},
            head_output=as_np(self._head_output), hidden_norm=take(self.hidden_norm), grad_norm=take(self.grad_norm),
            saturation=take(self.saturation), whh_grad_contrib_norm=take(self.whh_contrib),
            wih_grad_contrib_norm=take(self.wih_contrib), step_ms=take(self.step_ms),
            loss=float("nan") if self.loss is None else self.loss, loss_name=self.loss_name,
            param_grads=self._snapshot_grads(copy) if self.position > self.num_forward else {},
            records=list(self.records) if copy else self.records, spec=self.spec,
            device=str(self._reference.device), operands=self._operands,
            equation=self.equation,
        )

    def _snapshot_grads(self, copy: bool) -> dict:
        grads = self.param_grads()
        return {name: grad.copy() for name, grad in grads.items()} if copy else grads

    def _finished_outputs(self) -> tuple:
        """(output, h_n, c_n) of the finished forward pass as numpy, stacked once: the backward pass
        does not change them, and re-stacking (T, B, H) on every frame cost a few ms each."""
        if self._outputs is None:
            as_np = lambda t: None if t is None else t.detach().cpu().numpy()  # noqa: E731
            c_n = None
            with torch.no_grad():
                out = self._top_output()
                if self.info.is_cell:
                    output = out
                else:
                    output = out.transpose(0, 1) if self.info.batch_first else out
                last = [self._forward[l, d, (0 if d else self.seq_len - 1)]
                        for l in range(self.info.num_layers) for d in range(self.info.num_directions)]
                h_n = last[0].h if self.info.is_cell else torch.stack([s.h for s in last])
                if self.info.kind == "lstm":
                    c_n = last[0].c if self.info.is_cell else torch.stack([s.c for s in last])
            self._outputs = (as_np(output), as_np(h_n), as_np(c_n))
        return self._outputs
