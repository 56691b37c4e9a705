"""Where a run first produced NaN or Inf: the cell (tensor, layer, direction, t) in the order the
engine computes them, so a NaN loss can be traced to its source (numpy only: the window uses it too)."""
from __future__ import annotations

import math
import warnings

import numpy as np

from rnnviz.errors import NonFiniteWarning


def _forward_cells(L: int, D: int, T: int):
    """Timestep-major when unidirectional, layer-major when bidirectional (the reverse direction
    of layer l needs all of layer l-1): the engine's own forward order."""
    if D == 1:
        return [(l, 0, t) for t in range(T) for l in range(L)]
    return [(l, d, t) for l in range(L) for d in range(D) for t in (range(T) if d == 0 else range(T - 1, -1, -1))]


def _bad_cells(values, norms=None) -> np.ndarray | None:
    """(L, D, T) True where any (B, H) entry is NaN or Inf; None when all are finite.

    `norms`, when given, are the (L, D, T) norms of `values` over (B, H): NaN and Inf reach a norm,
    so all-finite norms clear the array without reading it. Otherwise one fast reduction decides
    (a finite sum of squares means every entry is finite; an overflow only sends it to the exact
    check below)."""
    if values is None or values.size == 0:
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        if norms is not None and np.isfinite(norms).all():
            return None
        flat = values.reshape(-1) if values.flags.c_contiguous else None
        if np.isfinite(np.dot(flat, flat) if flat is not None and flat.dtype.kind == "f" else np.sum(values)):
            return None
    bad = ~np.isfinite(values).all(axis=(-2, -1))
    return bad if bad.any() else None


def first_nonfinite(hidden, hidden_grad=None, cell=None, loss: float | None = None, *,
                    hidden_norm=None, grad_norm=None) -> dict | None:
    """{tensor, layer, direction, t} of the first non-finite value (H_t or C_t going forward, the loss,
    then dL/dH_t going backward), or None when everything is finite. NaN entries of `hidden_grad`
    that mean "not computed yet" are not passed here: callers hand over finished arrays only.
    hidden_norm / grad_norm: the (L, D, T) norms of those very arrays, if the caller has them."""
    return first_nonfinite_cells(hidden.shape[:3], _bad_cells(hidden, hidden_norm), _bad_cells(hidden_grad, grad_norm),
                                 _bad_cells(cell), loss)


def first_nonfinite_cells(shape, bad_hidden, bad_grad=None, bad_cell=None, loss: float | None = None) -> dict | None:
    """first_nonfinite from (L, D, T) masks, True where a cell holds a NaN or Inf (None: none does)."""
    L, D, T = shape
    forward = [(name, bad) for name, bad in (("H_t", bad_hidden), ("C_t", bad_cell)) if bad is not None and bad.any()]
    if forward:
        for l, d, t in _forward_cells(L, D, T):
            for name, bad in forward:
                if bad[l, d, t]:
                    return {"tensor": name, "layer": l, "direction": d, "t": t}
    if loss is not None and not math.isfinite(loss):
        return {"tensor": "loss", "layer": L - 1, "direction": 0, "t": T - 1}
    if bad_grad is not None and bad_grad.any():
        for l, d, t in reversed(_forward_cells(L, D, T)):
            if bad_grad[l, d, t]:
                return {"tensor": "dL/dH_t", "layer": l, "direction": d, "t": t}
    return None


def describe(where: dict, num_directions: int = 1) -> str:
    """'H_t, layer 1, t=17' (the direction named only for bidirectional runs)."""
    direction = f", direction {where['direction']}" if num_directions > 1 else ""
    return f"{where['tensor']}, layer {where['layer']}{direction}, t={where['t']}"


def loss_text(loss: float) -> str:
    return "NaN" if math.isnan(loss) else ("+Inf" if loss > 0 else "-Inf")


def _past_lengths_zeroed(values, lengths):
    """A packed run's (L, D, T, B, H) array with the padding (NaN by design: nothing was computed
    past a sequence's length) set to 0, so only real non-finite values are found."""
    if values is None or lengths is None:
        return values
    padding = np.arange(values.shape[2])[:, None] >= np.asarray(lengths)[None, :]   # (T, B)
    cleaned = values.copy()
    cleaned[:, :, padding] = 0
    return cleaned


def locate_nonfinite(trace):
    """Fill trace.first_nonfinite (None when every number of the run is finite); returns the trace."""
    storage = getattr(trace, "storage", None)
    if getattr(storage, "bad", None) is not None:   # recorded to disk: the masks were taken as the chunks were written
        bad = storage.bad
        trace.first_nonfinite = first_nonfinite_cells(trace.hidden.shape[:3], bad.get("hidden"), bad.get("hidden_grad"),
                                                      bad.get("cell"), trace.loss)
        return trace
    lengths = getattr(trace, "packed_lengths", None)
    # a trace's hidden_norm / grad_norm are the norms of its own arrays; a packed run's padding
    # (NaN by design) makes them NaN, which sends the check to the zeroed arrays
    trace.first_nonfinite = first_nonfinite(*(_past_lengths_zeroed(v, lengths) for v in (trace.hidden, trace.hidden_grad,
                                                                                          trace.cell)), trace.loss,
                                            hidden_norm=trace.hidden_norm, grad_norm=trace.grad_norm)
    return trace


def nonfinite_message(trace) -> str | None:
    """'loss is NaN (first non-finite: H_t, layer 1, t=17)', or None when the run is finite."""
    where = trace.first_nonfinite
    if where is None:
        return None
    loss = f"loss is {loss_text(trace.loss)}" if not math.isfinite(trace.loss) else f"loss is {trace.loss:.6g}"
    return f"{loss} (first non-finite: {describe(where, trace.num_directions)})"


def warn_if_nonfinite(trace, stacklevel: int = 2) -> None:
    message = nonfinite_message(trace)
    if message is not None:
        warnings.warn(f"non-finite values in the run: {message}", NonFiniteWarning, stacklevel=stacklevel + 1)
