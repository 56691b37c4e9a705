"""Gates over time: which gates a cell has, their ranges, and the fraction saturated at each t.

Plain numpy on a Trace's `gates` (each (L, D, T, B, H)) so a finished trace, a runner's snapshot
and a replay all give the same numbers; the Gates panel only draws them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .names import SATURATION_LIMIT

# A sigmoid gate is saturated near 0 (shut) or 1 (open), a tanh candidate near -1 or 1: there the
# derivative is below ~0.05 (sigmoid) or ~0.1 (tanh) and almost no gradient passes the gate.
SIGMOID_MARGIN = 0.05
TANH_LIMIT = SATURATION_LIMIT


@dataclass(frozen=True)
class Gate:
    key: str        # the Trace.gates key: 'R', 'Z', 'N' or 'I', 'F', 'G', 'O'
    label: str      # what the panel calls it
    squash: str     # 'sigmoid' (values in (0, 1)) or 'tanh' (values in (-1, 1))

    @property
    def levels(self) -> tuple[float, float]:
        return (0.0, 1.0) if self.squash == "sigmoid" else (-1.0, 1.0)


GATES = {
    "gru": (Gate("R", "r_t  reset gate", "sigmoid"), Gate("Z", "z_t  update gate", "sigmoid"),
            Gate("N", "n_t  candidate", "tanh")),
    "lstm": (Gate("I", "i_t  input gate", "sigmoid"), Gate("F", "f_t  forget gate", "sigmoid"),
             Gate("G", "g_t  candidate", "tanh"), Gate("O", "o_t  output gate", "sigmoid")),
}


def gates_of(kind: str) -> tuple[Gate, ...]:
    """The gates of a GRU or LSTM (cells too); () for a plain RNN, which has none."""
    return GATES.get(kind, ())


def saturated(values: np.ndarray, squash: str) -> np.ndarray:
    """Boolean mask of saturated entries; NaN (not computed yet) is False."""
    with np.errstate(invalid="ignore"):
        if squash == "sigmoid":
            return (values < SIGMOID_MARGIN) | (values > 1.0 - SIGMOID_MARGIN)
        return np.abs(values) > TANH_LIMIT


def saturated_fraction(values: np.ndarray, squash: str) -> np.ndarray:
    """Fraction of saturated entries over the trailing (B, H) of `values` (..., B, H); NaN where
    the timestep is not computed yet.

    Shape: values (L, D, T, B, H) -> (L, D, T).
    """
    fraction = saturated(values, squash).mean(axis=(-2, -1))
    done = np.isfinite(values).any(axis=(-2, -1))
    return np.where(done, fraction, np.nan)


def gate_saturation(trace) -> dict[str, np.ndarray]:
    """{gate key: (L, D, T) saturated fraction} for every gate of the trace's cell."""
    return {g.key: saturated_fraction(np.asarray(trace.gates[g.key]), g.squash)
            for g in gates_of(trace.kind) if g.key in trace.gates}
