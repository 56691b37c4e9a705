"""What a window shows of a trace recorded to disk: full resolution near the cursor, the overview
of the whole time axis, the exact per-timestep norms; never a whole (L, D, T, B, H) array.

ReplayRunner.snapshot of a spooled trace (storage.SpooledStorage) returns a Trace whose hidden,
hidden_grad, cell and gates hold only timesteps start..start+W (read from the files, NaN where the
replay has not reached yet), with a TimeWindow as its `storage`: where the window starts, the
whole run's length, and the overview (every R-th timestep, masked the same way). The (L, D, T)
norms, the parameter gradients and the final states are the trace's own. Readers index the large
arrays at `t - window_start(trace)` and take T from `trace.seq_len`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .storage import SpooledStorage

WINDOW_BYTES = 16 << 20    # the most one window of every large array may hold (copied, masked, every frame)
MIN_WINDOW = 16
MAX_WINDOW = 512


@dataclass
class TimeWindow:
    start: int                      # the first timestep the large arrays hold
    width: int                      # how many they hold
    seq_len: int                    # the whole run's T
    overview_step: int              # R
    overview_times: np.ndarray      # (T_o,)
    overview: dict = field(default_factory=dict)   # SpooledStorage.overview itself (read only, unmasked)
    overview_done: dict = field(default_factory=dict)  # 'forward', 'backward': (L, D, T_o) which entries the replay reached
    disk_bytes: int = 0             # the recording's files

    @property
    def stop(self) -> int:
        return self.start + self.width


def window_start(trace) -> int:
    """Where the trace's large arrays begin on the time axis: 0 unless it is a window."""
    storage = getattr(trace, "storage", None)
    return storage.start if isinstance(storage, TimeWindow) else 0


