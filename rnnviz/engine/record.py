"""`rnnviz.record`: a whole run of a module (or spec), forward and backward, as one Trace."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .build import build, compute_loss
from .cells import ModuleInfo, contribution_norm, gram, layer_weights, previous_states, saturation
from .inputs import initial_states, time_major_input
from .nonfinite import locate_nonfinite, warn_if_nonfinite
from .lstm_fast import lstm_layer_backward, lstm_layer_forward, lstm_weight_grads
from .operands import CellShapes, equation, operands, operands_as_dicts
from .spec import RNNSpec
from .trace import Trace
from .unroll import run_layer_unrolled


def record(model, inputs=None, h0=None, *, loss: str | None = None, head: nn.Module | None = None,
           target: torch.Tensor | None = None) -> Trace:
    """Run `model` forward and backward and return every hidden state and its total dL/dh_t.

    `model` is an RNNSpec, one of torch's nn.RNN/GRU/LSTM (any layers, bidirectional,
    batch_first, bias) or their cells, or any module with the cell signature
    ``forward(input, hidden) -> (output, hidden)``. Inputs are the module's own layout;
    for cells and cell-signature modules, (seq, batch, feature). The loss is ``out.sum()``
    unless `loss` names another ('last', 'mse', 'char_ce'). The module is left as it was.

    A run with NaN or Inf anywhere warns with rnnviz.errors.NonFiniteWarning and says in
    ``trace.first_nonfinite`` where the first one appeared.
    """
    if isinstance(model, RNNSpec):
        built = build(model)
        trace = record_module(built.module, built.inputs, built.h0, loss=model.loss, head=built.head,
                              target=built.target, spec=model)
    elif not isinstance(model, nn.Module):
        raise TypeError(f"record() takes an RNNSpec or a torch module, got {type(model).__name__}")
    elif inputs is None:
        raise ValueError("record(module, inputs): inputs are required for a module")
    else:
        trace = record_module(model, inputs, h0, loss=loss or "sum", head=head, target=target)
    warn_if_nonfinite(trace, stacklevel=3)
    return trace


def record_module(module, inputs, h0=None, *, loss="sum", head=None, target=None, spec=None) -> Trace:
    try:
        info = ModuleInfo.of(module)
    except ValueError:
        from .custom import record_custom

        return locate_nonfinite(record_custom(module, inputs, h0, loss=loss, target=target))
    with torch.enable_grad():
        trace = _record_torch(module, info, inputs, h0, loss, head, target, spec)
    return locate_nonfinite(trace)


@dataclass
class _LayerResult:
    """One layer and direction, time-major, detached: what the trace keeps of it."""

    hidden: torch.Tensor        # (T, B, H)
    hidden_grad: torch.Tensor   # total dL/dH_t
    gates: dict
    grad_gi: torch.Tensor       # dL/d(X_t W_ih^T + b_ih)
    grad_gh: torch.Tensor       # dL/d(H_{t-1} W_hh^T + b_hh)
    h_n: torch.Tensor
    cell: torch.Tensor | None = None
    c_n: torch.Tensor | None = None


@dataclass
class _Run:
    layers: dict                # (layer, direction) -> _LayerResult
    output: torch.Tensor        # top layer, time-major (T, B, D*H)
    head_output: torch.Tensor | None
    loss: float
    param_grads: dict           # name -> tensor, module order then head.*


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


def _run_unrolled(module, info, x, h0s, head, loss, target) -> _Run:
    """RNN and GRU: a layer-major loop on the module's parameters, one autograd pass."""
    L, D, T = info.num_layers, info.num_directions, x.shape[0]
    runs, layer_input = {}, x
    for layer in range(L):
        outputs = []
        for d in range(D):
            w = layer_weights(module, layer, d, info.is_cell)
            run = run_layer_unrolled(info.kind, layer_input, h0s[layer][d], w, info.nonlinearity, bool(d))
            run.output = torch.stack(run.hidden)
            outputs.append(run.output)
            runs[layer, d] = run
        layer_input = outputs[0] if D == 1 else torch.cat(outputs, dim=-1)
    named = list(module.named_parameters())
    extra = [p for _, p in named] + [t for run in runs.values() for t in run.grad_inputs]
    value, head_out, _, head_grads, grads = _loss_and_direct_grads(layer_input, head, loss, target, extra)
    param_grads = dict(zip((n for n, _ in named), grads[:len(named)]))
    param_grads.update(head_grads)
    run_grads = iter(grads[len(named):])
    layers = {}
    for (layer, d), run in runs.items():
        grad_gi = next(run_grads)
        hidden_grad = torch.stack([next(run_grads) for _ in range(T)])
        grad_gh = torch.stack([next(run_grads) for _ in range(T)]) if info.kind == "gru" else grad_gi
        hidden = run.output.detach()
        layers[layer, d] = _LayerResult(
            hidden=hidden, hidden_grad=hidden_grad,
            gates={name: torch.stack(values).detach() for name, values in run.gates.items()},
            grad_gi=grad_gi, grad_gh=grad_gh, h_n=run.h_n.detach())
    return _Run(layers, layer_input.detach(), None if head_out is None else head_out.detach(),
                float(value.detach()), param_grads)


