"""RNNSpec: everything the window can build, as one frozen, validated, JSON-able value."""
from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass, field, fields

KINDS = ("rnn_cell", "rnn", "gru_cell", "gru", "lstm_cell", "lstm")
CELL_KINDS = ("rnn_cell", "gru_cell", "lstm_cell")
NONLINEARITIES = ("tanh", "relu")
DTYPES = ("float32", "float64")
INITS = ("default", "orthogonal", "identity", "normal")
INPUT_SOURCES = ("randn", "sine", "text")
LOSSES = ("sum", "last", "mse", "char_ce")
WHH_SCALE_MAX = 100.0

LOSS_DESCRIPTIONS = {
    "sum": "sum of all outputs, out.sum()",
    "last": "sum of the last timestep's output only: every gradient at an early h_t came back through time",
    "mse": "mean squared error to a seeded random target",
    "char_ce": "cross-entropy of the next character of the text",
}

_DEVICE_PATTERN = re.compile(r"^(cpu|mps|cuda(:\d+)?)$")


class SpecError(ValueError):
    """A spec value that is out of range, or a combination torch would reject."""


def text_vocabulary(text: str) -> list[str]:
    """The sorted set of characters of `text`: the one-hot alphabet of the char presets."""
    return sorted(set(text))


@dataclass(frozen=True)
class RNNSpec:
    """A recurrent network, its input and its loss.

    ``forget_bias``, for LSTMs, sets the forget gate's slice of b_ih (and zeroes b_hh's), as
    Gers et al. (2000) advise for long spans.

    ``kind`` picks the torch module: ``rnn_cell``/``gru_cell``/``lstm_cell`` are stepped by
    hand over a (seq, batch, feature) input; ``rnn``/``gru``/``lstm`` are the multi-layer
    modules. ``output_size`` > 0 adds a Linear head O_t = H_t W_hq + b_q. ``whh_scale``, when
    set, rescales every W_hh to that spectral radius (largest |eigenvalue|).
    """

    kind: str = "rnn"
    input_size: int = 4
    hidden_size: int = 2
    num_layers: int = 1
    nonlinearity: str = "tanh"
    bias: bool = True
    batch_first: bool = False
    bidirectional: bool = False
    dropout: float = 0.0
    output_size: int = 0
    seq_len: int = 6
    batch_size: int = 5
    dtype: str = "float32"
    device: str = "cpu"
    seed: int = 0
    init: str = "default"
    init_sigma: float = 0.1
    whh_scale: float | None = None
    forget_bias: float | None = None
    input_source: str = "randn"
    text: str = "hello world"
    loss: str = "sum"
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        validate(self)

    # -- derived -------------------------------------------------------------------------
    @property
    def is_cell(self) -> bool:
        return self.kind in CELL_KINDS

    @property
    def base_kind(self) -> str:
        """'rnn', 'gru' or 'lstm'."""
        return self.kind.removesuffix("_cell")

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def out_features(self) -> int:
        """Feature size of the recurrent output (before any head)."""
        return self.hidden_size * self.num_directions

    @property
    def head_features(self) -> int:
        return self.output_size if self.output_size else self.out_features

    # -- edits and files -----------------------------------------------------------------
    def replace(self, **changes) -> "RNNSpec":
        """A copy with `changes` applied and validated (raises SpecError)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise SpecError(f"unknown spec field(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> "RNNSpec":
        if not isinstance(data, dict):
            raise SpecError(f"a spec must be a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            # repr: a name read from a file may hold a newline
            raise SpecError(f"unknown spec field(s): {', '.join(map(repr, sorted(unknown)))}")
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> "RNNSpec":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(f"not valid JSON: {exc}") from None
        return cls.from_dict(data)


def _check_type(name: str, value, kinds, expected: str) -> None:
    # bool is an int subclass; a checkbox value in an int field is a mistake.
    if isinstance(value, bool) and bool not in kinds:
        raise SpecError(f"{name} must be {expected}, got {value!r}")
    if not isinstance(value, kinds):
        raise SpecError(f"{name} must be {expected}, got {value!r}")


def _check_int(name: str, value, low: int, high: int) -> None:
    _check_type(name, value, (int,), "an integer")
    if not low <= value <= high:
        raise SpecError(f"{name} must be between {low} and {high}, got {value}")


def _check_choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise SpecError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")


def validate(spec: RNNSpec) -> None:
    """Raise SpecError naming the field, the value and what is allowed."""
    _check_choice("kind", spec.kind, KINDS)
    _check_int("input_size", spec.input_size, 1, 65536)
    _check_int("hidden_size", spec.hidden_size, 1, 65536)
    _check_int("num_layers", spec.num_layers, 1, 16)
    _check_choice("nonlinearity", spec.nonlinearity, NONLINEARITIES)
    _check_type("bias", spec.bias, (bool,), "true or false")
    _check_type("batch_first", spec.batch_first, (bool,), "true or false")
    _check_type("bidirectional", spec.bidirectional, (bool,), "true or false")
    _check_type("dropout", spec.dropout, (int, float), "a number")
    if not 0.0 <= spec.dropout < 1.0:
        raise SpecError(f"dropout must be >= 0 and < 1, got {spec.dropout}")
    _check_int("output_size", spec.output_size, 0, 65536)
    _check_int("seq_len", spec.seq_len, 1, 100000)
    _check_int("batch_size", spec.batch_size, 1, 65536)
    _check_choice("dtype", spec.dtype, DTYPES)
    _check_type("device", spec.device, (str,), "a string")
    if not _DEVICE_PATTERN.match(spec.device):
        raise SpecError(f"device must be cpu, cuda, cuda:N or mps, got {spec.device!r}")
    if spec.device == "mps" and spec.dtype == "float64":
        raise SpecError("dtype float64 is not available on device mps (Apple GPUs compute in float32); use float32")
    _check_int("seed", spec.seed, 0, 2**63 - 1)
    _check_choice("init", spec.init, INITS)
    _check_type("init_sigma", spec.init_sigma, (int, float), "a number")
    if not (math.isfinite(spec.init_sigma) and spec.init_sigma > 0):
        raise SpecError(f"init_sigma must be > 0, got {spec.init_sigma}")
    if spec.whh_scale is not None:
        _check_type("whh_scale", spec.whh_scale, (int, float), "a number or null")
        # A spectral radius above 100 only overflows: 100**T passes float32's range by T = 20.
        if not (math.isfinite(spec.whh_scale) and 0 < spec.whh_scale <= WHH_SCALE_MAX):
            raise SpecError(f"whh_scale must be > 0 and <= {WHH_SCALE_MAX:g} (a spectral radius), got {spec.whh_scale}")
    if spec.forget_bias is not None:
        _check_type("forget_bias", spec.forget_bias, (int, float), "a number or null")
        if not math.isfinite(spec.forget_bias):
            raise SpecError(f"forget_bias must be a finite number, got {spec.forget_bias}")
        if spec.base_kind != "lstm":
            raise SpecError(f"forget_bias applies to lstm and lstm_cell only, got kind {spec.kind}")
        if not spec.bias:
            raise SpecError("forget_bias needs bias=True")
    _check_choice("input_source", spec.input_source, INPUT_SOURCES)
    _check_type("text", spec.text, (str,), "a string")
    _check_choice("loss", spec.loss, LOSSES)

    if spec.kind not in ("rnn", "rnn_cell") and spec.nonlinearity != "tanh":
        raise SpecError(f"nonlinearity applies to rnn and rnn_cell only; {spec.kind} needs 'tanh', got {spec.nonlinearity!r}")
    if spec.kind in CELL_KINDS:
        if spec.num_layers != 1:
            raise SpecError(f"num_layers must be 1 for {spec.kind} (a cell is one layer), got {spec.num_layers}")
        if spec.bidirectional:
            raise SpecError(f"bidirectional is not available for {spec.kind}; use {spec.base_kind}")
        if spec.batch_first:
            raise SpecError(f"batch_first is not available for {spec.kind}: a cell takes (batch, feature) per step")
        if spec.dropout:
            raise SpecError(f"dropout is not available for {spec.kind}, got {spec.dropout}")
    elif spec.dropout and spec.num_layers == 1:
        raise SpecError(f"dropout acts between layers: it needs num_layers >= 2, got num_layers=1 and dropout={spec.dropout}")
    if spec.init == "identity" and spec.kind not in ("rnn", "rnn_cell"):
        raise SpecError(f"init 'identity' (W_hh = I) applies to rnn and rnn_cell only, got kind {spec.kind}")

    if spec.input_source == "text" or spec.loss == "char_ce":
        if spec.input_source != "text":
            raise SpecError(f"loss 'char_ce' needs input_source 'text', got {spec.input_source!r}")
        if len(spec.text) < 2:
            raise SpecError(f"text must have at least 2 characters, got {len(spec.text)}")
        vocab = len(text_vocabulary(spec.text))
        if spec.input_size != vocab:
            raise SpecError(
                f"input_size must equal the text's vocabulary size ({vocab} for {spec.text!r}), got {spec.input_size}"
            )
        if spec.seq_len > len(spec.text) - 1:
            raise SpecError(f"seq_len must be <= len(text) - 1 = {len(spec.text) - 1} for text input, got {spec.seq_len}")
    if spec.loss == "char_ce" and spec.head_features != len(text_vocabulary(spec.text)):
        vocab = len(text_vocabulary(spec.text))
        raise SpecError(f"loss 'char_ce' needs output_size = vocabulary size {vocab}, got {spec.head_features}")
