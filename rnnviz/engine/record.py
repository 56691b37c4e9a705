"""`rnnviz.record`: a whole run of a module (or spec), forward and backward, as one Trace."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .build import build, compute_loss
from .cells import ModuleInfo, layer_weights, saturation
from .inputs import initial_states, time_major_input
from .operands import CellShapes, equation, operands, operands_as_dicts
from .spec import RNNSpec
from .trace import Trace
from .unroll import (contribution_norms, lstm_gate_grads, lstm_internals, lstm_recurrent_grad, previous_states,
                     run_layer_unrolled, run_lstm_layer_fused)


def record(model, inputs=None, h0=None, *, loss: str | None = None, head: nn.Module | None = None,
           target: torch.Tensor | None = None) -> Trace:
    """Run `model` forward and backward and return every hidden state and its total dL/dh_t.

    `model` is an RNNSpec, one of torch's nn.RNN/GRU/LSTM (any layers, bidirectional,
    batch_first, bias) or their cells, or any module with the cell signature
    ``forward(input, hidden) -> (output, hidden)``. Inputs are the module's own layout;
    for cells and cell-signature modules, (seq, batch, feature). The loss is ``out.sum()``
    unless `loss` names another ('last', 'mse', 'char_ce'). The module is left as it was.
    """
    if isinstance(model, RNNSpec):
        built = build(model)
        return record_module(built.module, built.inputs, built.h0, loss=model.loss, head=built.head,
                             target=built.target, spec=model)
    if not isinstance(model, nn.Module):
        raise TypeError(f"record() takes an RNNSpec or a torch module, got {type(model).__name__}")
    if inputs is None:
        raise ValueError("record(module, inputs): inputs are required for a module")
    return record_module(model, inputs, h0, loss=loss or "sum", head=head, target=target)


def record_module(module, inputs, h0=None, *, loss="sum", head=None, target=None, spec=None) -> Trace:
    try:
        info = ModuleInfo.of(module)
    except ValueError:
        from .custom import record_custom

        return record_custom(module, inputs, h0, loss=loss, target=target)
    with torch.enable_grad():
        return _record_torch(module, info, inputs, h0, loss, head, target, spec)


def _to_numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy()


def _record_torch(module, info: ModuleInfo, inputs, hidden, loss, head, target, spec) -> Trace:
    reference = next(module.parameters())
    x = time_major_input(info, inputs, reference)
    T, B = x.shape[0], x.shape[1]
    h0s, c0s = initial_states(info, hidden, B, reference)
    L, D = info.num_layers, info.num_directions
    runs, layer_inputs = {}, []
    layer_input = x
    for layer in range(L):
        layer_inputs.append(layer_input)
        outputs = []
        for d in range(D):
            w = layer_weights(module, layer, d, info.is_cell)
            if info.kind == "lstm":
                run = run_lstm_layer_fused(layer_input, h0s[layer][d], c0s[layer][d], w, reverse=bool(d))
                outputs.append(run.output)
            else:
                run = run_layer_unrolled(info.kind, layer_input, h0s[layer][d], w, info.nonlinearity, bool(d))
                run.output = torch.stack(run.hidden)
                outputs.append(run.output)
            runs[layer, d] = (run, w)
        layer_input = outputs[0] if D == 1 else torch.cat(outputs, dim=-1)
    out_tm = layer_input  # (T, B, D*H)
    head_out = head(out_tm) if head is not None else None
    loss_value = compute_loss(loss, head_out if head_out is not None else out_tm, target)

    named = list(module.named_parameters())
    head_named = [(f"head.{n}", p) for n, p in head.named_parameters()] if head is not None else []
    run_inputs = [t for run, _ in runs.values() for t in run.grad_inputs]
    wanted = [p for _, p in named] + [p for _, p in head_named] + run_inputs
    grads = torch.autograd.grad(loss_value, wanted, allow_unused=True)
    grads = [torch.zeros_like(t) if g is None else g for t, g in zip(wanted, grads)]
    param_grads = {n: _to_numpy(g) for (n, _), g in zip(named + head_named, grads)}
    run_grads = iter(grads[len(named) + len(head_named):])

    per_layer = {key: [] for key in ("hidden", "hidden_grad", "cell", "sat", "whh", "wih")}
    gates: dict[str, list] = {}
    with torch.no_grad():
        for (layer, d), (run, w) in runs.items():
            reverse = bool(d)
            x_l = layer_inputs[layer]
            h0 = h0s[layer][d]
            if info.kind == "lstm":
                out_grad, probe_grad = next(run_grads), next(run_grads)
                hidden = run.output
                hidden_grad = out_grad + lstm_recurrent_grad(probe_grad, reverse)
                step_gates, cell, prev = lstm_internals(x_l, hidden, h0, c0s[layer][d], w, reverse)
                grad_gi = grad_gh = lstm_gate_grads(step_gates, cell, c0s[layer][d], hidden_grad, reverse)
                per_layer["cell"].append(cell)
            else:
                grad_gi = next(run_grads)
                hidden = run.output.detach()
                hidden_grad = torch.stack([next(run_grads) for _ in range(T)])
                grad_gh = torch.stack([next(run_grads) for _ in range(T)]) if info.kind == "gru" else grad_gi
                step_gates = {name: torch.stack(values) for name, values in run.gates.items()}
                prev = previous_states(hidden, h0, reverse)
            whh, wih = contribution_norms(grad_gh, grad_gi, prev, x_l)
            per_layer["hidden"].append(hidden)
            per_layer["hidden_grad"].append(hidden_grad)
            per_layer["sat"].append(saturation(hidden, info.activation))
            per_layer["whh"].append(whh)
            per_layer["wih"].append(wih)
            for name, value in step_gates.items():
                gates.setdefault(name, []).append(value)

        def grid(values: list) -> np.ndarray:  # (L*D, ...) -> (L, D, ...)
            stacked = torch.stack(values)
            return _to_numpy(stacked.reshape(L, D, *stacked.shape[1:]))

        last = [runs[key][0] for key in runs]
        if info.is_cell:
            output = per_layer["hidden"][0]
            h_n = last[0].h_n
            c_n = last[0].c_n
        else:
            output = out_tm.transpose(0, 1) if info.batch_first else out_tm
            h_n = torch.stack([run.h_n for run in last])
            c_n = torch.stack([run.c_n for run in last]) if info.kind == "lstm" else None
        trace = Trace(
            kind=info.kind, is_cell=info.is_cell, nonlinearity=info.activation, batch_first=info.batch_first,
            inputs=_to_numpy(inputs), output=_to_numpy(output),
            hidden=grid(per_layer["hidden"]), hidden_grad=grid(per_layer["hidden_grad"]),
            cell=grid(per_layer["cell"]) if per_layer["cell"] else None,
            h_n=_to_numpy(h_n), c_n=None if c_n is None else _to_numpy(c_n),
            gates={name: grid(values) for name, values in gates.items()},
            head_output=None if head_out is None else _to_numpy(head_out),
            hidden_norm=grid([torch.linalg.vector_norm(h, dim=(-2, -1)) for h in per_layer["hidden"]]),
            grad_norm=grid([torch.linalg.vector_norm(g, dim=(-2, -1)) for g in per_layer["hidden_grad"]]),
            saturation=grid(per_layer["sat"]), whh_grad_contrib_norm=grid(per_layer["whh"]),
            wih_grad_contrib_norm=grid(per_layer["wih"]),
            loss=float(loss_value.detach()), loss_name=loss, param_grads=param_grads, spec=spec,
            device=str(reference.device),
            operands=layer_operands(info, B, head_out.shape[-1] if head_out is not None else 0, reference),
            equation=equation(info.kind, info.activation),
        )
    return trace


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
