"""The operands of one cell step — name, shape, dtype, device — and the equation they appear in."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from .cells import EQUATIONS


@dataclass(frozen=True)
class Operand:
    name: str
    shape: tuple[int, ...]
    dtype: str
    device: str

    def shape_text(self) -> str:
        return "x".join(str(n) for n in self.shape)


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
    gates = {"rnn": 1, "gru": 3, "lstm": 4}[shapes.kind]
    items = [("X_t", (B, I)), ("H_{t-1}", (B, H)), ("W_ih", (gates * H, I)), ("W_hh", (gates * H, H))]
    if shapes.bias:
        items += [("b_ih", (gates * H,)), ("b_hh", (gates * H,))]
    if shapes.kind == "rnn":
        items.append(("A_t", (B, H)))
    elif shapes.kind == "gru":
        items += [("R_t", (B, H)), ("Z_t", (B, H)), ("N_t", (B, H))]
    else:
        items += [("I_t", (B, H)), ("F_t", (B, H)), ("G_t", (B, H)), ("O_t", (B, H)), ("C_{t-1}", (B, H)), ("C_t", (B, H))]
    items.append(("H_t", (B, H)))
    if shapes.head_features:
        items.append(("Y_t", (B, shapes.head_features)))
    return [Operand(name, shape, shapes.dtype, shapes.device) for name, shape in items]


def equation(kind: str, nonlinearity: str = "tanh") -> str:
    return EQUATIONS[kind].replace("{phi}", nonlinearity)


def operands_as_dicts(items: list[Operand]) -> list[dict]:
    return [dict(asdict(item), shape=list(item.shape)) for item in items]
