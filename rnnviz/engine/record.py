"""`rnnviz.record`: a whole run of a module (or spec), forward and backward, as one Trace."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from . import buffers
from .build import build, compute_loss
from .bptt import GATE_WIDTH
from .cells import ModuleInfo, layer_weights
from .names import GATE_NAMES
from .inputs import initial_states, time_major_input
from .memory import check as check_memory
from .memory import estimate_module, plan_spool
from .memory import memory_budget as memory_budget_bytes
from .operands import CellShapes, Operand, equation, operands
from .nonfinite import locate_nonfinite, warn_if_nonfinite
from .spec import RNNSpec
from .layers import backward_layers, forward_layers
from .summaries import batch_norms, saturation
from .trace import Trace


def record(model, *args, loss: str | None = None, head: nn.Module | None = None, target=None,
           loss_fn=None, step=None, memory_budget=None, **kwargs):
    """Run `model` forward and backward and return every hidden state and its total dL/dh_t.

    - An RNNSpec, or one of torch's nn.RNN/GRU/LSTM (any layers, bidirectional, batch_first,
      bias, proj_size, dropout in train mode, PackedSequence, unbatched) or their cells:
      ``record(module, inputs, h0=None, loss=..., loss_fn=..., head=..., target=...)`` -> Trace.
      Inputs are the module's own layout; for cells (seq, batch, feature). The loss is
      ``loss_fn(y[, target])`` with y = head(out) or out in the module's own layout, else the
      named `loss` ('sum' (default), 'last', 'mse', 'char_ce') on the time-major output.
    - Any other module with recurrent parts inside: ``record(model, *args, loss_fn=..., target=None,
      **kwargs)`` runs ``model(*args, **kwargs)`` once -> ModelRecording (a Trace per part).
    - A module stepped one timestep per call, forward(input, hidden) -> (output, hidden), or any
      step callable: ``record(model, inputs, h0, step=lambda x_t, h: model(c, x_t, h), loss_fn=...)``.
    The module is left as it was: no parameter's .grad is touched.

    A run whose estimated memory (engine/memory.py) is over `memory_budget` (bytes or a size
    such as '4GiB'; default $RNNVIZ_MEMORY_BUDGET or 1 GiB) is recorded to disk when it is one of
    torch's nn.RNN/GRU/LSTM (engine/long_record.py): the same numbers, its large arrays memory
    maps of temporary files (``trace.spooled``; deleted with the trace). Otherwise, or when even
    that does not fit, it is refused with MemoryBudgetError (SpoolSpaceError: too little disk).

    A run with NaN or Inf anywhere warns with rnnviz.errors.NonFiniteWarning and says in
    ``trace.first_nonfinite`` (each part's, for a whole model) where the first one appeared.
    """
    result = _dispatch(model, args, kwargs, loss=loss, head=head, target=target, loss_fn=loss_fn, step=step,
                       memory_budget=memory_budget)
    for trace in [result] if isinstance(result, Trace) else result.traces.values():
        locate_nonfinite(trace)
        warn_if_nonfinite(trace, stacklevel=2)
    return result


def record_parts(model: nn.Module, *args, loss_fn=None, **kwargs) -> dict[str, Trace]:
    """rnnviz.record(model, *args, loss_fn=..., **kwargs) as {part name: Trace}, whatever `model` is.

    A whole model gives its parts by module path; one recurrent module or cell (or a stepped
    module) gives one part named after its class.
    """
    from .model_record import ModelRecording

    result = record(model, *args, loss_fn=loss_fn, **kwargs)
    if isinstance(result, ModelRecording):
        return result.traces
    name = result.module_path or type(model).__name__
    result.module_path = name
    return {name: result}


def _dispatch(model, args, kwargs, *, loss, head, target, loss_fn, step, memory_budget):
    """record()'s paths: a spec, one recurrent module, a whole model, or a module stepped per call."""
    if isinstance(model, RNNSpec):
        built = build(model, memory_budget=memory_budget)
        return record_module(built.module, built.inputs, built.h0, loss=model.loss, head=built.head,
                             target=built.target, spec=model, memory_budget=memory_budget)
    if not isinstance(model, nn.Module):
        raise TypeError(f"record() takes an RNNSpec or a torch module, got {type(model).__name__}")
    from .model_record import needs_own_model_path, record_model, record_one
    from .parts import is_recurrent, not_recurrent_message, recurrent_parts

    if step is not None or not (is_recurrent(model) or recurrent_parts(model)):
        from .custom import record_custom

        if len(args) > 2 or kwargs:
            raise TypeError("record(model, inputs, h0=None, step=...) takes inputs and h0 only for a stepped module")
        inputs, h0 = (list(args) + [None, None])[:2]
        if inputs is None:
            raise ValueError("record(module, inputs): inputs are required for a module")
        return record_custom(model, inputs, h0, loss=loss or "sum", target=target, loss_fn=loss_fn, head=head, step=step)
    if not is_recurrent(model):
        if loss_fn is None:
            raise ValueError(not_recurrent_message(model, recurrent_parts(model), _call_text(args)))
        if head is not None or loss is not None:
            raise TypeError("record(model, ..., loss_fn=...) on a whole model takes no head= or loss=: "
                            "put them in loss_fn")
        return record_model(model, *args, loss_fn=loss_fn, target=target, **kwargs)
    if "h0" in kwargs and len(args) < 2:   # record(lstm, x, h0=h0) is the positional form
        args = (*args, None)[:1] + (kwargs.pop("h0"),)
    if kwargs or len(args) > 2:
        raise TypeError(f"record({type(model).__name__}, inputs, h0=None, ...) takes at most inputs and h0")
    inputs, h0 = (list(args) + [None, None])[:2]
    if inputs is None:
        raise ValueError("record(module, inputs): inputs are required for a module")
    if head is not None or needs_own_model_path(model, inputs, loss_fn):
        return record_one(model, inputs, h0, loss=loss or "sum", loss_fn=loss_fn, head=head, target=target)
    return record_module(model, inputs, h0, loss=loss or "sum", head=head, target=target, memory_budget=memory_budget)


def _call_text(args) -> str:
    names = ["data", "hidden", "more"][:len(args)] or ["inputs"]
    return ", ".join(["model", *names])


def record_module(module, inputs, h0=None, *, loss="sum", head=None, target=None, spec=None,
                  memory_budget=None, progress=None) -> Trace:
    """One of torch's recurrent modules or cells (else record_custom); `progress(done, total, what)`
    sees the chunks of a recording to disk and may raise to cancel it."""
    try:
        info = ModuleInfo.of(module)
    except ValueError:
        from .custom import record_custom

        return record_custom(module, inputs, h0, loss=loss, target=target)
    plan = None
    if isinstance(inputs, torch.Tensor) and inputs.dim() == 3:  # a malformed input gets its own message below
        head_features = getattr(head, "out_features", 0) if head is not None else 0
        needed = estimate_module(info, inputs, head_features)
        if needed.peak > memory_budget_bytes(memory_budget) and not info.is_cell:
            plan = plan_module_spool(info, inputs, head_features, memory_budget, what=f"recording {_describe(info, inputs)}")
        else:
            check_memory(needed, memory_budget, what=f"recording {_describe(info, inputs)}")
    with torch.enable_grad():
        return _record_torch(module, info, inputs, h0, loss, head, target, spec, plan, progress)


def _describe(info: ModuleInfo, inputs: torch.Tensor) -> str:
    T, B = (inputs.shape[1], inputs.shape[0]) if info.batch_first else (inputs.shape[0], inputs.shape[1])
    return f"this {info.kind} (seq_len {T}, batch {B}, hidden {info.hidden_size}, layers {info.num_layers})"


@dataclass
class _Run:
    """A whole run, time-major; (L, D, T, B, ...) buffers the trace keeps as they are."""

    hidden: torch.Tensor        # (L, D, T, B, H)
    hidden_grad: torch.Tensor   # total dL/dH_t
    cell: torch.Tensor | None
    gates: dict                 # name -> (L, D, T, B, H) views of the per-layer gate buffers
    output: torch.Tensor        # top layer, time-major (T, B, D*H)
    h_n: list                   # per (layer, direction), in that order
    c_n: list | None
    head_output: torch.Tensor | None
    loss: float
    param_grads: dict           # name -> tensor, module order then head.*
    summaries: dict             # name -> (L, D, T)


def _loss_and_direct_grads(out_tm, head, loss, target, extra=()):
    """Loss on the top layer's output and its gradient w.r.t. that output, the head and `extra`."""
    head_named = [(f"head.{n}", p) for n, p in head.named_parameters()] if head is not None else []
    head_out = head(out_tm) if head is not None else None
    value = compute_loss(loss, head_out if head_out is not None else out_tm, target)
    wanted = [out_tm] + [p for _, p in head_named] + list(extra)
    grads = torch.autograd.grad(value, wanted, allow_unused=True)
    grads = [torch.zeros_like(t) if g is None else g for t, g in zip(wanted, grads)]
    head_grads = dict(zip((n for n, _ in head_named), grads[1:1 + len(head_named)]))
    return value, head_out, grads[0], head_grads, grads[1 + len(head_named):]


@torch.no_grad()
def _run_layers(module, info, x, h0s, c0s, head, loss, target) -> _Run:
    """Every layer forward with no graph, the loss, then BPTT by hand (engine/layers.py), top layer
    first, writing straight into the (L, D, T, B, ·) arrays the trace keeps."""
    L, D, H, T, B = info.num_layers, info.num_directions, info.hidden_size, x.shape[0], x.shape[1]
    G = GATE_WIDTH[info.kind] * H
    like = {"dtype": x.dtype, "device": x.device}
    hidden = buffers.empty(L, D, T, B, H, **like)
    cell = buffers.empty(L, D, T, B, H, **like) if info.kind == "lstm" else None
    work = buffers.empty(L, D, T, B, G, **like)
    weights = {(layer, d): layer_weights(module, layer, d, info.is_cell) for layer in range(L) for d in range(D)}
    flat_h0 = [state for per_layer in h0s for state in per_layer]
    flat_c0 = None if c0s is None else [state for per_layer in c0s for state in per_layer]
    stack = forward_layers(info.kind, info.nonlinearity, weights, x, flat_h0, flat_c0, hidden=hidden, cell=cell,
                           work=work)
    with torch.enable_grad():
        out_leaf = stack.output.detach().requires_grad_(True)
        value, head_out, external, head_grads, _ = _loss_and_direct_grads(out_leaf, head, loss, target)
    grads = backward_layers(stack, external, hidden_grad=buffers.empty_like(hidden))
    del external
    summaries = {
        name: torch.stack([torch.stack([grads.contributions[layer, d][which] for d in range(D)]) for layer in range(L)])
        for which, name in enumerate(("whh_grad_contrib_norm", "wih_grad_contrib_norm"))}
    param_grads = {name: grads.param_grads[name] for name, _ in module.named_parameters()}
    param_grads.update(head_grads)
    summaries["hidden_norm"] = batch_norms(hidden.view(L * D, T, B, H)).view(L, D, T)
    summaries["grad_norm"] = batch_norms(grads.hidden_grad.view(L * D, T, B, H)).view(L, D, T)
    summaries["saturation"] = saturation(hidden, info.activation)
    gates = {name: work[..., k * H:(k + 1) * H] for k, name in enumerate(GATE_NAMES[info.kind])}
    return _Run(hidden, grads.hidden_grad, cell, gates, stack.output, stack.h_n, stack.c_n,
                None if head_out is None else head_out.detach(), float(value.detach()), param_grads, summaries)


def _to_numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy()


def _record_torch(module, info: ModuleInfo, inputs, hidden, loss, head, target, spec, plan=None, progress=None) -> Trace:
    reference = next(module.parameters())
    x = time_major_input(info, inputs, reference)
    h0s, c0s = initial_states(info, hidden, x.shape[1], reference)
    if plan is not None:
        return _spooled_trace(module, info, inputs, x, h0s, c0s, loss, head, target, spec, plan, reference, progress)
    run = _run_layers(module, info, x, h0s, c0s, head, loss, target)
    with torch.no_grad():
        if info.is_cell:
            output, h_n = run.hidden[0, 0], run.h_n[0]
            c_n = run.c_n[0] if run.c_n is not None else None
        else:
            output = run.output.transpose(0, 1) if info.batch_first else run.output
            h_n = torch.stack(run.h_n)
            c_n = torch.stack(run.c_n) if run.c_n is not None else None
        head_features = run.head_output.shape[-1] if run.head_output is not None else 0
        return Trace(
            kind=info.kind, is_cell=info.is_cell, nonlinearity=info.activation, batch_first=info.batch_first,
            inputs=_to_numpy(inputs), output=_to_numpy(output),
            hidden=_to_numpy(run.hidden), hidden_grad=_to_numpy(run.hidden_grad),
            cell=None if run.cell is None else _to_numpy(run.cell),
            h_n=_to_numpy(h_n), c_n=None if c_n is None else _to_numpy(c_n),
            gates={name: _to_numpy(value) for name, value in run.gates.items()},
            head_output=None if run.head_output is None else _to_numpy(run.head_output),
            **{name: _to_numpy(value) for name, value in run.summaries.items()},
            loss=run.loss, loss_name=loss, param_grads={n: _to_numpy(g) for n, g in run.param_grads.items()},
            spec=spec, device=str(reference.device),
            operands=layer_operands(info, x.shape[1], head_features, reference),
            equation=equation(info.kind, info.activation),
        )


def _spooled_trace(module, info, inputs, x, h0s, c0s, loss, head, target, spec, plan, reference, progress=None) -> Trace:
    """The Trace of a run recorded to disk (long_record.py): its large arrays are memory maps."""
    from .long_record import record_spooled

    arrays, storage, value, head_output, param_grads, h_n, c_n, norms = record_spooled(
        module, info, x.detach(), h0s, c0s, head, loss, target, plan, progress)
    output = arrays["output"]
    if info.batch_first:
        output = output.swapaxes(0, 1)
    head_features = head_output.shape[-1] if head_output is not None else 0
    return Trace(
        kind=info.kind, is_cell=False, nonlinearity=info.activation, batch_first=info.batch_first,
        inputs=_to_numpy(inputs), output=output, hidden=arrays["hidden"], hidden_grad=arrays["hidden_grad"],
        cell=arrays["cell"], gates=arrays["gates"], h_n=_to_numpy(torch.stack(h_n)),
        c_n=None if c_n is None else _to_numpy(torch.stack(c_n)),
        head_output=None if head_output is None else _to_numpy(head_output), **norms,
        loss=value, loss_name=loss, param_grads={n: _to_numpy(g) for n, g in param_grads.items()},
        spec=spec, device=str(reference.device), storage=storage,
        operands=layer_operands(info, x.shape[1], head_features, reference),
        equation=equation(info.kind, info.activation),
    )


def record_to_disk(module, inputs, h0=None, *, loss="sum", head=None, target=None, spec=None, memory_budget=None,
                   chunk: int | None = None, overview_step: int | None = None) -> Trace:
    """record_module with the large arrays on disk whatever the estimate, in chunks of `chunk`
    timesteps and an overview every `overview_step` (None: as planned from the budget); for
    torch's nn.RNN/GRU/LSTM on a (seq, batch, feature) tensor (or batch_first)."""
    import dataclasses

    info = ModuleInfo.of(module)
    if info.is_cell or not isinstance(inputs, torch.Tensor) or inputs.dim() != 3:
        raise ValueError("record_to_disk takes an nn.RNN, nn.GRU or nn.LSTM and a 3-d input tensor")
    plan = plan_module_spool(info, inputs, getattr(head, "out_features", 0) if head is not None else 0, memory_budget)
    plan = dataclasses.replace(plan, chunk=chunk or plan.chunk, overview_step=overview_step or plan.overview_step)
    with torch.enable_grad():
        trace = _record_torch(module, info, inputs, h0, loss, head, target, spec, plan)
    return locate_nonfinite(trace)


def plan_module_spool(info: ModuleInfo, inputs: torch.Tensor, head_features: int, budget, what: str = "this run"):
    T, B = (inputs.shape[1], inputs.shape[0]) if info.batch_first else (inputs.shape[0], inputs.shape[1])
    return plan_spool(info.kind, info.num_layers, info.num_directions, T, B, info.input_size, info.hidden_size,
                      itemsize=inputs.element_size(), bias=info.bias, head_features=head_features, budget=budget,
                      what=what)


def layer_operands(info: ModuleInfo, batch: int, head_features: int, reference: torch.Tensor) -> list[list[Operand]]:
    """Per layer, the operands of its cell equation (the same at every timestep)."""
    dtype = str(reference.dtype).removeprefix("torch.")
    result = []
    for layer in range(info.num_layers):
        top = layer == info.num_layers - 1
        shapes = CellShapes(info.kind, batch, info.layer_input_size(layer), info.hidden_size, info.bias,
                            head_features if top else 0, dtype, str(reference.device))
        result.append(operands(shapes))
    return result
