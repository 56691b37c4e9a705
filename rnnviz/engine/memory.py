"""How much memory a run needs, before anything is allocated, and the budget it must fit.

A trace keeps every h_t, dL/dh_t, gate (and C_t) of every layer: (L, D, T, B, H) arrays that
grow to gigabytes long before the model itself does. So a spec or a module with its inputs is
estimated first, and a run over the budget is refused with the estimate in the message rather
than ending in the allocator's error or in swap. The budget is 1 GiB unless set by the
RNNVIZ_MEMORY_BUDGET environment variable, the --memory-budget option, or the caller.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

ENV_VAR = "RNNVIZ_MEMORY_BUDGET"
DEFAULT_BUDGET = 1 << 30
GATE_WIDTH = {"rnn": 1, "gru": 3, "lstm": 4}
# Transient (T, B, H) arrays of one layer's backward (factors, gate gradients, temporaries; only
# one layer and direction is in its backward at a time), and what stepping keeps per cell beyond
# the trace's arrays (the cell's tensors and autograd's saved values) in (B, H) units. Both
# calibrated against the peak resident memory of record() and Runner.run_to_end() at
# (T, B, I, H, L) = (400, 32, 32, 256, 2).
BACKWARD_WORK = {"rnn": 4, "gru": 13, "lstm": 17}
STEP_CELL_WORK = {"rnn": 10, "gru": 28, "lstm": 29}

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1000, "kib": 1 << 10, "m": 1 << 20, "mb": 1000 ** 2, "mib": 1 << 20,
          "g": 1 << 30, "gb": 1000 ** 3, "gib": 1 << 30, "t": 1 << 40, "tb": 1000 ** 4, "tib": 1 << 40}


class MemoryBudgetError(ValueError):
    """A run that would need more memory than the budget; the message carries the estimate."""


def parse_size(text) -> int:
    """Bytes from '1GiB', '512M', '2.5g', '1e9' or a number of bytes; ValueError naming the text."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value, unit = float(text), ""
    else:
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-zA-Z]*)\s*", str(text))
        if not match or match.group(2).lower() not in _UNITS:
            raise ValueError(f"memory budget must be a size such as 1GiB, 512MiB or 2.5G, got {text!r}")
        value, unit = float(match.group(1)), match.group(2).lower()
    size = int(value * _UNITS[unit])
    if size <= 0:
        raise ValueError(f"memory budget must be greater than zero, got {text!r}")
    return size


def memory_budget(override=None) -> int:
    """The budget in bytes: `override` if given, else $RNNVIZ_MEMORY_BUDGET, else 1 GiB."""
    if override is not None:
        return parse_size(override)
    env = os.environ.get(ENV_VAR)
    if env:
        try:
            return parse_size(env)
        except ValueError as exc:
            raise ValueError(f"{ENV_VAR}: {exc}") from None
    return DEFAULT_BUDGET


def format_bytes(size: float) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{int(size)} B"


@dataclass
class MemoryEstimate:
    """Bytes a run needs: `parts` are what it keeps, `transient` the most it adds while running."""

    parts: dict[str, int] = field(default_factory=dict)
    transient: int = 0

    @property
    def kept(self) -> int:
        return sum(self.parts.values())

    @property
    def peak(self) -> int:
        return self.kept + self.transient

    def describe(self) -> str:
        """'about 9.8 GiB (h_t 4.9 GiB + dL/dh_t 4.9 GiB + ...)', the largest parts first."""
        parts = sorted(((n, v) for n, v in self.parts.items() if v > 0), key=lambda item: -item[1])
        shown = [f"{name} {format_bytes(value)}" for name, value in parts[:4]]
        if self.transient:
            shown.append(f"working memory {format_bytes(self.transient)}")
        return f"about {format_bytes(self.peak)} ({' + '.join(shown)})"


def estimate(kind: str, num_layers: int, num_directions: int, seq_len: int, batch: int, input_size: int,
             hidden_size: int, *, itemsize: int = 4, bias: bool = True, head_features: int = 0,
             stepping: bool = False) -> MemoryEstimate:
    """The memory of recording (or, with stepping=True, of stepping through) one run.

    kind is 'rnn', 'gru' or 'lstm' (cells are one layer, one direction).
    """
    L, D, T, B, I, H = num_layers, num_directions, seq_len, batch, input_size, hidden_size
    width = GATE_WIDTH[kind]
    state = L * D * T * B * H * itemsize            # one (L, D, T, B, H) array
    params = sum(width * H * ((I if layer == 0 else D * H) + H + (2 if bias else 0)) * D for layer in range(L))
    params += head_features * (D * H + 1)
    parts = {"h_t": state, "dL/dh_t": state, "gates": width * state,
             "C_t": state if kind == "lstm" else 0,
             "inputs and output": (T * B * I + T * B * D * H * (1 if D > 1 else 0) + T * B * head_features) * itemsize,
             "weights and gradients": 2 * params * itemsize}
    layer = T * B * H * itemsize
    if stepping:
        parts["cells"] = STEP_CELL_WORK[kind] * state
        transient = 2 * layer
    else:
        # the layer inputs of bidirectional stacks, the loss gradient, one layer's backward
        parts["layer inputs"] = (L - 1) * D * layer if D > 1 else 0
        transient = (BACKWARD_WORK[kind] + 2 * D) * layer + (16 << 20)
    return MemoryEstimate(parts, transient)


