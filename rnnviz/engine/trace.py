"""Trace: every number of one run, as numpy arrays, and its self-describing .npz file.

Shapes (L layers, D directions, T timesteps, B batch, H hidden):
  hidden, hidden_grad, cell, gates[name]          (L, D, T, B, H)
  hidden_norm, grad_norm, saturation,
  whh_grad_contrib_norm, wih_grad_contrib_norm    (L, D, T)
  output    the module's own output layout; head_output (T, B, Q) time-major
  inputs    the module's input layout
  h_n, c_n  the module's final states
  input_grad      dL/dX_t through this part, the layout of `inputs` (NaN where not computed)
  packed_lengths  (B,) sequence lengths of a PackedSequence input (entries past them are NaN)
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .operands import Operand
from .schedule import StepRecord
from . import trace_check
from .atomic import write_atomically
from .trace_check import FORMAT, FORMAT_VERSION  # noqa: F401  (the file format is checked where it is read)
from .trace_check import TraceFileError  # noqa: F401  (re-exported: the one error of trace files)




@dataclass
class Trace:
    kind: str                                   # 'rnn' | 'gru' | 'lstm' | 'custom'
    is_cell: bool
    nonlinearity: str
    batch_first: bool
    inputs: np.ndarray
    output: np.ndarray
    hidden: np.ndarray
    hidden_grad: np.ndarray
    h_n: np.ndarray | None
    loss: float
    param_grads: dict[str, np.ndarray]
    cell: np.ndarray | None = None
    c_n: np.ndarray | None = None
    gates: dict[str, np.ndarray] = field(default_factory=dict)
    head_output: np.ndarray | None = None
    hidden_norm: np.ndarray | None = None
    grad_norm: np.ndarray | None = None
    saturation: np.ndarray | None = None
    whh_grad_contrib_norm: np.ndarray | None = None
    wih_grad_contrib_norm: np.ndarray | None = None
    step_ms: np.ndarray | None = None
    records: list[StepRecord] = field(default_factory=list)   # per cell done, when stepped (record() keeps none)
    operands: list[list[Operand]] = field(default_factory=list)  # per layer: name, shape, dtype, device
    equation: str = ""
    spec: object | None = None                   # RNNSpec when known
    loss_name: str = "sum"
    device: str = "cpu"
    input_grad: np.ndarray | None = None
    packed_lengths: np.ndarray | None = None
    module_path: str = ""                        # the part's path in the user's model ("encoder.lstm")
    train_mode: bool = False                     # recorded in train mode (dropout applied)
    config: dict = field(default_factory=dict)   # the part's own configuration (type, sizes, dropout...)
    notes: list[str] = field(default_factory=list)  # where the numbers cannot equal the module's, why
    h0: np.ndarray | None = None                 # own-model parts: initial state (L*D, B, H) each call started from
    c0: np.ndarray | None = None                 # LSTM parts: initial cell state (L*D, B, H)
    first_nonfinite: dict | None = None          # {tensor, layer, direction, t} of the first NaN/Inf, if any
    storage: object | None = None                # storage.SpooledStorage when the large arrays are on disk

    def __post_init__(self) -> None:
        if self.hidden_norm is None:
            self.hidden_norm = _norm_over_batch(self.hidden)
        if self.grad_norm is None:
            self.grad_norm = _norm_over_batch(self.hidden_grad)

    @property
    def num_layers(self) -> int:
        return self.hidden.shape[0]

    @property
    def num_directions(self) -> int:
        return self.hidden.shape[1]

    @property
    def seq_len(self) -> int:
        """T of the whole run (a window of a trace on disk holds fewer timesteps: engine/window.py)."""
        return self.hidden_norm.shape[2] if self.hidden_norm is not None else self.hidden.shape[2]

    @property
    def batch_size(self) -> int:
        return self.hidden.shape[3]

    @property
    def hidden_size(self) -> int:
        return self.hidden.shape[4]

    @property
    def spooled(self) -> bool:
        """True when hidden, hidden_grad, cell and gates are memory maps of files on disk (see storage.py)."""
        from .storage import SpooledStorage

        return isinstance(self.storage, SpooledStorage)

    @property
    def windowed(self) -> bool:
        """True for a replay's window of a spooled trace: the large arrays hold some timesteps only (window.py)."""
        return self.storage is not None and not self.spooled

    @property
    def param_grad_norms(self) -> dict[str, float]:
        return {name: float(np.linalg.norm(g)) for name, g in self.param_grads.items()}

    # -- files ---------------------------------------------------------------------------
    def save(self, path) -> None:
        """Write one .npz: arrays by name plus a JSON `meta` entry (format, version, spec, versions).

        A spooled trace is written from its files a block at a time, when the result could be
        loaded back (within load_trace's size limit); TraceFileError naming the size otherwise."""
        if self.windowed:
            raise TraceFileError("this is the window a replay shows of a run recorded to disk, not the whole run: "
                                 "save the trace rnnviz.record returned instead")
        if self.spooled:
            _check_spooled_size(self)
        arrays = {}
        for name in _ARRAY_FIELDS:
            value = getattr(self, name)
            if value is not None:
                arrays[name] = np.asarray(value)
        for name, value in self.param_grads.items():
            arrays[f"param_grad/{name}"] = np.asarray(value)
        for name, value in self.gates.items():
            arrays[f"gate/{name}"] = np.asarray(value)
        arrays["meta"] = np.array(json.dumps(self._meta()))
        if hasattr(path, "write"):
            np.savez_compressed(path, **arrays)
            return
        write_atomically(Path(path), lambda handle: np.savez_compressed(handle, **arrays), TraceFileError)

    def _meta(self) -> dict:
        import torch

        from rnnviz.version import __version__

        return {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "kind": self.kind, "is_cell": self.is_cell, "nonlinearity": self.nonlinearity,
            "batch_first": self.batch_first, "loss": self.loss, "loss_name": self.loss_name,
            "device": self.device, "records": [r.as_dict() for r in self.records],
            "operands": [[op.as_dict() for op in layer] for layer in self.operands], "equation": self.equation,
            "first_nonfinite": self.first_nonfinite,
            "spec": self.spec.to_dict() if self.spec is not None else None,
            "module_path": self.module_path, "train_mode": self.train_mode, "config": self.config,
            "notes": self.notes,
            "torch_version": torch.__version__, "rnnviz_version": __version__,
        }


