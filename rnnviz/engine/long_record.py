"""record() of a run too large for the memory budget: the same numbers, with the large arrays on disk.

Each layer and direction runs forward in time chunks (bptt.layer_forward from the state the last
chunk ended in), writing every h_t, C_t and gate to the run's Spool. The loss and its gradient are
taken chunk by chunk (every named loss is a sum over timesteps). BPTT then walks each layer's
chunks in reverse order of the recursion, reading the forward's values back, and hands the chunk
boundary on exactly: bptt's own recurrence for the state the chunk ends in (dL/dH from the later
chunk's gate gradients, plus Z·dL/dH for the GRU) is added to that timestep's incoming gradient,
and an LSTM's dL/dC arrives as grad_c_n. Weight gradients are the sums of the chunks' products;
dL/dX of a chunk goes to the spooled gradient of the layer below. Memory stays one chunk of
work, the per-timestep norms, the overview (every R-th timestep of each large array) and the weights.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .bptt import GATE_WIDTH, LayerForward, layer_backward, layer_forward, weight_grads
from .build import SpecError
from .cells import ModuleInfo, layer_weights
from .memory import SpoolPlan, format_bytes
from .names import GATE_NAMES
from .spool import Spool
from .summaries import batch_norms, layer_contribution_norms, saturation
from .storage import SpooledStorage


def chunk_loss(loss: str, out: torch.Tensor, target, start: int, seq_len: int) -> torch.Tensor:
    """The part of build.compute_loss's value that timesteps start..start+len(out) contribute;
    summed over chunks it is the whole loss (means divide by the whole run's count)."""
    if loss == "sum":
        return out.sum()
    if loss == "last":
        return out[-1].sum() if start + out.shape[0] == seq_len else out.sum() * 0
    if target is None:
        raise SpecError(f"loss {loss!r} needs a target")
    part = target[start:start + out.shape[0]]
    if loss == "mse":
        return F.mse_loss(out, part, reduction="sum") / (seq_len * out[0].numel())
    if loss == "char_ce":
        count = int((target != -100).sum())
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), part.reshape(-1), reduction="sum") / max(count, 1)
    raise SpecError(f"loss must be one of sum, last, mse, char_ce, got {loss!r}")


def _chunks(T: int, size: int, descending: bool) -> list[tuple[int, int]]:
    spans = [(s, min(s + size, T)) for s in range(0, T, size)]
    return spans[::-1] if descending else spans


