"""`rnnviz.watch(model)`: record every recurrent part of a user's model during their own step.

    with rnnviz.watch(model) as w:
        out = model(x); loss = crit(out, y); loss.backward()
    w.traces   # {"rnn": Trace, "encoder.lstm": Trace, ...}

For the duration of the block each nn.RNN/GRU/LSTM inside `model` is run by the engine
(layer_function.RecurrentCall, on the module's own parameters), and each RNNCell/GRUCell/LSTMCell
is observed by hooks: a forward hook sees every call (one call = one timestep) and tensor hooks on
its outputs catch the total dL/dh_t when the user's backward runs. The user's code, loss and
optimizer are untouched; the gradients that reach the parameters are the module's own.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from .cells import module_kind
from .layer_function import CallConfig, CallResult, RecurrentCall
from .parts import SEQUENCE_TYPES, recurrent_parts


@dataclass
class ModuleCall:
    """One call of an nn.RNN/GRU/LSTM: what went in and out, and the engine's CallResult."""

    module: nn.Module
    cfg: CallConfig
    result: CallResult
    x: torch.Tensor               # (T, B, I) time-major, sorted when packed, detached
    inputs: torch.Tensor          # the input in the module's layout (padded when packed), detached
    output: torch.Tensor          # the output in the module's layout (padded when packed)
    h_n: torch.Tensor
    c_n: torch.Tensor | None
    batch_first: bool
    unbatched: bool
    lengths: torch.Tensor | None = None            # packed: (B,) in the caller's batch order
    unsorted_indices: torch.Tensor | None = None
    notes: list[str] = field(default_factory=list)
    h0: torch.Tensor | None = None                 # (L*D, B, P) the state it started from, caller's batch order
    c0: torch.Tensor | None = None                 # (L*D, B, H), LSTM


@dataclass
class CellSteps:
    """The calls of one RNNCell/GRUCell/LSTMCell, one per timestep."""

    module: nn.Module
    x: list = field(default_factory=list)          # (B, I) per call, detached
    h_prev: list = field(default_factory=list)
    c_prev: list = field(default_factory=list)
    h: list = field(default_factory=list)
    c: list = field(default_factory=list)
    h_grad: dict = field(default_factory=dict)     # t -> total dL/dh_t, filled by tensor hooks
    c_grad: dict = field(default_factory=dict)
    unbatched: bool = False


