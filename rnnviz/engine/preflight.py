"""Shape pre-flight: inputs and initial states checked against the module before anything runs.

Pure shape arithmetic on tuples (no torch import), so the window's Input tab can say what torch
would say about a typed shape before building; `check_shapes(module, inputs, h0)` is the same
check on real tensors and raises ShapeError naming the wrong dimension, the expected and given
shapes, and the tutorial's layout.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .module_info import ModuleInfo


class ShapeError(ValueError):
    """An input or initial state whose shape does not fit the module."""


def layout_text(m: ModuleInfo, seq: int | str = "seq_len", batch: int | str = "batch") -> str:
    """The tutorial's layout diagram: each tensor's named dimensions, then this module's numbers."""
    D, L, H, S = m.num_directions, m.num_layers, m.hidden_size, m.state_size
    rows = []
    if m.is_cell:
        rows.append(("input", "(seq_len, batch, input_size)", (seq, batch, m.input_size),
                     "a cell is stepped one X_t at a time"))
        rows.append(("h0", "(batch, hidden_size)", (batch, H), "2-D: a cell has no layer dimension"))
        if m.kind == "lstm":
            rows.append(("c0", "(batch, hidden_size)", (batch, H), ""))
    else:
        first, second = ("batch", "seq_len") if m.batch_first else ("seq_len", "batch")
        values = (batch, seq) if m.batch_first else (seq, batch)
        state = "proj_size" if m.proj_size else "hidden_size"
        rows.append(("input", f"({first}, {second}, input_size)", (*values, m.input_size),
                     "batch_first=True" if m.batch_first else ""))
        rows.append(("h0", f"(num_layers*num_directions, batch, {state})", (L * D, batch, S),
                     "never batch_first"))
        if m.kind == "lstm":
            rows.append(("c0", "(num_layers*num_directions, batch, hidden_size)", (L * D, batch, H), ""))
        rows.append(("out", f"({first}, {second}, num_directions*{state})", (*values, D * S), ""))
        rows.append(("h_n", "like h0", (L * D, batch, S), ""))
    lines = []
    for name, dims, numbers, note in rows:
        lines.append(f"{name:<6}{dims}")
        lines.append(f"{'':<6}= {_fmt(numbers)}" + (f"    {note}" if note else ""))
    return "\n".join(lines)


@dataclass
class ShapeReport:
    problems: list[str] = field(default_factory=list)
    layout: str = ""
    seq_len: int | None = None
    batch: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def message(self) -> str:
        return "\n".join(self.problems) + "\nThe layout torch expects:\n" + self.layout


def _fmt(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


INPUT_DIMS = {False: ("seq_len", "batch", "input_size"), True: ("batch", "seq_len", "input_size")}


def check_input_shapes(m: ModuleInfo, input_shape, h0_shape=None, c0_shape=None) -> ShapeReport:
    """What torch (and rnnviz's runner) would say about these shapes, every problem named."""
    report = ShapeReport()
    given = tuple(int(s) for s in input_shape)
    batch_first = m.batch_first and not m.is_cell
    names = INPUT_DIMS[batch_first]
    expected_text = _fmt(("batch", "seq", m.input_size) if batch_first else ("seq", "batch", m.input_size))
    if len(given) != 3:
        report.problems.append(f"Expected input of size {expected_text}, got {_fmt(given)}: the input must have 3 "
                               f"dimensions {_fmt(names)}, it has {len(given)}")
    else:
        if given[2] != m.input_size:
            report.problems.append(f"Expected input of size {expected_text}, got {_fmt(given)}: dimension 2 "
                                   f"(input_size) must be {m.input_size}, got {given[2]}")
        for dim, name in enumerate(names[:2]):
            if given[dim] == 0:
                report.problems.append(f"input dimension {dim} ({name}) is 0: the sequence and the batch must not be empty")
        report.seq_len, report.batch = (given[1], given[0]) if batch_first else (given[0], given[1])
    batch = report.batch if report.batch is not None else "batch"
    for name, shape, size in (("h0", h0_shape, m.state_size), ("c0", c0_shape, m.hidden_size)):
        if shape is None or (name == "c0" and m.kind != "lstm"):
            continue
        shape = tuple(int(s) for s in shape)
        expected = (batch, size) if m.is_cell else (m.num_layers * m.num_directions, batch, size)
        dims = ("batch", "hidden_size") if m.is_cell else ("num_layers * num_directions", "batch",
                                                          "proj_size" if name == "h0" and m.proj_size else "hidden_size")
        wrong = [] if len(shape) == len(expected) else [f"it must have {len(expected)} dimensions {_fmt(dims)}, "
                                                        f"it has {len(shape)}"]
        if not wrong:
            wrong = [f"dimension {i} ({dims[i]}) must be {e}, got {g}" for i, (e, g) in enumerate(zip(expected, shape))
                     if isinstance(e, int) and e != g]
        if wrong:
            report.problems.append(f"Expected hidden size {_fmt(expected)}, got {_fmt(shape)} for {name}: " + "; ".join(wrong))
    report.layout = layout_text(m, report.seq_len if report.seq_len is not None else "seq_len", batch)
    return report


def parse_shape(text: str) -> tuple[int, ...]:
    """'(5, 6, 4)' or '5 6 4' or '5x6x4' -> (5, 6, 4); ValueError naming the problem."""
    cleaned = text.strip().strip("()[]").replace("x", ",").replace(" ", ",")
    parts = [p for p in cleaned.split(",") if p]
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(f"a shape is whole numbers such as (5, 6, 4), got {text!r}") from None
    if not shape or any(s < 0 for s in shape):
        raise ValueError(f"a shape is one or more whole numbers >= 0 such as (5, 6, 4), got {text!r}")
    return shape


def check_shapes(module, inputs, h0=None) -> ShapeReport:
    """Check real tensors against `module` before anything runs; ShapeError (a ValueError) with
    every problem named and the layout, or the report when all fits."""
    try:
        m = ModuleInfo.of(module)
    except ValueError:
        raise ShapeError(f"shape pre-flight knows nn.RNN/GRU/LSTM and their cells, not {type(module).__name__}") from None
    h0_shape = c0_shape = None
    if h0 is not None:
        if m.kind == "lstm":
            if not (isinstance(h0, (tuple, list)) and len(h0) == 2):
                raise ShapeError("an LSTM's initial state must be a pair (h0, c0)\nThe layout torch expects:\n"
                                 + layout_text(m))
            h0_shape, c0_shape = tuple(h0[0].shape), tuple(h0[1].shape)
        else:
            h0_shape = tuple(h0.shape)
    report = check_input_shapes(m, tuple(inputs.shape), h0_shape, c0_shape)
    if not report.ok:
        raise ShapeError(report.message())
    return report
