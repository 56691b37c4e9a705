"""The operands of one cell step — name, shape, dtype, device — and the equation they appear in."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from .names import EQUATIONS, GATE_NAMES


@dataclass(frozen=True)
class Operand:
    name: str
    shape: tuple[int, ...]
    dtype: str
    device: str

    def as_dict(self) -> dict:
        """The file format's entry."""
        return dict(asdict(self), shape=list(self.shape))

    @classmethod
    def from_dict(cls, entry: dict) -> "Operand":
        return cls(str(entry["name"]), tuple(int(n) for n in entry["shape"]), str(entry["dtype"]), str(entry["device"]))


@dataclass(frozen=True)
class CellShapes:
    """What fixes every operand's shape in one layer: the same for all of its timesteps."""

    kind: str            # rnn | gru | lstm
    batch: int
    input_features: int  # I for layer 0, D*H above
    hidden: int
    bias: bool
    head_features: int   # 0 when there is no head
    dtype: str
    device: str


def operands(shapes: CellShapes) -> list[Operand]:
    """Operands in the order of the cell equation."""
    B, I, H = shapes.batch, shapes.input_features, shapes.hidden
    gate_names = GATE_NAMES[shapes.kind]
    gates = len(gate_names)
    items = [("X_t", (B, I)), ("H_{t-1}", (B, H)), ("W_ih", (gates * H, I)), ("W_hh", (gates * H, H))]
    if shapes.bias:
        items += [("b_ih", (gates * H,)), ("b_hh", (gates * H,))]
    items += [(gate_operand(name), (B, H)) for name in gate_names]
    if shapes.kind == "lstm":
        items += [("C_{t-1}", (B, H)), ("C_t", (B, H))]
    items.append(("H_t", (B, H)))
    if shapes.head_features:
        items.append(("Y_t", (B, shapes.head_features)))
    return [Operand(name, shape, shapes.dtype, shapes.device) for name, shape in items]


def gate_operand(gate: str) -> str:
    """The operand name of a gate in the equation: 'A' -> 'A_t'."""
    return f"{gate}_t"


def equation(kind: str, nonlinearity: str = "tanh") -> str:
    return EQUATIONS[kind].replace("{phi}", nonlinearity)