class _Recording:
    """One chunked record: the spool, its writers, and the per-timestep numbers kept in memory."""

    def __init__(self, module, info: ModuleInfo, x, h0s, c0s, plan: SpoolPlan, progress=None):
        self.module, self.info, self.x, self.h0s, self.c0s, self.plan = module, info, x, h0s, c0s, plan
        self.progress, self.done = progress, 0
        L, D, H = info.num_layers, info.num_directions, info.hidden_size
        T, B = x.shape[0], x.shape[1]
        self.L, self.D, self.T, self.B, self.H = L, D, T, B, H
        self.G = GATE_WIDTH[info.kind] * H
        self.dtype = np.dtype(str(x.dtype).removeprefix("torch."))
        self.spool = Spool(plan.disk, what=f"recording this {info.kind} (seq_len {T}, batch {B}, hidden {H})")
        grid = (L, D, T, B)
        self.files = {"hidden": self.spool.create("hidden", (*grid, H), self.dtype, 2),
                      "hidden_grad": self.spool.create("hidden_grad", (*grid, H), self.dtype, 2),
                      "work": self.spool.create("work", (*grid, self.G), self.dtype, 2)}
        if info.kind == "lstm":
            self.files["cell"] = self.spool.create("cell", (*grid, H), self.dtype, 2)
        if info.kind == "gru":   # H_{t-1} W_hn^T + b_hn: the GRU backward reads it; not part of the trace
            self.files["hidden_n"] = self.spool.create("hidden_n", (*grid, H), self.dtype, 2)
        if D > 1:
            self.files["output"] = self.spool.create("output", (T, B, D * H), self.dtype, 0)
        step = plan.overview_step
        self.overview_times = np.arange(0, T, step)
        self.overview = {name: np.full((L, D, len(self.overview_times), B, f.shape[-1]), np.nan, dtype=self.dtype)
                         for name, f in self.files.items() if name in ("hidden", "hidden_grad", "work", "cell")}
        per_step = {"dtype": np.float64}
        self.norms = {name: np.full((L, D, T), np.nan, **per_step) for name in
                      ("hidden_norm", "grad_norm", "saturation", "whh_grad_contrib_norm", "wih_grad_contrib_norm")}
        self.bad = {name: np.zeros((L, D, T), dtype=bool) for name in ("hidden", "hidden_grad", "cell")}

    def tick(self, what: str) -> None:
        """One chunk done: `progress(done, total, what)` may raise (Cancelled) to stop the recording."""
        self.done += 1
        if self.progress is not None:
            chunks = -(-self.T // self.plan.chunk)
            self.progress(self.done, (2 * self.L * self.D + 1) * chunks, what)

    # -- disk ------------------------------------------------------------------------------
    def read(self, name: str, lead: tuple, start: int, stop: int) -> torch.Tensor:
        spool_array = self.files[name]
        out = np.empty((stop - start, *spool_array.shape[spool_array.time_axis + 1:]), dtype=self.dtype)
        return torch.from_numpy(spool_array.read(lead, start, out)).to(self.x.device)

    def write(self, name: str, lead: tuple, start: int, values: torch.Tensor) -> None:
        values = values.detach().cpu()
        self.files[name].write(lead, start, values.numpy())
        if name in self.overview:
            first = -(-start // self.plan.overview_step) * self.plan.overview_step
            rows = np.arange(first, start + values.shape[0], self.plan.overview_step)
            if rows.size:
                self.overview[name][lead[0], lead[1], rows // self.plan.overview_step] = values[rows - start].numpy()
        if name in self.bad:
            flat = values.reshape(values.shape[0], -1)
            self.bad[name][lead[0], lead[1], start:start + values.shape[0]] = (~torch.isfinite(flat).all(dim=1)).numpy()

    def layer_input(self, layer: int, start: int, stop: int) -> torch.Tensor:
        if layer == 0:
            return self.x[start:stop]
        parts = [self.read("hidden", (layer - 1, d), start, stop) for d in range(self.D)]
        return parts[0] if self.D == 1 else torch.cat(parts, dim=-1)

    def state_before(self, name: str, layer: int, d: int, start: int, stop: int, initial):
        """The state the chunk's first position in the recursion read: its neighbour's, or the initial one."""
        t = start - 1 if d == 0 else stop
        if 0 <= t < self.T:
            return self.read(name, (layer, d), t, t + 1)[0]
        return initial

    # -- passes ----------------------------------------------------------------------------
    def forward(self):
        info, chunk = self.info, self.plan.chunk
        h_n, c_n = [], []
        for layer in range(self.L):
            for d in range(self.D):
                w = layer_weights(self.module, layer, d, info.is_cell)
                h, c = self.h0s[layer][d], None if self.c0s is None else self.c0s[layer][d]
                for start, stop in _chunks(self.T, chunk, descending=bool(d)):
                    run = layer_forward(info.kind, self.layer_input(layer, start, stop), h, c, w,
                                        info.nonlinearity, bool(d))
                    h, c = run.h_n, run.c_n
                    lead = (layer, d)
                    self.write("hidden", lead, start, run.hidden)
                    self.write("work", lead, start, run.work)
                    if run.cell is not None:
                        self.write("cell", lead, start, run.cell)
                    if run.hidden_n is not None:
                        self.write("hidden_n", lead, start, run.hidden_n)
                    self.norms["hidden_norm"][layer, d, start:stop] = batch_norms(run.hidden).cpu().numpy()
                    self.norms["saturation"][layer, d, start:stop] = saturation(run.hidden, info.activation).cpu().numpy()
                    del run
                    self.tick(f"recording to disk: forward, layer {layer}")
                h_n.append(h)
                c_n.append(c)
        return h_n, c_n if info.kind == "lstm" else None

    def loss(self, head, loss: str, target):
        """The loss and, chunk by chunk, its gradient into the top layer's spooled dL/dH (and the head's)."""
        L, D, H = self.L, self.D, self.H
        head_named = [(f"head.{n}", p) for n, p in head.named_parameters()] if head is not None else []
        head_grads = {name: torch.zeros_like(p) for name, p in head_named}
        head_output = None
        total = torch.zeros((), dtype=torch.float64)
        for start, stop in _chunks(self.T, self.plan.chunk, descending=False):
            out = self.layer_input(L, start, stop)   # the top layer's output, time-major
            if D > 1:
                self.write("output", (), start, out)
            with torch.enable_grad():
                leaf = out.detach().requires_grad_(True)
                y = head(leaf) if head is not None else leaf
                value = chunk_loss(loss, y, target, start, self.T)
                grads = torch.autograd.grad(value, [leaf] + [p for _, p in head_named], allow_unused=True)
            total += value.detach().double().cpu()
            for (name, _), g in zip(head_named, grads[1:]):
                if g is not None:
                    head_grads[name] += g
            if head is not None:
                if head_output is None:
                    head_output = torch.empty(self.T, *y.shape[1:], dtype=y.dtype, device=y.device)
                head_output[start:stop] = y.detach()
            external = torch.zeros_like(leaf) if grads[0] is None else grads[0]
            for d in range(D):
                self.write("hidden_grad", (L - 1, d), start, external[..., d * H:(d + 1) * H])
            self.tick("recording to disk: loss")
        return float(total), head_output, head_grads

    def backward(self) -> dict:
        info, chunk, H = self.info, self.plan.chunk, self.H
        grads = {}
        for layer in range(self.L - 1, -1, -1):
            for d in range(self.D):
                w = layer_weights(self.module, layer, d, info.is_cell)
                h0 = self.h0s[layer][d]
                c0 = None if self.c0s is None else self.c0s[layer][d]
                carry_h = carry_c = None
                for start, stop in _chunks(self.T, chunk, descending=not d):
                    lead, n = (layer, d), stop - start
                    run = LayerForward(
                        info.kind, info.nonlinearity, bool(d), self.layer_input(layer, start, stop),
                        self.state_before("hidden", layer, d, start, stop, h0),
                        None if c0 is None else self.state_before("cell", layer, d, start, stop, c0),
                        self.read("hidden", lead, start, stop),
                        self.read("cell", lead, start, stop) if c0 is not None else None, {},
                        self.read("work", lead, start, stop),
                        self.read("hidden_n", lead, start, stop) if info.kind == "gru" else None, None, None)
                    external = self.read("hidden_grad", lead, start, stop)
                    last, first = (n - 1, 0) if d == 0 else (0, n - 1)   # in the recursion's order
                    if carry_h is not None:
                        external[last] += carry_h
                    back = layer_backward(run, external, w, in_place=True, grad_c_n=carry_c)
                    # what the chunk's first position hands the state before it, exactly as bptt's loop does
                    carry_h = back.grad_gh[first] @ w.weight_hh
                    if info.kind == "gru":
                        carry_h.addcmul_(run.work[first, :, H:2 * H], back.hidden_grad[first])
                    carry_c = back.grad_c0
                    for name, value in weight_grads(run, back, w).items():
                        grads[name] = value if name not in grads else grads[name].add_(value)
                    whh, wih = layer_contribution_norms(back.grad_gh, back.grad_gi, run.hidden, run.h0, run.reverse, run.x)
                    self.norms["whh_grad_contrib_norm"][layer, d, start:stop] = whh.cpu().numpy()
                    self.norms["wih_grad_contrib_norm"][layer, d, start:stop] = wih.cpu().numpy()
                    self.norms["grad_norm"][layer, d, start:stop] = batch_norms(back.hidden_grad).cpu().numpy()
                    self.write("hidden_grad", lead, start, back.hidden_grad)
                    if layer > 0:
                        self._to_layer_below(layer, d, start, back.grad_gi, w)
                    del run, back
                    self.tick(f"recording to disk: backward, layer {layer}")
        return grads

    def _to_layer_below(self, layer: int, d: int, start: int, grad_gi: torch.Tensor, w) -> None:
        """dL/dX of this chunk, split over the layer below's directions, into their incoming gradients
        (the second direction adds to what the first wrote)."""
        n, H = grad_gi.shape[0], self.H
        flat = grad_gi.reshape(n * self.B, -1)
        for below in range(self.D):
            part = (flat @ w.weight_ih[:, below * H:(below + 1) * H]).view(n, self.B, H)
            if d > 0:
                part += self.read("hidden_grad", (layer - 1, below), start, start + n)
            self.write("hidden_grad", (layer - 1, below), start, part)


@torch.no_grad()
def record_spooled(module, info: ModuleInfo, x, h0s, c0s, head, loss: str, target, plan: SpoolPlan, progress=None):
    """The run of `module` on time-major `x`, recorded to disk as planned: (arrays, SpooledStorage,
    loss, head_output, param_grads, h_n, c_n, norms) for record._record_torch to make its Trace of.
    `progress(done, total, what)` is called after every chunk and may raise to cancel (files deleted)."""
    rec = _Recording(module, info, x, h0s, c0s, plan, progress)
    try:
        h_n, c_n = rec.forward()
        value, head_output, head_grads = rec.loss(head, loss, target)
        grads = rec.backward()
    except BaseException:
        rec.spool.close()
        raise
    param_grads = {name: grads[name] for name, _ in module.named_parameters()}
    param_grads.update(head_grads)
    files = rec.spool.finish()
    H = info.hidden_size
    gates = {name: files["work"][..., k * H:(k + 1) * H] for k, name in enumerate(GATE_NAMES[info.kind])}
    overview_gates = {name: rec.overview["work"][..., k * H:(k + 1) * H] for k, name in enumerate(GATE_NAMES[info.kind])}
    storage = SpooledStorage(
        spool=rec.spool, chunk=plan.chunk, overview_step=plan.overview_step, overview_times=rec.overview_times,
        overview={"hidden": rec.overview["hidden"], "hidden_grad": rec.overview["hidden_grad"],
                  "cell": rec.overview.get("cell"), "gates": overview_gates},
        bad=rec.bad, estimate=plan.needed)
    output = files["output"] if "output" in files else files["hidden"][info.num_layers - 1, 0]
    return {"hidden": files["hidden"], "hidden_grad": files["hidden_grad"], "cell": files.get("cell"),
            "gates": gates, "output": output}, storage, value, head_output, param_grads, h_n, c_n, rec.norms


def describe_storage(storage: SpooledStorage) -> str:
    return (f"recorded to disk ({format_bytes(storage.spool.nbytes)}, in chunks of {storage.chunk} timesteps; "
            f"overview every {storage.overview_step} timesteps)")