class Watch:
    """The context manager behind rnnviz.watch; `traces` is read after the user's backward."""

    def __init__(self, model: nn.Module):
        if not isinstance(model, nn.Module):
            raise TypeError(f"rnnviz.watch takes a torch nn.Module, got {type(model).__name__}")
        self.model = model
        self.parts = recurrent_parts(model)
        self.calls: list[tuple[str, ModuleCall]] = []
        self.cells: dict[str, CellSteps] = {}
        self.backward_seen = False
        self._undo: list = []
        self._changes = 0                 # bumped by every call and every gradient seen
        self._cached: tuple | None = None  # (changes, traces)

    def __enter__(self) -> "Watch":
        for path, module in self.parts:
            name = path or type(module).__name__
            if isinstance(module, SEQUENCE_TYPES):
                self._patch(name, module)
            else:
                self._hook_cell(name, module)
        return self

    def __exit__(self, *exc) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()

    # -- nn.RNN / GRU / LSTM ------------------------------------------------------------
    def _patch(self, name: str, module: nn.Module) -> None:
        had_own = "forward" in module.__dict__
        previous = module.__dict__.get("forward")

        def forward(input, hx=None):
            call, returned = run_module(module, input, hx)
            count = sum(1 for n, _ in self.calls if n == name or n.startswith(name + "#"))
            self.calls.append((name if count == 0 else f"{name}#{count + 1}", call))
            call.result.on_backward = self._saw_backward
            self._changes += 1
            return returned

        module.forward = forward

        def undo():
            if had_own:
                module.forward = previous
            else:
                del module.__dict__["forward"]
        self._undo.append(undo)

    def _saw_backward(self) -> None:
        self.backward_seen = True
        self._changes += 1

    # -- cells ----------------------------------------------------------------------------
    def _hook_cell(self, name: str, module: nn.Module) -> None:
        def after(mod, args, kwargs, output):
            x = args[0] if args else kwargs["input"]
            hx = args[1] if len(args) > 1 else kwargs.get("hx")
            steps = self.cells.setdefault(name, CellSteps(module))
            self._cell_call(steps, x, hx, output)

        handle = module.register_forward_hook(after, with_kwargs=True)
        self._undo.append(handle.remove)

    def _cell_call(self, steps: CellSteps, x, hx, output) -> None:
        is_lstm = isinstance(steps.module, nn.LSTMCell)
        h, c = output if is_lstm else (output, None)
        unbatched = x.dim() == 1
        batch = lambda t: t.detach().unsqueeze(0) if unbatched else t.detach()  # noqa: E731
        if hx is None:
            h_prev = torch.zeros_like(h)
            c_prev = torch.zeros_like(c) if is_lstm else None
        else:
            h_prev, c_prev = hx if is_lstm else (hx, None)
        t = len(steps.h)
        self._changes += 1
        steps.unbatched = unbatched
        steps.x.append(batch(x))
        steps.h_prev.append(batch(h_prev))
        steps.h.append(batch(h))
        if is_lstm:
            steps.c_prev.append(batch(c_prev))
            steps.c.append(batch(c))
        for tensor, store in ((h, steps.h_grad), (c, steps.c_grad)):
            if tensor is not None and tensor.requires_grad:
                tensor.register_hook(self._grad_catcher(store, t, unbatched))

    def _grad_catcher(self, store: dict, t: int, unbatched: bool):
        def catch(grad):
            self._saw_backward()
            store[t] = (grad.unsqueeze(0) if unbatched else grad).detach()
        return catch

    # -- results --------------------------------------------------------------------------
    @property
    def traces(self) -> dict:
        """{part name: Trace}, module paths in call order; a second call of a module is 'path#2'
        (a token-by-token encoder gives 'gru', 'gru#2', ...: each part's h0 is the state its call
        started from, and its dL/dh_t the total, through the later calls too).

        Built on first read and again only after a new call or gradient: read it after backward.
        """
        from .part_trace import cell_trace, module_trace

        if self._cached is not None and self._cached[0] == self._changes:
            return dict(self._cached[1])
        traces = {name: module_trace(name, call, call.cfg.training) for name, call in self.calls}
        for name, steps in self.cells.items():
            traces[name] = cell_trace(name, steps, self.backward_seen)
        self._cached = (self._changes, traces)
        return dict(traces)


def watch(model: nn.Module) -> Watch:
    """Record every recurrent part of `model` inside a `with` block; see this module's docstring."""
    return Watch(model)


# -- one module call, as torch's nn.RNNBase.forward reads its arguments -------------------
def _check_hidden(module, name, state, expected) -> None:
    if tuple(state.shape) != tuple(expected):
        raise RuntimeError(f"Expected hidden size {tuple(expected)}, got {tuple(state.shape)} for {name} "
                           f"of {type(module).__name__}")


