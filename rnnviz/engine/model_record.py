"""`rnnviz.record` on a user's whole model, and on one recurrent module with its own loss.

Both are built on watch(): the model's own forward runs once, the loss once, one backward
(torch.autograd.grad, so no parameter's .grad is touched), and every recurrent part is a Trace.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from .build import compute_loss
from .parts import CELL_TYPES, no_parts_ran_message, recurrent_parts
from .trace import Trace
from .watch import watch


@dataclass
class ModelRecording:
    """One forward + loss + backward of a user's model.

    traces: part name -> Trace, in call order ("rnn", "encoder.lstm", "rnn#2" for a second call).
    output: what model(*args, **kwargs) returned, detached.
    loss: the loss value. param_grads: name -> dL/dparam for every parameter of the whole model
    that requires grad (zeros where the loss does not reach it), equal to loss.backward()'s.
    """

    traces: dict[str, Trace]
    output: object
    loss: float
    param_grads: dict[str, np.ndarray] = field(default_factory=dict)

    def save(self, path) -> None:
        """One .npz holding every part; read back with rnnviz.load_recording (see recording_file)."""
        from .recording_file import save_recording

        save_recording(self.traces, path)


def detached(value):
    """`value` with every tensor detached, keeping tuples, lists, dicts and PackedSequences."""
    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, PackedSequence):
        return PackedSequence(value.data.detach(), value.batch_sizes, value.sorted_indices, value.unsorted_indices)
    if isinstance(value, (tuple, list)):
        return type(value)(detached(v) for v in value)
    if isinstance(value, dict):
        return {k: detached(v) for k, v in value.items()}
    return value


def scalar_loss(value, where: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{where} must return a torch.Tensor loss, got {type(value).__name__}")
    if value.numel() != 1:
        raise ValueError(f"{where} must return a scalar loss (one element), got shape {tuple(value.shape)}; "
                         f"reduce it, e.g. .mean() or .sum()")
    return value.reshape(())


def call_loss(loss_fn, output, target) -> torch.Tensor:
    value = loss_fn(output) if target is None else loss_fn(output, target)
    return scalar_loss(value, "loss_fn")


def record_model(model: nn.Module, *args, loss_fn, target=None, **kwargs) -> ModelRecording:
    """Run model(*args, **kwargs), loss_fn(output[, target]) and its backward; record every recurrent part."""
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable (output) -> loss or (output, target) -> loss, got {type(loss_fn).__name__}")
    parts = recurrent_parts(model)
    if not parts:
        raise ValueError(no_parts_ran_message(model, parts))
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    with torch.enable_grad(), watch(model) as watched:
        output = model(*args, **kwargs)
        loss = call_loss(loss_fn, output, target)
        if not loss.requires_grad:
            raise ValueError("the loss does not depend on any parameter that requires grad: nothing to differentiate")
        grads = torch.autograd.grad(loss, [p for _, p in named], allow_unused=True)
    traces = watched.traces
    if not traces:
        raise ValueError(no_parts_ran_message(model, parts))
    value = float(loss.detach())
    for trace in traces.values():
        trace.loss, trace.loss_name = value, "loss_fn"
    param_grads = {n: (torch.zeros_like(p) if g is None else g).detach().cpu().numpy() for (n, p), g in zip(named, grads)}
    return ModelRecording(traces, detached(output), value, param_grads)


def needs_own_model_path(module: nn.Module, inputs, loss_fn) -> bool:
    """True when record(module, ...) needs the engine's whole-call path rather than the classic one."""
    if loss_fn is not None or isinstance(inputs, PackedSequence):
        return True
    if any(not p.requires_grad for p in module.parameters()):
        return True
    if isinstance(module, CELL_TYPES):
        return False
    if getattr(module, "proj_size", 0):
        return True
    if module.training and module.dropout > 0 and module.num_layers > 1:
        return True
    return isinstance(inputs, torch.Tensor) and inputs.dim() == 2


def record_one(module: nn.Module, inputs, h0=None, *, loss="sum", loss_fn=None, head=None, target=None) -> Trace:
    """One torch recurrent module or cell, its own output fed to head and loss_fn; one Trace.

    loss_fn(y) or loss_fn(y, target) where y is head(out) when a head is given, else out: the
    module's output in its own layout (a PackedSequence for packed input; for a cell, its states
    (T, B, H) over the sequence). Without loss_fn, a 0-d y is the loss, else `loss` names one.
    """
    is_cell = isinstance(module, CELL_TYPES)
    head_named = [(f"head.{n}", p) for n, p in head.named_parameters() if p.requires_grad] if head is not None else []
    with torch.enable_grad(), watch(module) as watched:
        if is_cell:
            out = _step_cell(module, inputs, h0)
        else:
            out, _ = module(inputs, h0)
        y = head(out) if head is not None else out
        if loss_fn is not None:
            value = call_loss(loss_fn, y, target)
        elif isinstance(y, torch.Tensor) and y.dim() == 0:
            value = y
        else:
            data = y.data if isinstance(y, PackedSequence) else y
            if not is_cell and getattr(module, "batch_first", False) and not isinstance(y, PackedSequence):
                data = data.transpose(0, 1)
            value = scalar_loss(compute_loss(loss, data, target), f"loss {loss!r}")
        wanted = [p for p in module.parameters() if p.requires_grad] + [p for _, p in head_named]
        grads = torch.autograd.grad(value, wanted, allow_unused=True) if wanted and value.requires_grad else []
    trace = next(iter(watched.traces.values()))
    trace.loss, trace.loss_name = float(value.detach()), "loss_fn" if loss_fn is not None else loss
    for (name, param), grad in zip(head_named, grads[len(wanted) - len(head_named):]):
        trace.param_grads[name] = (torch.zeros_like(param) if grad is None else grad).detach().cpu().numpy()
    if head is not None and isinstance(y, torch.Tensor) and y.dim() > 0:
        trace.head_output = y.detach().cpu().numpy()
    return trace


def _step_cell(cell: nn.Module, inputs, h0):
    """Call a cell once per timestep of inputs (T, B, I) or (T, I): its states over time (T, B, H)."""
    if not isinstance(inputs, torch.Tensor) or inputs.dim() not in (2, 3):
        shape = tuple(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
        raise ValueError(f"Expected input of size (seq, batch, {cell.input_size}) or (seq, {cell.input_size}) "
                         f"for {type(cell).__name__}, got {shape}")
    state, states = h0, []
    for t in range(inputs.shape[0]):
        state = cell(inputs[t], state)
        states.append(state[0] if isinstance(state, tuple) else state)
    return torch.stack(states)
