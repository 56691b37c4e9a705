"""The tensor table of one step: every operand's value at this cell, summarised (runs in the worker thread)."""
from __future__ import annotations

import numpy as np

from .frame import record_get

GATE_OPERANDS = {"A_t": "A", "R_t": "R", "Z_t": "Z", "N_t": "N", "I_t": "I", "F_t": "F", "G_t": "G", "O_t": "O"}
PARAMS = {"W_ih": "weight_ih", "W_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh"}


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


def _parameters(module, layer: int, direction: int, is_cell: bool) -> dict:
    """W_ih, W_hh, b_ih, b_hh of one layer and direction, as numpy (None when the module has none)."""
    if module is None:
        return {}
    suffix = "" if is_cell else f"_l{layer}" + ("_reverse" if direction else "")
    params = dict(module.named_parameters())
    out = {}
    for symbol, stem in PARAMS.items():
        p = params.get(stem + suffix)
        if p is not None:
            out[symbol] = p
    return out


# Summaries of weights, which a forward/backward run never changes: W_hh alone (512x512) took most of
# the 2-4 ms a tensor table cost per step. Keyed by the tensor itself and its in-place version counter
# (an optimizer step bumps it), so a changed weight is summarised again.
_PARAM_ROWS: dict = {}


def _parameter_row(name: str, param, dtype: str, device: str) -> dict:
    version = getattr(param, "_version", None)
    key = (name, id(param))
    hit = _PARAM_ROWS.get(key)
    if hit is not None and hit[0] is param and version is not None and hit[1:4] == (version, dtype, device):
        return dict(hit[4])
    row = summarise(name, param.detach().cpu().numpy(), dtype, device)
    if len(_PARAM_ROWS) >= 32:
        _PARAM_ROWS.clear()
    _PARAM_ROWS[key] = (param, version, dtype, device, row)
    return dict(row)


def step_tensors(trace, cell, record, module=None, h0=None) -> list[dict]:
    """Summaries of every operand of `record` at `cell`, read from the trace (and the module's weights)."""
    if cell is None or trace is None:
        return []
    l, d, t = int(cell.layer), int(cell.direction), int(cell.t)
    hidden = trace.hidden
    T = hidden.shape[2]
    prev_t = t - 1 if d == 0 else t + 1
    params = _parameters(module, l, d, trace.is_cell)
    values: dict = {}
    for op in record_get(record, "operands", []) or []:
        name = op["name"] if isinstance(op, dict) else op.name
        if name == "X_t":
            if l == 0:
                inputs = np.asarray(trace.inputs)
                values[name] = inputs[:, t] if trace.batch_first else inputs[t]
            else:
                values[name] = np.concatenate([hidden[l - 1, k, t] for k in range(hidden.shape[1])], axis=-1)
        elif name in ("H_{t-1}", "C_{t-1}"):
            source = hidden if name.startswith("H") else trace.cell
            if source is not None and 0 <= prev_t < T:
                values[name] = source[l, d, prev_t]
            elif source is not None:
                values[name] = _initial(h0, name, l, d, hidden.shape[1], source.shape[3:])
        elif name == "H_t":
            values[name] = hidden[l, d, t]
        elif name == "C_t" and trace.cell is not None:
            values[name] = trace.cell[l, d, t]
        elif name in GATE_OPERANDS and GATE_OPERANDS[name] in trace.gates:
            values[name] = trace.gates[GATE_OPERANDS[name]][l, d, t]
        elif name in params:
            pass  # summarised (once per weight version) below
        elif name == "Y_t" and trace.head_output is not None:
            values[name] = trace.head_output[t]
    rows = []
    for op in record_get(record, "operands", []) or []:
        get = (lambda k: op[k]) if isinstance(op, dict) else (lambda k: getattr(op, k))
        name = get("name")
        if name in params and name not in values:
            rows.append(_parameter_row(name, params[name], get("dtype"), get("device")))
        elif name in values:
            rows.append(summarise(name, values[name], get("dtype"), get("device")))
        else:
            rows.append({"name": name, "shape": tuple(get("shape")), "dtype": get("dtype"), "device": get("device")})
    if cell.phase == "backward":
        rows.append(summarise("dL/dH_t", trace.hidden_grad[l, d, t], rows[-1]["dtype"] if rows else "",
                              rows[-1]["device"] if rows else ""))
    return rows


def _initial(h0, name: str, layer: int, direction: int, directions: int, shape) -> np.ndarray:
    """h0 / c0 of one layer and direction ((L*D, B, H) layout, or (B, H) for a cell); zeros when unknown."""
    state = h0
    if isinstance(state, (tuple, list)):
        state = state[0] if name.startswith("H") else state[1]
    if state is None:
        return np.zeros(shape)
    array = state.detach().cpu().numpy() if hasattr(state, "detach") else np.asarray(state)
    return array if array.ndim == 2 else array[layer * directions + direction]