@torch.no_grad()
def _run_lstm(module, info, x, h0s, c0s, head, loss, target) -> _Run:
    """LSTM: fused forward per layer, then the backward recursion by hand (see lstm_fast)."""
    L, D, H = info.num_layers, info.num_directions, info.hidden_size
    forward, layer_inputs, layer_input = {}, [], x
    for layer in range(L):
        layer_inputs.append(layer_input)
        for d in range(D):
            w = layer_weights(module, layer, d, info.is_cell)
            forward[layer, d] = (lstm_layer_forward(layer_input, h0s[layer][d], c0s[layer][d], w, bool(d)), w)
        outs = [forward[layer, d][0].hidden for d in range(D)]
        layer_input = outs[0] if D == 1 else torch.cat(outs, dim=-1)
    with torch.enable_grad():
        out_leaf = layer_input.detach().requires_grad_(True)
        value, head_out, external, head_grads, _ = _loss_and_direct_grads(out_leaf, head, loss, target)
    grads, layers = {}, {}
    for layer in range(L - 1, -1, -1):
        grad_below = None
        for d in range(D):
            run, w = forward[layer, d]
            hidden_grad, grad_gates = lstm_layer_backward(run, external[..., d * H:(d + 1) * H], w, bool(d))
            grads.update(lstm_weight_grads(grad_gates, layer_inputs[layer], run.prev_hidden, w))
            if layer > 0:
                to_input = grad_gates @ w.weight_ih       # dL/dX_t of this layer: the layer below's output
                grad_below = to_input if grad_below is None else grad_below + to_input
            layers[layer, d] = _LayerResult(
                hidden=run.hidden, hidden_grad=hidden_grad, gates=run.gates, grad_gi=grad_gates, grad_gh=grad_gates, h_n=run.h_n,
                cell=run.cell, c_n=run.c_n)
        external = grad_below
    param_grads = {name: grads[name] for name, _ in module.named_parameters()}
    param_grads.update(head_grads)
    return _Run(dict(sorted(layers.items())), layer_input, None if head_out is None else head_out.detach(),
                float(value.detach()), param_grads)


def _to_numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy()