def run_module(module: nn.Module, input, hx=None) -> tuple[ModuleCall, tuple]:
    """Run one call of nn.RNN/GRU/LSTM through the engine, taking exactly what torch's forward takes.

    Returns (the call's record, what the module's forward returns: (output, h_n) or (output, (h_n, c_n))).
    """
    kind, _ = module_kind(module)
    is_lstm = kind == "lstm"
    L, D, H = module.num_layers, 2 if module.bidirectional else 1, module.hidden_size
    P = getattr(module, "proj_size", 0) or H
    names = list(module._flat_weights_names)
    named = dict(module.named_parameters())
    params = [named[n] for n in names]
    reference = params[0]
    packed = isinstance(input, PackedSequence)
    valid = lengths = sorted_idx = unsorted_idx = None
    unbatched = False
    if packed:
        data, batch_sizes, sorted_idx, unsorted_idx = input
        T, B = len(batch_sizes), int(batch_sizes[0])
        valid = torch.arange(B)[None, :] < batch_sizes[:, None]          # (T, B)
        valid = valid.to(data.device)
        x = data.new_zeros(T, B, data.shape[-1])
        x[valid] = data
        lengths_sorted = valid.sum(0)
        lengths = lengths_sorted if unsorted_idx is None else lengths_sorted[unsorted_idx.cpu()]
    else:
        if not isinstance(input, torch.Tensor):
            raise TypeError(f"{type(module).__name__} input must be a Tensor or PackedSequence, got {type(input).__name__}")
        if input.dim() not in (2, 3):
            raise ValueError(f"{type(module).__name__}: Expected input to be 2D or 3D, got {input.dim()}D instead")
        unbatched = input.dim() == 2
        x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if module.batch_first else input)
        T, B = x.shape[0], x.shape[1]
    if x.shape[-1] != module.input_size:
        raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {module.input_size}, got {x.shape[-1]}")
    if x.dtype != reference.dtype or x.device != reference.device:
        raise RuntimeError(f"input must be {reference.dtype} on {reference.device} like the parameters of "
                           f"{type(module).__name__}, got {x.dtype} on {x.device}")
    h0, c0 = _initial_state(module, hx, is_lstm, unbatched, (L * D, B, P), (L * D, B, H), x)
    start = (h0.detach().clone(), None if c0 is None else c0.detach().clone())
    if sorted_idx is not None:
        h0 = h0.index_select(1, sorted_idx)
        c0 = c0.index_select(1, sorted_idx) if c0 is not None else None
    notes = []
    training = module.training
    if training and module.dropout > 0 and L > 1 and reference.is_cuda:
        notes.append("train-mode dropout drawn on the GPU: cuDNN draws its own masks, so this output "
                     "differs from the fused module's for the same seed (each is a valid dropout sample)")
        warnings.warn(f"rnnviz: {notes[-1]}", stacklevel=3)
    cfg = CallConfig(kind, getattr(module, "nonlinearity", "tanh"), L, D, H, getattr(module, "proj_size", 0),
                     float(module.dropout), training, names, valid, int(valid.sum()) if packed else 0,
                     with_graph=torch.is_grad_enabled())
    result = CallResult()
    outs = RecurrentCall.apply(cfg, result, x, h0, c0 if is_lstm else None, *params)
    out_tm, h_n = outs[0], outs[1]
    c_n = outs[2] if is_lstm else None
    if packed:
        out = PackedSequence(out_tm[valid], input.batch_sizes, sorted_idx, unsorted_idx)
        if unsorted_idx is not None:
            h_n = h_n.index_select(1, unsorted_idx)
            c_n = c_n.index_select(1, unsorted_idx) if c_n is not None else None
        shown_in = _padded(x, valid, unsorted_idx, module.batch_first)
        shown_out = _padded(out_tm.detach(), valid, unsorted_idx, module.batch_first)
    else:
        out = out_tm.squeeze(1) if unbatched else (out_tm.transpose(0, 1) if module.batch_first else out_tm)
        if unbatched:
            h_n = h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        shown_in, shown_out = input.detach(), out.detach()
    # the call keeps detached copies only: the graph belongs to the user's outputs
    call = ModuleCall(module, cfg, result, x.detach(), shown_in, shown_out, h_n.detach(),
                      None if c_n is None else c_n.detach(), module.batch_first, unbatched, lengths, unsorted_idx, notes, *start)
    return call, (out, (h_n, c_n) if is_lstm else h_n)


def _initial_state(module, hx, is_lstm, unbatched, h_shape, c_shape, x):
    if hx is None:
        zeros = lambda shape: x.new_zeros(shape)  # noqa: E731
        return zeros(h_shape), (zeros(c_shape) if is_lstm else None)
    if is_lstm:
        if not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise RuntimeError(f"{type(module).__name__} expects its state as a pair (h_0, c_0)")
        h0, c0 = hx
    else:
        h0, c0 = hx, None
    if unbatched:
        for name, state in (("h_0", h0), ("c_0", c0)):
            if state is not None and state.dim() != 2:
                raise RuntimeError(f"For unbatched 2-D input, {name} should also be 2-D but got {state.dim()}-D tensor")
        h0 = h0.unsqueeze(1)
        c0 = c0.unsqueeze(1) if c0 is not None else None
    _check_hidden(module, "h_0", h0, h_shape)
    if c0 is not None:
        _check_hidden(module, "c_0", c0, c_shape)
    return h0, c0


def _padded(tm: torch.Tensor, valid, unsorted_idx, batch_first: bool) -> torch.Tensor:
    """A packed call's (T, B, F) tensor with NaN past each length, in the caller's batch order."""
    shown = tm.detach().clone()
    shown[~valid] = float("nan")
    if unsorted_idx is not None:
        shown = shown.index_select(1, unsorted_idx)
    return shown.transpose(0, 1) if batch_first else shown


__all__ = ["Watch", "watch", "ModuleCall", "CellSteps", "run_module"]