def window_width(storage: SpooledStorage, shape: tuple, itemsize: int, gate_count: int, has_cell: bool) -> int:
    """Timesteps per window: every large array's (L, D, ·, B, H) rows within WINDOW_BYTES."""
    L, D, T, B, H = shape
    per_step = L * D * B * H * itemsize * (2 + gate_count + has_cell)
    return int(max(1, min(T, MAX_WINDOW, max(MIN_WINDOW, WINDOW_BYTES // max(per_step, 1)))))


IN_MEMORY_WINDOWED = 256 << 20   # an in-memory trace with more than this in large arrays is replayed by windows too


def large_bytes(trace) -> int:
    arrays = [trace.hidden, trace.hidden_grad, trace.cell, *trace.gates.values()]
    return sum(int(np.prod(a.shape)) * a.dtype.itemsize for a in arrays if a is not None)


def needs_window(trace) -> bool:
    """Whether a replay hands out windows: a trace on disk, or one too large to copy for every frame."""
    return trace.spooled or (not trace.windowed and trace.hidden.ndim == 5 and large_bytes(trace) > IN_MEMORY_WINDOWED)


def in_memory_overview(trace, budget: int = WINDOW_BYTES) -> SpooledStorage:
    """An overview of an in-memory trace as strided views (no copy): every R-th timestep, R such that
    one batch element's overview rows stay small."""
    T = trace.seq_len
    step = max(1, -(-large_bytes(trace) // max(budget, 1)))
    step = min(step, T)
    times = np.arange(0, T, step)
    every = slice(0, T, step)
    overview = {"hidden": trace.hidden[:, :, every], "hidden_grad": trace.hidden_grad[:, :, every],
                "cell": None if trace.cell is None else trace.cell[:, :, every],
                "gates": {name: values[:, :, every] for name, values in trace.gates.items()}}
    return SpooledStorage(spool=None, chunk=T, overview_step=step, overview_times=times, overview=overview)


class WindowReader:
    """The raw (unmasked) window around a cursor, re-read (from disk, for a spooled trace) only when
    the cursor nears its edge."""

    def __init__(self, trace):
        self.trace = trace
        self.storage = trace.storage if trace.spooled else in_memory_overview(trace)
        L, D, T, B, H = trace.hidden.shape
        self.width = window_width(self.storage, (L, D, T, B, H), trace.hidden.dtype.itemsize, len(trace.gates),
                                  trace.cell is not None)
        self.start = None
        self.arrays: dict = {}

    def around(self, t: int) -> tuple[int, dict]:
        """(start, arrays) of a window holding t, t-1 and t+1 (the cell's operands)."""
        if not self._holds(t):
            self.start = int(min(max(0, t - self.width // 2), self.trace.seq_len - self.width))
            self._read()
        return self.start, self.arrays

    def _holds(self, t: int) -> bool:
        if self.start is None:
            return False
        margin = max(1, self.width // 4)
        lo = self.start + margin if self.start > 0 else 0
        hi = self.start + self.width - margin if self.start + self.width < self.trace.seq_len else self.trace.seq_len
        return lo <= t < hi

    def _read(self) -> None:
        trace, window = self.trace, slice(self.start, self.start + self.width)
        self.arrays = {"hidden": np.array(trace.hidden[:, :, window]),
                       "hidden_grad": np.array(trace.hidden_grad[:, :, window]),
                       "cell": None if trace.cell is None else np.array(trace.cell[:, :, window]),
                       "gates": {name: np.array(values[:, :, window]) for name, values in trace.gates.items()}}


def windowed_snapshot(trace, reader: WindowReader, cursor: int, done_fwd: np.ndarray, done_bwd: np.ndarray, mask,
                      **fields):
    """The trace as a window around `cursor` (see the module's docstring); `mask(values, done)` NaNs
    what is not done in a copy; `fields` are the other replaced fields (norms, records, param_grads)."""
    import dataclasses

    start, raw = reader.around(cursor)
    window = slice(start, start + reader.width)
    fwd, bwd = done_fwd[:, :, window], done_bwd[:, :, window]
    storage: SpooledStorage = reader.storage
    times = storage.overview_times
    view = TimeWindow(start, reader.width, trace.seq_len, storage.overview_step, times, storage.overview,
                      {"forward": done_fwd[:, :, times], "backward": done_bwd[:, :, times]}, storage.disk_bytes)
    return dataclasses.replace(
        trace, storage=view, hidden=mask(raw["hidden"], fwd), hidden_grad=mask(raw["hidden_grad"], bwd),
        cell=mask(raw["cell"], fwd), gates={k: mask(v, fwd) for k, v in raw["gates"].items()}, **fields)


def overview_slice(trace, name: str | None, layer: int, direction: int, batch: int | None, gate: str | None = None):
    """(values (T_o, ...), step) of the overview of one large array for one layer, direction and batch
    element (None: all), NaN where the replay has not reached; (None, 1) for a trace that is no window."""
    storage = getattr(trace, "storage", None)
    if not isinstance(storage, TimeWindow):
        return None, 1
    overview = storage.overview["gates"][gate] if gate is not None else storage.overview[name]
    if overview is None:
        return None, 1
    done = storage.overview_done["backward" if name == "hidden_grad" else "forward"][layer, direction]
    values = overview[layer, direction] if batch is None else overview[layer, direction, :, batch]
    values = np.array(values, dtype=np.float64 if values.dtype == np.float64 else np.float32)
    values[~done] = np.nan
    return values, storage.overview_step


def time_axis(trace, name: str | None, layer: int, direction: int, batch: int | None, gate: str | None = None):
    """(times, values (n, ...)) of one large array for the panels: the whole axis for an ordinary
    trace; for a window, the overview's timesteps outside it and every timestep inside it, in order."""
    source = trace.gates[gate] if gate is not None else getattr(trace, name)
    inside = np.asarray(source[layer, direction] if batch is None else source[layer, direction, :, batch])
    start = window_start(trace)
    times = np.arange(start, start + inside.shape[0])
    coarse, _ = overview_slice(trace, name, layer, direction, batch, gate)
    if coarse is None:
        return times, inside
    overview_times = trace.storage.overview_times
    outside = (overview_times < start) | (overview_times >= start + inside.shape[0])
    merged = np.concatenate([overview_times[outside], times])
    order = np.argsort(merged, kind="stable")
    return merged[order], np.concatenate([coarse[outside].astype(inside.dtype), inside])[order]


def saturated_fraction_axis(trace, gate: str, squash: str, layer: int, direction: int):
    """(times, (n,) fraction of saturated entries) of one gate over the batch, as time_axis lays the
    timesteps out. The overview's fractions are computed once per recording (cached on its storage),
    so a frame only reads the window's rows."""
    from .gates import saturated_fraction

    inside = saturated_fraction(np.asarray(trace.gates[gate][layer, direction]), squash)
    start = window_start(trace)
    times = np.arange(start, start + inside.shape[0])
    storage = getattr(trace, "storage", None)
    if not isinstance(storage, TimeWindow):
        return times, inside
    cache = storage.overview.setdefault("saturated", {})
    if gate not in cache:   # the overview itself never changes: what the replay reached is masked below
        cache[gate] = saturated_fraction(np.asarray(storage.overview["gates"][gate]), squash)
    coarse = np.array(cache[gate][layer, direction], dtype=np.float64)
    coarse[~storage.overview_done["forward"][layer, direction]] = np.nan
    outside = (storage.overview_times < start) | (storage.overview_times >= start + inside.shape[0])
    merged = np.concatenate([storage.overview_times[outside], times])
    order = np.argsort(merged, kind="stable")
    return merged[order], np.concatenate([coarse[outside], inside])[order]
