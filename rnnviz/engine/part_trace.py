"""One recurrent part of a user's model (a module call or a cell's calls) as a Trace."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .cells import LayerWeights, gru_step, input_projection, lstm_step, module_kind, rnn_step, saturated
from .operands import CellShapes, Operand, equation, operands
from .trace import Trace


def _np(t: torch.Tensor | None):
    return None if t is None else t.detach().cpu().numpy()


def _norms(values: np.ndarray) -> np.ndarray:
    """Frobenius norm over (B, H) ignoring NaN (padding); NaN where nothing was computed."""
    norm = np.sqrt(np.nansum(np.square(values, dtype=np.float64), axis=(-2, -1)))
    norm[np.all(np.isnan(values), axis=(-2, -1))] = np.nan
    return norm


def _saturation(values: np.ndarray, activation: str) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        hit = saturated(values, activation)
    counted = (~np.isnan(values)).sum(axis=(-2, -1))
    return np.where(counted > 0, hit.sum(axis=(-2, -1)) / np.maximum(counted, 1), np.nan)


def module_config(module: nn.Module) -> dict:
    """The part's real configuration, read off the module (what a Network dock shows)."""
    config = {"type": type(module).__name__, "input_size": module.input_size, "hidden_size": module.hidden_size,
              "bias": bool(module.bias)}
    if hasattr(module, "num_layers"):
        config.update(num_layers=module.num_layers, bidirectional=bool(module.bidirectional),
                      batch_first=bool(module.batch_first), dropout=float(module.dropout),
                      proj_size=int(getattr(module, "proj_size", 0)))
    if hasattr(module, "nonlinearity"):
        config["nonlinearity"] = module.nonlinearity
    return config


def _operands(kind, layers, input_size, width, hidden, batch, bias, reference) -> list[list[Operand]]:
    dtype = str(reference.dtype).removeprefix("torch.")
    return [operands(CellShapes(kind, batch, input_size if layer == 0 else width, hidden, bias, 0,
                                dtype, str(reference.device)))
            for layer in range(layers)]


def module_trace(name: str, call, training: bool) -> Trace:
    """A Trace of one nn.RNN/GRU/LSTM call (watch.ModuleCall); batch in the caller's order."""
    cfg, result = call.cfg, call.result
    L, D = cfg.num_layers, cfg.num_directions
    keys = [(layer, d) for layer in range(L) for d in range(D)]

    def grid(per_key: dict) -> np.ndarray:   # (L, D, T, B, F), caller's batch order, NaN past lengths
        stacked = torch.stack([per_key[k] for k in keys]).detach()
        stacked = stacked.reshape(L, D, *stacked.shape[1:]).clone()
        if cfg.valid is not None:
            stacked[:, :, ~cfg.valid] = float("nan")
            if call.unsorted_indices is not None:
                stacked = stacked.index_select(3, call.unsorted_indices)
        return _np(stacked)

    hidden = grid(result.hidden)
    if result.backward_done:
        hidden_grad = grid(result.hidden_grad)
        input_grad = result.input_grad.detach().clone()
        if cfg.valid is not None:
            input_grad[~cfg.valid] = float("nan")
            if call.unsorted_indices is not None:
                input_grad = input_grad.index_select(1, call.unsorted_indices)
            if call.batch_first:
                input_grad = input_grad.transpose(0, 1)
        elif call.unbatched:
            input_grad = input_grad.squeeze(1)
        elif call.batch_first:
            input_grad = input_grad.transpose(0, 1)
        input_grad = _np(input_grad)
    else:
        hidden_grad = np.full_like(hidden, np.nan)
        input_grad = np.full(tuple(call.inputs.shape), np.nan)
    contrib = [None, None]
    if result.backward_done and len(result.contributions) == len(keys):   # the kernel path's backward ran
        contrib = [_np(torch.stack([result.contributions[k][which] for k in keys]).reshape(L, D, -1))
                   for which in (0, 1)]
    activation = cfg.nonlinearity if cfg.kind == "rnn" else "tanh"
    module = call.module
    reference = call.x
    config = module_config(module)
    return Trace(
        kind=cfg.kind, is_cell=False, nonlinearity=activation, batch_first=call.batch_first,
        inputs=_np(call.inputs), output=_np(call.output), hidden=hidden, hidden_grad=hidden_grad,
        h_n=_np(call.h_n), c_n=_np(call.c_n), cell=grid(result.cell) if result.cell else None,
        gates={g: grid({k: result.gates[k][g] for k in keys}) for g in result.gates[keys[0]]},
        hidden_norm=_norms(hidden), grad_norm=_norms(hidden_grad), saturation=_saturation(hidden, activation),
        loss=float("nan"), loss_name="model", param_grads={n: _np(g) for n, g in result.param_grads.items()},
        device=str(reference.device), equation=equation(cfg.kind, activation),
        operands=_operands(cfg.kind, L, module.input_size, D * (cfg.proj_size or cfg.hidden_size),
                           cfg.hidden_size, reference.shape[1], bool(module.bias), reference),
        input_grad=input_grad, packed_lengths=_np(call.lengths), module_path=name, train_mode=training,
        whh_grad_contrib_norm=contrib[0], wih_grad_contrib_norm=contrib[1],
        config=config, notes=list(call.notes), h0=_np(call.h0), c0=_np(call.c0))


