"""ModuleInfo: the configuration of one of torch's recurrent modules (kind, sizes, layout), read
off the module or from a spec.

No torch import: the module is recognised by its classes' names and torch.nn origin, so the
window's Input tab (which must not load torch) checks shapes with the same record the engine
runs with."""
from __future__ import annotations

from dataclasses import dataclass

_KINDS = {"LSTM": ("lstm", False), "GRU": ("gru", False), "RNN": ("rnn", False),
          "LSTMCell": ("lstm", True), "GRUCell": ("gru", True), "RNNCell": ("rnn", True)}


def module_kind(module) -> tuple[str, bool]:
    """('rnn' | 'gru' | 'lstm', is_cell) for torch's recurrent modules and subclasses of them;
    ValueError otherwise."""
    for klass in type(module).__mro__:
        if klass.__name__ in _KINDS and klass.__module__.startswith("torch.nn"):
            return _KINDS[klass.__name__]
    raise ValueError(f"not a torch recurrent module: {type(module).__name__}")


@dataclass(frozen=True)
class ModuleInfo:
    kind: str                 # rnn | gru | lstm
    is_cell: bool
    num_layers: int
    num_directions: int
    input_size: int
    hidden_size: int
    bias: bool = True
    batch_first: bool = False
    nonlinearity: str = "tanh"
    proj_size: int = 0

    @classmethod
    def of(cls, module) -> "ModuleInfo":
        kind, is_cell = module_kind(module)
        return cls(kind=kind, is_cell=is_cell,
                   num_layers=1 if is_cell else int(module.num_layers),
                   num_directions=2 if getattr(module, "bidirectional", False) else 1,
                   input_size=int(module.input_size), hidden_size=int(module.hidden_size), bias=bool(module.bias),
                   batch_first=bool(getattr(module, "batch_first", False)),
                   nonlinearity=getattr(module, "nonlinearity", "tanh"),
                   proj_size=int(getattr(module, "proj_size", 0) or 0))

    @classmethod
    def from_spec(cls, spec) -> "ModuleInfo":
        """What a spec will build, before anything is built."""
        return cls(kind=spec.base_kind, is_cell=spec.is_cell, num_layers=spec.num_layers,
                   num_directions=2 if spec.bidirectional else 1, input_size=spec.input_size,
                   hidden_size=spec.hidden_size, bias=spec.bias, batch_first=spec.batch_first,
                   nonlinearity=spec.nonlinearity)

    def layer_input_size(self, layer: int) -> int:
        return self.input_size if layer == 0 else self.hidden_size * self.num_directions

    @property
    def activation(self) -> str:
        """The nonlinearity that makes H_t: relu only for relu RNNs."""
        return self.nonlinearity if self.kind == "rnn" else "tanh"

    @property
    def state_size(self) -> int:
        """The size of h: proj_size when the LSTM projects, else hidden_size."""
        return self.proj_size or self.hidden_size
