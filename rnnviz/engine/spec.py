"""RNNSpec: everything the window can build, as one frozen, validated, JSON-able value."""
from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field, fields

from .fields import Field, FieldError

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


class SpecError(FieldError):
    """A spec value that is out of range, or a combination torch would reject; `.field` names the field."""


RNN_KINDS = ("rnn", "rnn_cell")
LSTM_KINDS = ("lstm", "lstm_cell")
LAYERED_KINDS = tuple(k for k in KINDS if k not in CELL_KINDS)

# The one table of spec fields, in the form's order: validate() and the window's SpecForm read it.
FIELDS = (
    Field("kind", str, choices=KINDS),
    Field("input_size", int, low=1, high=65536),
    Field("hidden_size", int, low=1, high=65536),
    Field("num_layers", int, low=1, high=16, kinds=LAYERED_KINDS),
    Field("nonlinearity", str, choices=NONLINEARITIES, kinds=RNN_KINDS),
    Field("bias", bool),
    Field("batch_first", bool, kinds=LAYERED_KINDS),
    Field("bidirectional", bool, kinds=LAYERED_KINDS),
    Field("dropout", float, low=0.0, high=1.0, high_open=True, kinds=LAYERED_KINDS),
    Field("output_size", int, label="output_size (head)", low=0, high=65536),
    Field("seq_len", int, low=1, high=100000),
    Field("batch_size", int, low=1, high=65536),
    Field("dtype", str, choices=DTYPES),
    Field("device", str, help="cpu, cuda, cuda:N or mps"),
    Field("seed", int, low=0, high=2**63 - 1),
    Field("init", str, choices=INITS),
    Field("init_sigma", float, label="init σ", low=0.0, low_open=True),
    Field("whh_scale", float, label="W_hh spectral radius", low=0.0, low_open=True, high=WHH_SCALE_MAX, optional=True,
          help="Rescale every W_hh to this spectral radius (largest |eigenvalue|); at most 100 (beyond, it only overflows)"),
    Field("forget_bias", float, label="LSTM forget bias", optional=True, kinds=LSTM_KINDS,
          help="set the forget gate's slice of b_ih to this value (and b_hh's to 0); 1-2 keeps gradients alive over long spans"),
    Field("input_source", str, choices=INPUT_SOURCES),
    Field("text", str),
    Field("loss", str, choices=LOSSES),
)
FIELDS_BY_NAME = {f.name: f for f in FIELDS}


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
            raise SpecError(f"unknown spec field(s): {', '.join(sorted(unknown))}", field=min(unknown))
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


def validate(spec: RNNSpec) -> None:
    """Raise SpecError naming the field (`.field` too), the value and what is allowed."""
    for f in FIELDS:
        f.check(getattr(spec, f.name), SpecError)
    if not _DEVICE_PATTERN.match(spec.device):
        raise SpecError(f"device must be cpu, cuda, cuda:N or mps, got {spec.device!r}", field="device")
    if spec.device == "mps" and spec.dtype == "float64":
        raise SpecError("dtype float64 is not available on device mps (Apple GPUs compute in float32); use float32",
                        field="dtype")
    if spec.forget_bias is not None:
        if spec.base_kind != "lstm":
            raise SpecError(f"forget_bias applies to lstm and lstm_cell only, got kind {spec.kind}", field="forget_bias")
        if not spec.bias:
            raise SpecError("forget_bias needs bias=True", field="forget_bias")

    if spec.kind not in ("rnn", "rnn_cell") and spec.nonlinearity != "tanh":
        raise SpecError(f"nonlinearity applies to rnn and rnn_cell only; {spec.kind} needs 'tanh', got {spec.nonlinearity!r}",
                        field="nonlinearity")
    if spec.kind in CELL_KINDS:
        if spec.num_layers != 1:
            raise SpecError(f"num_layers must be 1 for {spec.kind} (a cell is one layer), got {spec.num_layers}", field="num_layers")
        if spec.bidirectional:
            raise SpecError(f"bidirectional is not available for {spec.kind}; use {spec.base_kind}", field="bidirectional")
        if spec.batch_first:
            raise SpecError(f"batch_first is not available for {spec.kind}: a cell takes (batch, feature) per step",
                            field="batch_first")
        if spec.dropout:
            raise SpecError(f"dropout is not available for {spec.kind}, got {spec.dropout}", field="dropout")
    elif spec.dropout and spec.num_layers == 1:
        raise SpecError(f"dropout acts between layers: it needs num_layers >= 2, got num_layers=1 and dropout={spec.dropout}",
                        field="dropout")
    if spec.init == "identity" and spec.kind not in ("rnn", "rnn_cell"):
        raise SpecError(f"init 'identity' (W_hh = I) applies to rnn and rnn_cell only, got kind {spec.kind}", field="init")

    if spec.input_source == "text" or spec.loss == "char_ce":
        if spec.input_source != "text":
            raise SpecError(f"loss 'char_ce' needs input_source 'text', got {spec.input_source!r}", field="input_source")
        if len(spec.text) < 2:
            raise SpecError(f"text must have at least 2 characters, got {len(spec.text)}", field="text")
        vocab = len(text_vocabulary(spec.text))
        if spec.input_size != vocab:
            raise SpecError(
                f"input_size must equal the text's vocabulary size ({vocab} for {spec.text!r}), got {spec.input_size}",
                field="input_size")
        if spec.seq_len > len(spec.text) - 1:
            raise SpecError(f"seq_len must be <= len(text) - 1 = {len(spec.text) - 1} for text input, got {spec.seq_len}",
                            field="seq_len")
    if spec.loss == "char_ce" and spec.head_features != len(text_vocabulary(spec.text)):
        vocab = len(text_vocabulary(spec.text))
        raise SpecError(f"loss 'char_ce' needs output_size = vocabulary size {vocab}, got {spec.head_features}",
                        field="output_size")
