"""The step-through runner: one cell at a time, forward and then back through time.

Each forward cell runs the cell equation on the module's own parameters with its inputs cut
from the graph (leaves), so each backward cell is one real ``torch.autograd.grad`` through that
cell alone: it takes the cell's total dL/dH_t (and dL/dC_t), and hands dL/dH_{t-1} back along
the chain and dL/dX_t down to the layer below. Going back one step restores what that step
changed; nothing is recomputed.
"""
from __future__ import annotations

import time
from collections import namedtuple
from dataclasses import dataclass, field

import numpy as np
import torch

from .build import Built, build, compute_loss
from .cells import ModuleInfo, contribution_norm, gram, gru_step, input_projection, layer_weights, lstm_step, rnn_step, saturation
from .inputs import initial_states, time_major_input
from .operands import Operand
from .operands import equation as cell_equation
from .record import layer_operands
from .spec import RNNSpec
from .trace import Trace

Cell = namedtuple("Cell", "phase layer direction t")
_BLOCK = 32  # backward cells per cached partial sum of the weight gradients


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


@dataclass
class StepRecord:
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
        return {"phase": self.cell.phase, "layer": self.cell.layer, "direction": self.cell.direction,
                "t": self.cell.t, "h_norm": self.h_norm, "saturation": self.saturation,
                "grad_norm": self.grad_norm, "ms": self.ms}


@dataclass
class _ForwardState:
    x: torch.Tensor            # leaf (B, I_l)
    h_prev: torch.Tensor       # leaf (B, H)
    c_prev: torch.Tensor | None
    gi: torch.Tensor
    gh: torch.Tensor | None    # GRU only
    h: torch.Tensor
    c: torch.Tensor | None


@dataclass
class _BackwardState:
    grad_gi: torch.Tensor
    grad_gh: torch.Tensor
    restore: dict = field(default_factory=dict)   # accumulator key -> tensor before this step