def estimate_spec(spec, stepping: bool = False) -> MemoryEstimate:
    itemsize = 8 if spec.dtype == "float64" else 4
    return estimate(spec.base_kind, spec.num_layers, spec.num_directions, spec.seq_len, spec.batch_size,
                    spec.input_size, spec.hidden_size, itemsize=itemsize, bias=spec.bias,
                    head_features=spec.output_size, stepping=stepping)


def describe_spec(spec) -> str:
    return (f"this {spec.kind} (seq_len {spec.seq_len}, batch {spec.batch_size}, hidden {spec.hidden_size}, "
            f"layers {spec.num_layers}{', bidirectional' if spec.bidirectional else ''})")


def estimate_module(info, inputs, head_features: int = 0, stepping: bool = False) -> MemoryEstimate:
    """The same for a torch module described by `info` (cells.ModuleInfo) and its input tensor."""
    T, B = (inputs.shape[1], inputs.shape[0]) if info.batch_first else (inputs.shape[0], inputs.shape[1])
    return estimate(info.kind, info.num_layers, info.num_directions, T, B, info.input_size, info.hidden_size,
                    itemsize=inputs.element_size(), bias=info.bias, head_features=head_features, stepping=stepping)


def check(needed: MemoryEstimate, budget=None, what: str = "this run") -> None:
    """MemoryBudgetError when `needed` is over the budget, naming the estimate and what to change."""
    limit = memory_budget(budget)
    if needed.peak > limit:
        raise MemoryBudgetError(
            f"{what} needs {needed.describe()}, over the memory budget of {format_bytes(limit)}: "
            f"reduce seq_len, batch or hidden size, or raise the budget with --memory-budget or {ENV_VAR}")


@dataclass
class SpoolPlan:
    """How a run over the budget is recorded to disk (engine/long_record.py): `chunk` timesteps
    in memory at a time, every `overview_step`-th timestep of the large arrays kept in memory as
    the overview, `disk` bytes of files; `needed` is the estimate of what stays in memory."""

    chunk: int
    overview_step: int
    disk: int
    needed: MemoryEstimate


def plan_spool(kind: str, num_layers: int, num_directions: int, seq_len: int, batch: int, input_size: int,
               hidden_size: int, *, itemsize: int = 4, bias: bool = True, head_features: int = 0,
               budget=None, what: str = "this run") -> SpoolPlan:
    """Fit a recording to disk to the budget, or MemoryBudgetError when even the part that must stay
    in memory (inputs, per-timestep norms, weights and their gradients, one timestep's work) does not."""
    L, D, T, B, I, H = num_layers, num_directions, seq_len, batch, input_size, hidden_size
    limit = memory_budget(budget)
    width = GATE_WIDTH[kind]
    G, lstm, gru = width * H, kind == "lstm", kind == "gru"
    full = estimate(kind, L, D, T, B, I, H, itemsize=itemsize, bias=bias, head_features=head_features)
    kept = {"inputs and head output": (T * B * I + 2 * T * B * head_features) * itemsize,
            "per-timestep norms": 5 * L * D * T * 8 + 3 * L * D * T,
            "weights and gradients": full.parts["weights and gradients"]}
    # one chunk timestep of the busiest phase: the layer input (and the pieces it is joined from),
    # the forward's states and gates, the backward's gradients and work, the gradient for the layer below
    per_step = B * itemsize * (2 * max(I, D * H) + H * (4 + lstm + gru + BACKWARD_WORK[kind]) + 2 * G)
    per_sample = L * D * B * (H * (2 + lstm) + G) * itemsize   # one overview timestep of every large array
    # the summaries' and the allocator's slack: up to 32 MiB (summaries.CHUNK_ELEMENTS), less for small runs
    overhead = min(32 << 20, (1 << 16) + per_step * min(T, 64))
    fixed = sum(kept.values()) + overhead
    room = limit - fixed
    if room < per_step + per_sample:
        needed = MemoryEstimate({**kept, "one timestep": per_step + per_sample}, overhead)
        raise MemoryBudgetError(
            f"{what} needs {full.describe()}, over the memory budget of {format_bytes(limit)}, and even with its "
            f"large arrays on disk {needed.describe()} in memory: reduce seq_len, batch or hidden size, or raise "
            f"the budget with --memory-budget or {ENV_VAR}")
    chunk = int(max(1, min(T, 1024, (room // 2) // per_step)))
    samples = int(max(1, min(T, (room // 4) // per_sample)))
    overview_step = -(-T // samples)
    samples = -(-T // overview_step)
    parts = {**kept, "overview": samples * per_sample}
    disk = full.parts["h_t"] + full.parts["dL/dh_t"] + full.parts["gates"] + full.parts["C_t"]
    disk += (T * B * D * H * itemsize if D > 1 else 0) + (L * D * T * B * H * itemsize if gru else 0)
    return SpoolPlan(chunk, overview_step, disk, MemoryEstimate(parts, chunk * per_step + overhead))
