"""The names every layer agrees on: gates, weight roles, torch's parameter names and the cell equations.

Plain tables, no torch: the trace file, the step table and the GUI read them without loading torch.
"""
from __future__ import annotations

# The one table of gate names: the keys of Trace.gates, and (as "{name}_t") operands of the equation.
GATE_NAMES = {"rnn": ("A",), "gru": ("R", "Z", "N"), "lstm": ("I", "F", "G", "O")}
WEIGHT_ROLES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")

EQUATIONS = {
    "rnn": "H_t = {phi}(X_t · W_ih^T + b_ih + H_{t-1} · W_hh^T + b_hh)",
    "gru": "R_t = σ(X_t W_ir^T + b_ir + H_{t-1} W_hr^T + b_hr);  Z_t = σ(… W_iz, W_hz …);  "
           "N_t = tanh(X_t W_in^T + b_in + R_t ⊙ (H_{t-1} W_hn^T + b_hn));  H_t = (1 − Z_t) ⊙ N_t + Z_t ⊙ H_{t-1}",
    "lstm": "[I_t F_t G_t O_t] = [σ σ tanh σ](X_t · W_ih^T + b_ih + H_{t-1} · W_hh^T + b_hh);  "
            "C_t = F_t ⊙ C_{t-1} + I_t ⊙ G_t;  H_t = O_t ⊙ tanh(C_t)",
}


def parameter_names(layer: int, direction: int, is_cell: bool) -> dict[str, str]:
    """role ('weight_ih', ...) -> torch's parameter name: 'weight_hh_l1_reverse', or 'weight_hh' for a cell."""
    suffix = "" if is_cell else f"_l{layer}" + ("_reverse" if direction else "")
    return {role: role + suffix for role in WEIGHT_ROLES}

# The character models the training view trains.
MODEL_KINDS = ("tutorial", "rnn", "gru", "lstm")

# A tanh unit past this |h| passes almost no gradient (derivative below ~0.1); a relu unit at 0 none.
SATURATION_LIMIT = 0.95