_ARRAY_FIELDS = ("inputs", "output", "hidden", "hidden_grad", "h_n", "cell", "c_n", "head_output",
                 "hidden_norm", "grad_norm", "saturation", "whh_grad_contrib_norm", "wih_grad_contrib_norm",
                 "step_ms", "input_grad", "packed_lengths", "h0", "c0")
_REQUIRED = ("inputs", "output", "hidden", "hidden_grad")


def _check_spooled_size(trace: Trace) -> None:
    from .memory import format_bytes

    limit = trace_check.max_trace_bytes()
    size = trace.storage.disk_bytes + trace.inputs.nbytes
    if size > limit:
        raise TraceFileError(
            f"this trace is recorded to disk ({format_bytes(size)}), over the {format_bytes(limit)} a trace file "
            f"may hold when it is loaded ({trace_check.MAX_BYTES_ENV}): record a shorter run to save it")


def _norm_over_batch(values: np.ndarray) -> np.ndarray:
    """Frobenius norm over the trailing (B, H) axes; NaN where not computed yet."""
    return np.sqrt(np.sum(np.square(values, dtype=np.float64), axis=(-2, -1)))


def load_trace(path, *, max_bytes: int | None = None) -> Trace:
    """Read a trace written by Trace.save, checking everything (see trace_check); TraceFileError
    naming the file and the field otherwise. `max_bytes` caps the unpacked size (default 2 GiB,
    or $RNNVIZ_TRACE_MAX_BYTES), checked from the file's headers before anything is inflated."""
    path = Path(path)
    name = str(path)
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except FileNotFoundError:
        raise TraceFileError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise TraceFileError(f"{name}: is a directory, not a trace file") from None
    except OSError as exc:
        raise TraceFileError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    if magic != b"PK\x03\x04":  # every .npz is a zip archive
        raise TraceFileError(f"{name}: not an rnnviz trace (.npz) file: not a zip archive")
    contents = trace_check.read_arrays(name, path, trace_check.max_trace_bytes() if max_bytes is None else max_bytes)
    return _trace_from_arrays(name, contents)


def _trace_from_arrays(name: str, contents: dict) -> Trace:
    if "meta" not in contents:
        raise TraceFileError(f"{name}: not an rnnviz trace (no 'meta' entry)")
    meta = trace_check.check_meta(name, contents.pop("meta"))
    dims = trace_check.check_arrays(name, contents, meta, _ARRAY_FIELDS)
    spec = trace_check.check_meta_against(name, meta, dims)
    operands, records = _typed_steps(name, meta)
    fields = {key: contents.get(key) for key in _ARRAY_FIELDS}
    if fields["output"] is not None and fields["output"].size == 0:
        fields["output"] = np.full(0, np.nan)
    return Trace(
        kind=meta["kind"], is_cell=meta["is_cell"], nonlinearity=meta["nonlinearity"], batch_first=meta["batch_first"],
        loss=float(meta["loss"]), loss_name=meta["loss_name"], device=meta["device"], records=records, spec=spec,
        operands=operands, equation=meta["equation"], first_nonfinite=meta["first_nonfinite"],
        module_path=meta["module_path"], train_mode=meta["train_mode"], config=meta["config"],
        notes=[str(n) for n in meta["notes"]],
        param_grads={k.split("/", 1)[1]: v for k, v in contents.items() if k.startswith("param_grad/")},
        gates={k.split("/", 1)[1]: v for k, v in contents.items() if k.startswith("gate/")},
        **fields,
    )


def _typed_steps(name: str, meta: dict) -> tuple[list[list[Operand]], list[StepRecord]]:
    """The file's operand and record entries (JSON dicts) as typed objects."""
    try:
        operands = [[Operand.from_dict(op) for op in layer] for layer in meta.get("operands") or []]
        equation = str(meta.get("equation", ""))
        records = []
        for entry in meta.get("records") or []:
            layer = int(entry["layer"])
            records.append(StepRecord.from_dict(entry, operands[layer] if layer < len(operands) else [], equation))
    except (KeyError, TypeError, ValueError) as exc:
        raise TraceFileError(f"{name}: invalid step records or operands in metadata ({exc!r})") from None
    return operands, records