def _record_torch(module, info: ModuleInfo, inputs, hidden, loss, head, target, spec) -> Trace:
    reference = next(module.parameters())
    x = time_major_input(info, inputs, reference)
    h0s, c0s = initial_states(info, hidden, x.shape[1], reference)
    if info.kind == "lstm":
        run = _run_lstm(module, info, x, h0s, c0s, head, loss, target)
    else:
        run = _run_unrolled(module, info, x, h0s, head, loss, target)
    L, D = info.num_layers, info.num_directions
    with torch.no_grad():
        results = list(run.layers.values())

        def grid(values: list) -> np.ndarray:  # (L*D, ...) -> (L, D, ...)
            stacked = torch.stack(values)
            return _to_numpy(stacked.reshape(L, D, *stacked.shape[1:]))

        # Grams (T, B, B) give every per-timestep norm without touching (T, B, H) arrays again:
        # ‖H_t‖² is the trace of H_t H_tᵀ, the state read at t is the neighbour's gram, and the
        # layer above reads the concatenated directions, whose gram is the sum of theirs.
        hidden_grams = [gram(r.hidden) for r in results]
        hidden_norm = [torch.diagonal(g, dim1=-2, dim2=-1).sum(-1).clamp_min(0).sqrt() for g in hidden_grams]
        whh, wih = [], []
        below = gram(x)
        for index, r in enumerate(results):
            layer, d = divmod(index, D)
            if layer > 0 and d == 0:
                below = sum(hidden_grams[(layer - 1) * D + dd] for dd in range(D))
            initial = gram(h0s[layer][d])
            prev_gram = previous_states(hidden_grams[index], initial, bool(d))
            grad_gi_gram = gram(r.grad_gi)
            grad_gh_gram = grad_gi_gram if r.grad_gh is r.grad_gi else gram(r.grad_gh)
            whh.append(contribution_norm(grad_gh_gram, prev_gram))
            wih.append(contribution_norm(grad_gi_gram, below))
        if info.is_cell:
            output, h_n, c_n = results[0].hidden, results[0].h_n, results[0].c_n
        else:
            output = run.output.transpose(0, 1) if info.batch_first else run.output
            h_n = torch.stack([r.h_n for r in results])
            c_n = torch.stack([r.c_n for r in results]) if info.kind == "lstm" else None
        head_features = run.head_output.shape[-1] if run.head_output is not None else 0
        return Trace(
            kind=info.kind, is_cell=info.is_cell, nonlinearity=info.activation, batch_first=info.batch_first,
            inputs=_to_numpy(inputs), output=_to_numpy(output),
            hidden=grid([r.hidden for r in results]), hidden_grad=grid([r.hidden_grad for r in results]),
            cell=grid([r.cell for r in results]) if info.kind == "lstm" else None,
            h_n=_to_numpy(h_n), c_n=None if c_n is None else _to_numpy(c_n),
            gates={name: grid([r.gates[name] for r in results]) for name in results[0].gates},
            head_output=None if run.head_output is None else _to_numpy(run.head_output),
            hidden_norm=grid(hidden_norm),
            grad_norm=grid([torch.linalg.vector_norm(r.hidden_grad, dim=(-2, -1)) for r in results]),
            saturation=grid([saturation(r.hidden, info.activation) for r in results]),
            whh_grad_contrib_norm=grid(whh), wih_grad_contrib_norm=grid(wih),
            loss=run.loss, loss_name=loss, param_grads={n: _to_numpy(g) for n, g in run.param_grads.items()},
            spec=spec, device=str(reference.device),
            operands=layer_operands(info, x.shape[1], head_features, reference),
            equation=equation(info.kind, info.activation),
        )


def layer_operands(info: ModuleInfo, batch: int, head_features: int, reference: torch.Tensor) -> list[list[dict]]:
    """Per layer, the operands of its cell equation (the same at every timestep)."""
    dtype = str(reference.dtype).removeprefix("torch.")
    result = []
    for layer in range(info.num_layers):
        top = layer == info.num_layers - 1
        shapes = CellShapes(info.kind, batch, info.layer_input_size(layer), info.hidden_size, info.bias,
                            head_features if top else 0, dtype, str(reference.device))
        result.append(operands_as_dicts(operands(shapes)))
    return result