class Runner:
    """Steps `module` over `inputs` cell by cell, then steps backprop through time."""

    def __init__(self, module, inputs, h0=None, *, head=None, loss: str = "sum", target=None,
                 spec: RNNSpec | None = None):
        self.module, self.head, self.loss_name, self.target, self.spec = module, head, loss, target, spec
        self.info = info = ModuleInfo.of(module)
        self._reference = next(module.parameters())
        self.inputs = inputs
        self.x = time_major_input(info, inputs, self._reference).detach()
        self.seq_len, self.batch_size = self.x.shape[0], self.x.shape[1]
        self._h0, self._c0 = initial_states(info, h0, self.batch_size, self._reference)
        L, D, T = info.num_layers, info.num_directions, self.seq_len
        forward = forward_schedule(L, D, T)
        self.schedule = forward + backward_schedule(forward)
        self.num_forward = len(forward)
        self._weights = {(l, d): layer_weights(module, l, d, info.is_cell) for l in range(L) for d in range(D)}
        self._operand_dicts = layer_operands(info, self.batch_size, self._head_features(), self._reference)
        self._operands = [[Operand(o["name"], tuple(o["shape"]), o["dtype"], o["device"]) for o in ops]
                          for ops in self._operand_dicts]
        self.equation = cell_equation(info.kind, info.activation)
        self.reset()

    @classmethod
    def from_spec(cls, spec: RNNSpec, progress=None) -> "Runner":
        return cls.from_built(build(spec, progress))

    @classmethod
    def from_built(cls, built: Built) -> "Runner":
        return cls(built.module, built.inputs, built.h0, head=built.head, loss=built.spec.loss,
                   target=built.target, spec=built.spec)

    def _head_features(self) -> int:
        return self.head.out_features if self.head is not None else 0

    # -- position ------------------------------------------------------------------------
    def reset(self) -> None:
        L, D, T, B, H = (self.info.num_layers, self.info.num_directions, self.seq_len, self.batch_size,
                         self.info.hidden_size)
        np_dtype = np.float64 if self._reference.dtype == torch.float64 else np.float32
        full = lambda *shape: np.full(shape, np.nan, dtype=np_dtype)  # noqa: E731
        self.position = 0
        self.records: list[StepRecord] = []
        self._record_dicts: list[dict] = []   # what snapshots carry, kept in step with `records`
        self._forward: dict[tuple, _ForwardState] = {}
        self._backward: dict[tuple, _BackwardState] = {}
        self._block_sums: dict[tuple, list] = {}
        self._grad_h: dict[tuple, torch.Tensor] = {}
        self._grad_c: dict[tuple, torch.Tensor] = {}
        self.loss: float | None = None
        self._head_grads: dict[str, torch.Tensor] = {}
        self._head_output = None
        self.hidden, self.hidden_grad = full(L, D, T, B, H), full(L, D, T, B, H)
        self.cell = full(L, D, T, B, H) if self.info.kind == "lstm" else None
        self.gates = {name: full(L, D, T, B, H) for name in {"rnn": "A", "gru": "RZN", "lstm": "IFGO"}[self.info.kind]}
        self.hidden_norm, self.grad_norm, self.saturation = full(L, D, T), full(L, D, T), full(L, D, T)
        self.whh_contrib, self.wih_contrib = full(L, D, T), full(L, D, T)
        self.step_ms = full(len(self.schedule))

    @property
    def done(self) -> bool:
        return self.position >= len(self.schedule)

    @property
    def phase(self) -> str:
        return "backward" if self.position > self.num_forward else "forward"

    def step(self) -> StepRecord | None:
        """Compute the next cell of the schedule; None at the end."""
        if self.done:
            return None
        cell = self.schedule[self.position]
        start = time.perf_counter()
        with torch.enable_grad():
            record = self._forward_cell(cell) if cell.phase == "forward" else self._backward_cell(cell)
        if self.position + 1 == self.num_forward:
            with torch.enable_grad():
                record.loss = self._form_loss()
        record.ms = (time.perf_counter() - start) * 1000.0
        self.step_ms[self.position] = record.ms
        self.records.append(record)
        self._record_dicts.append(record.as_dict())
        self.position += 1
        return record

    def back(self) -> None:
        """Undo the last step."""
        if self.position == 0:
            return
        self.position -= 1
        cell = self.schedule[self.position]
        self.records.pop()
        self._record_dicts.pop()
        self.step_ms[self.position] = np.nan
        key = (cell.layer, cell.direction, cell.t)
        if cell.phase == "forward":
            if self.position + 1 == self.num_forward:
                self._clear_loss()
            del self._forward[key]
            for array in (self.hidden, self.cell, *self.gates.values()):
                if array is not None:
                    array[key] = np.nan
            for array in (self.hidden_norm, self.saturation):
                array[key] = np.nan
        else:
            state = self._backward.pop(key)
            done = sum(1 for k in self._backward if k[:2] == key[:2])
            del self._block_sums.get(key[:2], [])[done // _BLOCK:]
            for acc_key, old in state.restore.items():
                store = self._grad_c if acc_key[0] == "c" else self._grad_h
                if old is None:
                    store.pop(acc_key[1], None)
                else:
                    store[acc_key[1]] = old
            for array in (self.hidden_grad, self.grad_norm, self.whh_contrib, self.wih_contrib):
                array[key] = np.nan

    def seek(self, position: int) -> None:
        position = max(0, min(int(position), len(self.schedule)))
        while self.position > position:
            self.back()
        while self.position < position:
            self.step()

    def run_forward(self) -> None:
        self.seek(max(self.position, self.num_forward))

    def run_to_end(self) -> None:
        self.seek(len(self.schedule))

    # -- forward -------------------------------------------------------------------------
    def _previous_position(self, direction: int, t: int) -> int | None:
        prev = t + 1 if direction else t - 1
        return prev if 0 <= prev < self.seq_len else None

    def _forward_cell(self, cell: Cell) -> StepRecord:
        l, d, t = cell.layer, cell.direction, cell.t
        w = self._weights[l, d]
        if l == 0:
            x = self.x[t]
        else:
            below = [self._forward[l - 1, dd, t].h for dd in range(self.info.num_directions)]
            x = (below[0] if len(below) == 1 else torch.cat(below, dim=-1)).detach().requires_grad_(True)
        prev = self._previous_position(d, t)
        h_prev = (self._h0[l][d] if prev is None else self._forward[l, d, prev].h).detach().requires_grad_(True)
        c_prev = None
        if self.info.kind == "lstm":
            c_prev = (self._c0[l][d] if prev is None else self._forward[l, d, prev].c).detach().requires_grad_(True)
        gi = input_projection(x, w)
        gh, c = None, None
        if self.info.kind == "rnn":
            h, gates = rnn_step(gi, h_prev, w, self.info.nonlinearity)
        elif self.info.kind == "gru":
            h, gates, gh = gru_step(gi, h_prev, w)
        else:
            h, c, gates = lstm_step(gi, h_prev, c_prev, w)
        self._forward[l, d, t] = _ForwardState(x, h_prev, c_prev, gi, gh, h, c)
        key = (l, d, t)
        self.hidden[key] = h.detach().cpu().numpy()
        if c is not None:
            self.cell[key] = c.detach().cpu().numpy()
        for name, value in gates.items():
            self.gates[name][key] = value.detach().cpu().numpy()
        with torch.no_grad():
            h_norm = float(torch.linalg.vector_norm(h))
            sat = float(saturation(h, self.info.activation))
        self.hidden_norm[key], self.saturation[key] = h_norm, sat
        return StepRecord(cell, self._operands[l], self.equation, h_norm, sat)

    def _top_output(self) -> torch.Tensor:
        top = self.info.num_layers - 1
        per_dir = [torch.stack([self._forward[top, d, t].h for t in range(self.seq_len)])
                   for d in range(self.info.num_directions)]
        return per_dir[0] if len(per_dir) == 1 else torch.cat(per_dir, dim=-1)  # (T, B, D*H)

    def _form_loss(self) -> float:
        """The loss on the finished forward pass, and its direct gradient at each top-layer H_t."""
        out = self._top_output().detach().requires_grad_(True)
        head_params = list(self.head.named_parameters()) if self.head is not None else []
        result = self.head(out) if self.head is not None else out
        loss = compute_loss(self.loss_name, result, self.target)
        grads = torch.autograd.grad(loss, [out] + [p for _, p in head_params], allow_unused=True)
        self._head_output = result.detach()
        self._head_grads = {f"head.{n}": (torch.zeros_like(p) if g is None else g)
                            for (n, p), g in zip(head_params, grads[1:])}
        direct = grads[0] if grads[0] is not None else torch.zeros_like(out)
        top, H = self.info.num_layers - 1, self.info.hidden_size
        for d in range(self.info.num_directions):
            for t in range(self.seq_len):
                self._grad_h[top, d, t] = direct[t, :, d * H:(d + 1) * H]
        self.loss = float(loss.detach())
        return self.loss

    def _clear_loss(self) -> None:
        self.loss, self._head_output, self._head_grads = None, None, {}
        self._grad_h.clear()
        self._grad_c.clear()
        self._block_sums.clear()

    # -- backward ------------------------------------------------------------------------
    def _accumulate(self, state: _BackwardState, store: dict, tag: str, key: tuple, value: torch.Tensor) -> None:
        old = store.get(key)
        state.restore.setdefault((tag, key), old)
        store[key] = value if old is None else old + value

    def _backward_cell(self, cell: Cell) -> StepRecord:
        l, d, t = cell.layer, cell.direction, cell.t
        key = (l, d, t)
        fwd = self._forward[key]
        zeros = torch.zeros_like(fwd.h)
        grad_h = self._grad_h.get(key, zeros)
        outputs, grad_outputs = [fwd.h], [grad_h]
        if fwd.c is not None:
            outputs.append(fwd.c)
            grad_outputs.append(self._grad_c.get(key, zeros))
        wanted = [fwd.gi, fwd.h_prev] + ([fwd.gh] if fwd.gh is not None else [])
        wanted += [fwd.c_prev] if fwd.c_prev is not None else []
        wanted += [fwd.x] if l > 0 else []
        grads = list(torch.autograd.grad(outputs, wanted, grad_outputs, retain_graph=True, allow_unused=True))
        grads = [torch.zeros_like(w) if g is None else g for w, g in zip(wanted, grads)]
        grad_gi, grad_h_prev = grads[0], grads[1]
        rest = grads[2:]
        grad_gh = rest.pop(0) if fwd.gh is not None else grad_gi
        state = _BackwardState(grad_gi.detach(), grad_gh.detach())
        prev = self._previous_position(d, t)
        if prev is not None:
            self._accumulate(state, self._grad_h, "h", (l, d, prev), grad_h_prev)
        grad_c_prev = rest.pop(0) if fwd.c_prev is not None else None
        if prev is not None and grad_c_prev is not None:
            self._accumulate(state, self._grad_c, "c", (l, d, prev), grad_c_prev)
        if l > 0:
            grad_x, H = rest.pop(0), self.info.hidden_size
            for dd in range(self.info.num_directions):
                self._accumulate(state, self._grad_h, "h", (l - 1, dd, t), grad_x[:, dd * H:(dd + 1) * H])
        self._backward[key] = state
        with torch.no_grad():
            grad_norm = float(torch.linalg.vector_norm(grad_h))
            whh = float(contribution_norm(gram(state.grad_gh), gram(fwd.h_prev.detach())))
            wih = float(contribution_norm(gram(state.grad_gi), gram(fwd.x.detach())))
        self.hidden_grad[key] = grad_h.detach().cpu().numpy()
        self.grad_norm[key], self.whh_contrib[key], self.wih_contrib[key] = grad_norm, whh, wih
        return StepRecord(cell, self._operands[l], self.equation, float(self.hidden_norm[key]),
                          float(self.saturation[key]), grad_norm, whh, wih)

    # -- results -------------------------------------------------------------------------
    def _weight_grad_sum(self, keys: list, w) -> dict[str, torch.Tensor]:
        """The weight and bias gradient terms of the backward cells `keys`, summed in one batch."""
        grad_gi = torch.cat([self._backward[k].grad_gi for k in keys])
        grad_gh = torch.cat([self._backward[k].grad_gh for k in keys])
        sums = {"weight_ih": grad_gi.T @ torch.cat([self._forward[k].x.detach() for k in keys]),
                "weight_hh": grad_gh.T @ torch.cat([self._forward[k].h_prev.detach() for k in keys])}
        if w.bias_ih is not None:
            sums["bias_ih"], sums["bias_hh"] = grad_gi.sum(0), grad_gh.sum(0)
        return sums

    @torch.no_grad()
    def param_grads(self) -> dict[str, np.ndarray]:
        """dL/dparam summed over the backward cells done so far (all of them: equal to .grad of loss.backward()).

        Full blocks of _BLOCK cells are summed once and cached, so a long backward run does not
        redo every cell per call; the result depends only on which cells are done, so going back
        and stepping again gives the very same numbers.
        """
        result = {}
        for (l, d), w in self._weights.items():
            done = [key for key in self._backward if key[:2] == (l, d)]
            blocks = self._block_sums.setdefault((l, d), [])  # back() drops the blocks it reopens
            full = len(done) // _BLOCK
            while len(blocks) < full:
                start = len(blocks) * _BLOCK
                blocks.append(self._weight_grad_sum(done[start:start + _BLOCK], w))
            parts = blocks + ([self._weight_grad_sum(done[full * _BLOCK:], w)] if len(done) > full * _BLOCK else [])
            for role in ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if w.bias_ih is not None else ()):
                value = torch.zeros_like(getattr(w, role))
                for part in parts:
                    value = value + part[role]
                result[w.names[role]] = value.cpu().numpy()
        ordered = {name: result[name] for name, _ in self.module.named_parameters()}
        for name, grad in self._head_grads.items():
            ordered[name] = grad.cpu().numpy()
        return ordered

    def snapshot(self, copy: bool = False) -> Trace:
        """The arrays so far (NaN where not computed yet); views of the runner's own unless `copy`."""
        take = (lambda a: None if a is None else a.copy()) if copy else (lambda a: a)  # noqa: E731
        finished = self.position >= self.num_forward
        output = h_n = c_n = None
        if finished:
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
        as_np = lambda t: None if t is None else t.detach().cpu().numpy()  # noqa: E731
        return Trace(
            kind=self.info.kind, is_cell=self.info.is_cell, nonlinearity=self.info.activation,
            batch_first=self.info.batch_first, inputs=as_np(self.inputs),
            output=as_np(output) if output is not None else np.full(0, np.nan),
            hidden=take(self.hidden), hidden_grad=take(self.hidden_grad), h_n=as_np(h_n), c_n=as_np(c_n),
            cell=take(self.cell), gates={k: take(v) for k, v in self.gates.items()},
            head_output=as_np(self._head_output), hidden_norm=take(self.hidden_norm), grad_norm=take(self.grad_norm),
            saturation=take(self.saturation), whh_grad_contrib_norm=take(self.whh_contrib),
            wih_grad_contrib_norm=take(self.wih_contrib), step_ms=take(self.step_ms),
            loss=float("nan") if self.loss is None else self.loss, loss_name=self.loss_name,
            param_grads=self.param_grads() if self.position > self.num_forward else {},
            records=list(self._record_dicts) if copy else self._record_dicts, spec=self.spec,
            device=str(self._reference.device), operands=self._operand_dicts,
            equation=self.equation,
        )