def cell_trace(name: str, steps, backward_seen: bool) -> Trace:
    """A Trace of an RNNCell/GRUCell/LSTMCell's calls (watch.CellSteps), one call per timestep.

    The gates, dL/dX_t and this cell's parameter gradients are recomputed from each call's own
    inputs and its total dL/dh_t (and dL/dc_t): the sum over calls of each call's term is the
    gradient the cell's parameters received from these calls.
    """
    module, kind = steps.module, module_kind(steps.module)[0]
    shapes = {tuple(h.shape) for h in steps.h}
    if len(shapes) != 1:
        raise ValueError(f"{name}: the calls of this {type(module).__name__} had different batch shapes "
                         f"{sorted(shapes)}; rnnviz shows a cell whose calls share one (batch, hidden) shape")
    T = len(steps.h)
    x, h_prev, h = torch.stack(steps.x), torch.stack(steps.h_prev), torch.stack(steps.h)   # (T, B, *)
    graded = backward_seen or bool(steps.h_grad)
    fill = (lambda like: torch.zeros_like(like)) if graded else (lambda like: torch.full_like(like, float("nan")))  # noqa: E731
    h_grad = torch.stack([steps.h_grad.get(t, fill(steps.h[t])) for t in range(T)])
    c = c_grad = c_prev = None
    if kind == "lstm":
        c, c_prev = torch.stack(steps.c), torch.stack(steps.c_prev)
        c_grad = torch.stack([steps.c_grad.get(t, fill(steps.c[t])) for t in range(T)])
    named = dict(module.named_parameters())
    with torch.enable_grad():
        leaves = {n: p.detach().requires_grad_(p.requires_grad) for n, p in named.items()}
        x_leaf = x.detach().requires_grad_(True)
        w = LayerWeights({r: r for r in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}, leaves["weight_ih"],
                         leaves["weight_hh"], leaves.get("bias_ih"), leaves.get("bias_hh"))
        gi = input_projection(x_leaf, w)
        nonlinearity = getattr(module, "nonlinearity", "tanh")
        if kind == "rnn":
            h_again, gates = rnn_step(gi, h_prev, w, nonlinearity)
        elif kind == "gru":
            h_again, gates, _ = gru_step(gi, h_prev, w)
        else:
            h_again, c_again, gates = lstm_step(gi, h_prev, c_prev, w)
        param_names = [n for n, p in leaves.items() if p.requires_grad]
        outputs, grad_outputs = [h_again], [torch.nan_to_num(h_grad)]
        if kind == "lstm":
            # the hook's dL/dc_t is total, and so already holds the path through this step's own
            # h_t = o_t tanh(c_t); feed back only what came from outside (the next call), once
            tanh_c = torch.tanh(c_again.detach())
            through_h = torch.nan_to_num(h_grad) * gates["O"].detach() * (1 - tanh_c * tanh_c)
            outputs.append(c_again)
            grad_outputs.append(torch.nan_to_num(c_grad) - through_h)
        found = torch.autograd.grad(outputs, [x_leaf] + [leaves[n] for n in param_names], grad_outputs,
                                    allow_unused=True)
    input_grad = found[0] if graded else torch.full_like(x, float("nan"))
    param_grads = {n: (g if g is not None else torch.zeros_like(leaves[n])) for n, g in zip(param_names, found[1:])}
    activation = nonlinearity if kind == "rnn" else "tanh"
    squeeze = (lambda t: t.squeeze(1)) if steps.unbatched else (lambda t: t)  # noqa: E731
    hidden = _np(h[None, None])
    hidden_grad = _np(h_grad[None, None])
    return Trace(
        kind=kind, is_cell=True, nonlinearity=activation, batch_first=False,
        inputs=_np(squeeze(x)), output=_np(squeeze(h)), hidden=hidden, hidden_grad=hidden_grad,
        h_n=_np(squeeze(h[-1:])[0]), c_n=None if c is None else _np(squeeze(c[-1:])[0]),
        cell=None if c is None else _np(c[None, None]),
        gates={g: _np(v.detach()[None, None]) for g, v in gates.items()},
        hidden_norm=_norms(hidden), grad_norm=_norms(hidden_grad), saturation=_saturation(hidden, activation),
        loss=float("nan"), loss_name="model", param_grads={n: _np(g) for n, g in param_grads.items()},
        device=str(x.device), equation=equation(kind, activation),
        operands=_operands(kind, 1, module.input_size, module.hidden_size, module.hidden_size, x.shape[1],
                           bool(module.bias), x),
        input_grad=_np(squeeze(input_grad)), module_path=name, train_mode=module.training,
        config=module_config(module), h0=_np(h_prev[0:1]), c0=None if c_prev is None else _np(c_prev[0:1]))
