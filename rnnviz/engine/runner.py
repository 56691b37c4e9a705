"""The step-through runner: one cell at a time, forward and then back through time.

Each forward cell runs the cell equation on the module's own parameters with its inputs cut
from the graph (leaves), so each backward cell is one real ``torch.autograd.grad`` through that
cell alone: it takes the cell's total dL/dH_t (and dL/dC_t), and hands dL/dH_{t-1} back along
the chain and dL/dX_t down to the layer below. Going back one step restores what that step
changed; nothing is recomputed.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from .build import Built, build, compute_loss
from .cells import ModuleInfo, gru_step, input_projection, layer_weights, lstm_step, rnn_step, saturation
from .inputs import initial_states, time_major_input
from . import whatif
from .preflight import check_shapes
from .memory import check as check_memory
from .memory import estimate_module
from .operands import equation as cell_equation
from .param_grads import WeightGradSums
from .record import layer_operands
from .run_arrays import RunArrays
from .schedule import Cell, StepRecord, backward_schedule, forward_schedule, new_run_id
from .spec import RNNSpec
from .summaries import product_norms
from .trace import Trace

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


class Runner(RunArrays):
    """Steps `module` over `inputs` cell by cell, then steps backprop through time."""

    replays = False

    def __init__(self, module, inputs, h0=None, *, head=None, loss: str = "sum", target=None,
                 spec: RNNSpec | None = None, memory_budget=None):
        self.module, self.head, self.loss_name, self.target, self.spec = module, head, loss, target, spec
        self.info = info = ModuleInfo.of(module)
        if isinstance(inputs, torch.Tensor):  # every shape problem named, with the layout, before anything runs
            check_shapes(module, inputs, h0)
        self._reference = next(module.parameters())
        self.inputs = inputs
        self.x = time_major_input(info, inputs, self._reference).detach()
        needed = estimate_module(info, inputs, getattr(head, "out_features", 0) if head is not None else 0, stepping=True)
        check_memory(needed, memory_budget, what=f"stepping through this {info.kind} (seq_len {self.x.shape[0]}, "
                     f"batch {self.x.shape[1]}, hidden {info.hidden_size}, layers {info.num_layers})")
        self.seq_len, self.batch_size = self.x.shape[0], self.x.shape[1]
        self._h0, self._c0 = initial_states(info, h0, self.batch_size, self._reference)
        L, D, T = info.num_layers, info.num_directions, self.seq_len
        forward = forward_schedule(L, D, T)
        self.schedule = forward + backward_schedule(forward)
        self.num_forward = len(forward)
        self._weights = {(l, d): layer_weights(module, l, d, info.is_cell) for l in range(L) for d in range(D)}
        self._operands = layer_operands(info, self.batch_size, self._head_features(), self._reference)
        self.equation = cell_equation(info.kind, info.activation)
        self.run_id, self.label = new_run_id(), ""   # label: how the window names this run ("" = by its spec)
        self.version = 0    # bumped by every change a snapshot would show: redraws compare it, not arrays
        self.edits: list = []            # what-if edits (whatif.Edit), applied whenever their cell is computed
        self._h_edits: dict[tuple, list] = {}
        self._x_edits: dict[tuple, list] = {}
        self._original = None
        self.reset()

    @classmethod
    def from_spec(cls, spec: RNNSpec, memory_budget=None, progress=None) -> "Runner":
        return cls.from_built(build(spec, memory_budget=memory_budget, progress=progress), memory_budget=memory_budget)

    @classmethod
    def from_built(cls, built: Built, memory_budget=None) -> "Runner":
        return cls(built.module, built.inputs, built.h0, head=built.head, loss=built.spec.loss,
                   target=built.target, spec=built.spec, memory_budget=memory_budget)

    @property
    def initial_states(self):
        """(h0, c0) as the cells read them, each [layer][direction] -> (B, H); c0 None unless LSTM."""
        return self._h0, self._c0

    def _head_features(self) -> int:
        return self.head.out_features if self.head is not None else 0

    # -- position ------------------------------------------------------------------------
    def reset(self) -> None:
        self.position = 0
        self.records: list[StepRecord] = []
        self.version += 1
        self._forward: dict[tuple, _ForwardState] = {}
        self._backward: dict[tuple, _BackwardState] = {}
        self._done: dict[tuple, list] = {}       # (layer, direction) -> its backward cells done, in order
        self._weight_sums = WeightGradSums()
        self._outputs = None                     # (output, h_n, c_n) as numpy once the forward pass is done
        self._param_grads = None                 # (version, param_grads()) last computed
        self._grad_h: dict[tuple, torch.Tensor] = {}
        self._grad_c: dict[tuple, torch.Tensor] = {}
        self.loss: float | None = None
        self._head_grads: dict[str, torch.Tensor] = {}
        self._head_output = None
        self._direct = None
        self._reset_arrays()

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
        self.position += 1
        self.version += 1
        return record

    def back(self) -> None:
        """Undo the last step."""
        if self.position == 0:
            return
        self.position -= 1
        cell = self.schedule[self.position]
        self.records.pop()
        self.version += 1
        self.step_ms[self.position] = np.nan
        key = (cell.layer, cell.direction, cell.t)
        if cell.phase == "forward":
            if self.position + 1 == self.num_forward:
                self._clear_loss()
            self._outputs = None
            del self._forward[key]
            for array in (self.hidden, self.cell, *self.gates.values()):
                if array is not None:
                    array[key] = np.nan
            for array in (self.hidden_norm, self.saturation):
                array[key] = np.nan
        else:
            state = self._backward.pop(key)
            done = self._done[key[:2]]
            done.pop()  # backward cells are undone last first: this one is the layer's last
            self._weight_sums.undone(key[:2], len(done))
            for acc_key, old in state.restore.items():
                store = self._grad_c if acc_key[0] == "c" else self._grad_h
                if old is None:
                    store.pop(acc_key[1], None)
                else:
                    store[acc_key[1]] = old
            for array in (self.hidden_grad, self.grad_norm, self.whh_contrib, self.wih_contrib):
                array[key] = np.nan

    def record_at(self, index: int) -> StepRecord:
        return self.records[index]

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

    def run_until(self, condition=None, until: int | None = None):
        """Step forward (and on through the backward pass) until `condition` holds at the cell just
        done: a breakpoints.Condition or a list of them (default: the NaN/Inf sentinel). Returns the
        breakpoints.Hit naming where and why, or None when `until` (default: the end) came first."""
        from .breakpoints import run_until

        return run_until(self, condition, until)

    # -- what-if ------------------------------------------------------------------------
    def edit(self, t: int, index: int, value: float = 0.0, *, layer: int = 0, target: str = "h", op: str = "set",
             direction: int = 0, batch: int | None = None):
        """Change unit `index` of H_t (target 'h') or feature `index` of the input X_t (target 'x') and
        recompute from there: the run is left just after the edited cell (before it, for an input not
        reached yet), so stepping on continues the edited run. Returns the whatif.Edit."""
        edit = whatif.Edit(int(t), int(index), target, op, float(value), int(layer), int(direction),
                           None if batch is None else int(batch))
        width = self.info.hidden_size if target == "h" else self.info.input_size
        whatif.check_edit(edit, self.info.num_layers, self.info.num_directions, self.seq_len, self.batch_size, width)
        self.original()  # the unedited run, kept to compare against
        if target == "h":
            self._h_edits.setdefault((edit.layer, edit.direction, edit.t), []).append(edit)
            cells = [self.schedule.index(Cell("forward", edit.layer, edit.direction, edit.t))]
        else:
            self._x_edits.setdefault(edit.t, []).append(edit)
            cells = [self.schedule.index(Cell("forward", 0, d, edit.t)) for d in range(self.info.num_directions)]
        self.edits.append(edit)
        first = min(cells)
        if self.position > first:  # computed already: redo it with the edit, and stop right after it
            self.seek(first)
            self.step()
        return edit

    def undo_edits(self) -> None:
        """Drop every edit and recompute the original run up to the current position."""
        if not self.edits:
            return
        position = self.position
        self.reset()
        self.edits, self._h_edits, self._x_edits = [], {}, {}
        self.seek(position)

    def original(self) -> Trace:
        """The whole unedited run (forward and backward), stepped once on first use by a runner of its
        own: the same arithmetic cell by cell, so before an edit the two runs are bit-identical."""
        if self._original is None:
            from .proof import initial_state

            clean = Runner(self.module, self.inputs, initial_state(self), head=self.head, loss=self.loss_name,
                           target=self.target, spec=self.spec)
            clean.run_to_end()
            self._original = clean.snapshot(copy=True)
        return self._original

    # -- forward -------------------------------------------------------------------------
    def _previous_position(self, direction: int, t: int) -> int | None:
        prev = t + 1 if direction else t - 1
        return prev if 0 <= prev < self.seq_len else None

    def _forward_cell(self, cell: Cell) -> StepRecord:
        l, d, t = cell.layer, cell.direction, cell.t
        w = self._weights[l, d]
        if l == 0:
            x = self.x[t]
            if self._x_edits.get(t):  # the input is shared: every direction reads the edited X_t
                x = whatif.apply(x, self._x_edits[t])
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
        if self._h_edits.get((l, d, t)):
            h = whatif.apply(h, self._h_edits[l, d, t])
        self._forward[l, d, t] = _ForwardState(x, h_prev, c_prev, gi, gh, h, c)
        self._outputs = None
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
        self._direct = direct.detach()  # (T, B, D*H): the loss's own term of each top-layer dL/dh_t
        top, H = self.info.num_layers - 1, self.info.hidden_size
        for d in range(self.info.num_directions):
            for t in range(self.seq_len):
                self._grad_h[top, d, t] = direct[t, :, d * H:(d + 1) * H]
        self.loss = float(loss.detach())
        return self.loss

    def _clear_loss(self) -> None:
        self.loss, self._head_output, self._head_grads = None, None, {}
        self._direct = None
        self._grad_h.clear()
        self._grad_c.clear()
        self._weight_sums.clear()

    def _direct_grads(self) -> torch.Tensor:
        """dL/d(out[t]) with every later state held fixed, (T, B, D*H): what the loss itself puts on
        each top-layer h_t (the fused module's out.grad). Needs the forward pass done."""
        if self._direct is None:
            raise ValueError("the loss exists only after the forward pass: step to its end first")
        return self._direct

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
        self._done.setdefault((l, d), []).append(key)
        with torch.no_grad():
            grad_norm = float(torch.linalg.vector_norm(grad_h))
            whh = float(product_norms(state.grad_gh.unsqueeze(0), fwd.h_prev.detach().unsqueeze(0))[0])
            wih = float(product_norms(state.grad_gi.unsqueeze(0), fwd.x.detach().unsqueeze(0))[0])
        self.hidden_grad[key] = grad_h.detach().cpu().numpy()
        self.grad_norm[key], self.whh_contrib[key], self.wih_contrib[key] = grad_norm, whh, wih
        return StepRecord(cell, self._operands[l], self.equation, float(self.hidden_norm[key]),
                          float(self.saturation[key]), grad_norm, whh, wih)

    # -- results -------------------------------------------------------------------------
    @torch.no_grad()
    def param_grads(self) -> dict[str, np.ndarray]:
        """dL/dparam summed over the backward cells done so far (all of them: equal to .grad of loss.backward()).

        The recurrent weights' sums come from engine/param_grads.WeightGradSums (cached blocks of
        cells; the same numbers whichever way the position got here); the head's are added here.
        """
        if self._param_grads is not None and self._param_grads[0] == self.version:
            return dict(self._param_grads[1])  # every frame of one version asks again
        result = self._weight_sums.sums(self._weights, self._done, self._forward, self._backward)
        ordered = {name: result[name] for name, _ in self.module.named_parameters()}
        for name, grad in self._head_grads.items():
            ordered[name] = grad.cpu().numpy()
        self._param_grads = (self.version, ordered)
        return dict(ordered)
