"""The tensor table of one step: every operand's value at that cell, summarised as plain numbers.

Runs in the worker thread when a frame is made; the GUI only shows the rows. Values are read from
the trace (NaN where not computed yet), the module's own weights and the initial states.
"""
from __future__ import annotations

import numpy as np

from .names import GATE_NAMES, parameter_names
from .operands import gate_operand
from .schedule import StepRecord
from .window import window_start

GATE_OPERANDS = {gate_operand(name): name for names in GATE_NAMES.values() for name in names}
PARAMETER_SYMBOLS = {"W_ih": "weight_ih", "W_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh"}


def summarise(name: str, value, dtype: str = "", device: str = "") -> dict:
    """name, shape, dtype, device, min, max, mean, norm, nan and inf of one array."""
    a = np.asarray(value)
    finite = a[np.isfinite(a)] if a.size else a
    row = {"name": name, "shape": tuple(a.shape), "dtype": dtype or str(a.dtype), "device": device,
           "nan": int(np.isnan(a).sum()), "inf": int(np.isinf(a).sum())}
    if finite.size:
        f64 = finite.astype(np.float64, copy=False)
        row.update(min=float(f64.min()), max=float(f64.max()), mean=float(f64.mean()), norm=float(np.sqrt((f64 * f64).sum())))
    else:
        row.update(min=None, max=None, mean=None, norm=None)
    return row


def layer_parameters(module, layer: int, direction: int, is_cell: bool) -> dict:
    """W_ih, W_hh, b_ih, b_hh of one layer and direction (the module's own tensors; {} without a module)."""
    if module is None:
        return {}
    params = dict(module.named_parameters())
    names = parameter_names(layer, direction, is_cell)
    return {symbol: params[names[role]] for symbol, role in PARAMETER_SYMBOLS.items() if names[role] in params}


def recurrent_weight(module, layer: int, direction: int, is_cell: bool) -> np.ndarray | None:
    """W_hh of one layer and direction as numpy (None without a module or such a weight); made once
    per weight version, since every frame of an RNN run carries it (a copy off a GPU is not free)."""
    weight = layer_parameters(module, layer, direction, is_cell).get("W_hh")
    if weight is None:
        return None
    key = id(weight)
    hit = _WEIGHTS.get(key)
    if hit is not None and hit[0] is weight and hit[1] == weight._version:
        return hit[2]
    if len(_WEIGHTS) >= 32:
        _WEIGHTS.clear()
    array = weight.detach().cpu().numpy()
    _WEIGHTS[key] = (weight, weight._version, array)
    return array


_WEIGHTS: dict = {}   # id(W_hh) -> (the tensor, its version counter, numpy)


# Summaries of weights, which a forward/backward run never changes: W_hh alone (512x512) took most of
# the 2-4 ms a tensor table cost per step. Keyed by the tensor itself and its in-place version counter
# (an optimizer step bumps it), so a changed weight is summarised again.
_PARAM_ROWS: dict = {}


def _parameter_row(name: str, param, dtype: str, device: str) -> dict:
    version = param._version
    key = (name, id(param))
    hit = _PARAM_ROWS.get(key)
    if hit is not None and hit[0] is param and hit[1:4] == (version, dtype, device):
        return dict(hit[4])
    row = summarise(name, param.detach().cpu().numpy(), dtype, device)
    if len(_PARAM_ROWS) >= 32:
        _PARAM_ROWS.clear()
    _PARAM_ROWS[key] = (param, version, dtype, device, row)
    return dict(row)


def step_table(trace, record: StepRecord | None, module=None, initial_states=None) -> list[dict]:
    """Summaries of every operand of `record`'s cell, read from the trace (and the module's weights).

    initial_states: (h0, c0), each indexable [layer][direction] -> (B, H), or None for zeros.
    """
    if record is None or trace is None:
        return []
    cell = record.cell
    l, d, t = cell.layer, cell.direction, cell.t
    hidden = trace.hidden
    T = trace.seq_len
    prev_t = t - 1 if d == 0 else t + 1
    # a window of a run recorded to disk holds timesteps start.. of its large arrays (engine/window.py)
    start = window_start(trace)
    t_in, prev_in = t - start, prev_t - start
    params = layer_parameters(module, l, d, trace.is_cell)
    values: dict = {}
    for op in record.operands:
        name = op.name
        if name == "X_t":
            if l == 0:
                inputs = np.asarray(trace.inputs)
                values[name] = inputs[:, t] if trace.batch_first else inputs[t]
            else:
                values[name] = np.concatenate([hidden[l - 1, k, t_in] for k in range(hidden.shape[1])], axis=-1)
        elif name in ("H_{t-1}", "C_{t-1}"):
            source = hidden if name.startswith("H") else trace.cell
            if source is not None and 0 <= prev_t < T:
                values[name] = source[l, d, prev_in]
            elif source is not None:
                values[name] = _initial(initial_states, name, l, d, source.shape[3:])
        elif name == "H_t":
            values[name] = hidden[l, d, t_in]
        elif name == "C_t" and trace.cell is not None:
            values[name] = trace.cell[l, d, t_in]
        elif name in GATE_OPERANDS and GATE_OPERANDS[name] in trace.gates:
            values[name] = trace.gates[GATE_OPERANDS[name]][l, d, t_in]
        elif name == "Y_t" and trace.head_output is not None:
            values[name] = trace.head_output[t]
    rows = []
    for op in record.operands:
        if op.name in params:  # summarised once per weight version
            rows.append(_parameter_row(op.name, params[op.name], op.dtype, op.device))
        elif op.name in values:
            rows.append(summarise(op.name, values[op.name], op.dtype, op.device))
        else:
            rows.append({"name": op.name, "shape": tuple(op.shape), "dtype": op.dtype, "device": op.device})
    if cell.phase == "backward":
        rows.append(summarise("dL/dH_t", trace.hidden_grad[l, d, t_in], rows[-1]["dtype"] if rows else "",
                              rows[-1]["device"] if rows else ""))
    return rows


def _initial(initial_states, name: str, layer: int, direction: int, shape) -> np.ndarray:
    """h0 / c0 of one layer and direction; zeros when the run has none to show."""
    states = None if initial_states is None else initial_states[0 if name.startswith("H") else 1]
    if states is None:
        return np.zeros(shape)
    value = states[layer][direction]
    return value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)


def sequence_tensors(trace) -> list[tuple[str, tuple, str]]:
    """(name, shape, dimension names) of the whole-sequence tensors: input, out, h_n, c_n, head output.

    Shapes follow torch's layout from the trace's (L, D, T, B, H), so they show before the forward pass ends."""
    L, D, _, B, H = trace.hidden.shape
    T = trace.seq_len
    inputs = trace.inputs
    I = inputs.shape[-1] if inputs is not None and np.ndim(inputs) == 3 else None
    seq = ("batch", "seq") if trace.batch_first else ("seq", "batch")
    lead = (B, T) if trace.batch_first else (T, B)
    rows = []
    if I is not None:
        rows.append(("input", lead + (I,), f"({seq[0]}, {seq[1]}, input_size)"))
    if trace.is_cell:
        rows.append(("out (H_t stacked)", (T, B, H), "(seq, batch, hidden_size)"))
        rows.append(("h_n (last H_t)", (B, H), "(batch, hidden_size)"))
        if trace.kind == "lstm":
            rows.append(("c_n (last C_t)", (B, H), "(batch, hidden_size)"))
    else:
        feat = "hidden_size" if D == 1 else "2*hidden_size"
        rows.append(("out", lead + (D * H,), f"({seq[0]}, {seq[1]}, {feat})"))
        layers = "num_layers" if D == 1 else "2*num_layers"
        rows.append(("h_n", (L * D, B, H), f"({layers}, batch, hidden_size)"))
        if trace.kind == "lstm":
            rows.append(("c_n", (L * D, B, H), f"({layers}, batch, hidden_size)"))
    Q = trace.spec.output_size if trace.spec is not None else 0
    if Q:
        rows.append(("head output Y", (T, B, Q), "(seq, batch, output_size)"))
    return rows
