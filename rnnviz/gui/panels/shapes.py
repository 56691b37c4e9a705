"""Shapes: the cell equation with the real shape under each operand, the whole-sequence tensors with
named dimensions, and a table of every tensor at this step."""
from __future__ import annotations

import html
import re

from ..frame import Frame, record_get
from ..qt import QtCore, QtGui, QtWidgets
from ..widgets import StaticText

TABLE_COLUMNS = ("name", "shape", "dtype", "device", "min", "max", "mean", "norm", "NaN", "Inf")


def _shape_text(shape) -> str:
    return "x".join(str(int(s)) for s in shape) if len(shape) else "scalar"


def _operand_map(record) -> dict:
    out = {}
    for op in record_get(record, "operands", []) or []:
        name = op["name"] if isinstance(op, dict) else op.name
        shape = tuple(op["shape"] if isinstance(op, dict) else op.shape)
        out[name] = shape
    return out


def tokenize(equation: str, operands: dict) -> list[tuple[str, tuple | None]]:
    """Split `equation` into (text, shape-or-None) tokens; `W^T` gets the transposed shape."""
    if not operands:
        return [(equation, None)]
    names = sorted(operands, key=len, reverse=True)
    pattern = re.compile("(" + "|".join(re.escape(n) for n in names) + r")(\^T)?(?![\w{])")
    tokens, pos = [], 0
    for m in pattern.finditer(equation):
        if m.start() > pos:
            tokens.append((equation[pos:m.start()], None))
        shape = operands[m.group(1)]
        if m.group(2):
            shape = tuple(reversed(shape))
        tokens.append((m.group(0), shape))
        pos = m.end()
    if pos < len(equation):
        tokens.append((equation[pos:], None))
    return tokens


def equation_lines(equation: str) -> list[str]:
    """The engine writes several equations on one line separated by ';  ': one per line here."""
    return [part.strip() for line in equation.splitlines() for part in line.split(";  ") if part.strip()]


def equation_text(equation: str, operands: dict) -> str:
    """'H_t (5x2) = tanh(X_t (5x4) · W_ih^T (4x2) + ...)': each operand followed by its real shape."""
    lines = []
    for line in equation_lines(equation):
        lines.append("".join(t if s is None else f"{t} ({_shape_text(s)})" for t, s in tokenize(line, operands)))
    return "\n".join(lines)


def equation_html(equation: str, operands: dict, points: int = 14) -> str:
    rows = []
    for line in equation_lines(equation):
        tokens = tokenize(line, operands)
        top = "".join(
            f"<td align='center' style='padding:0 3px'><b style='color:#1f4e9c'>{html.escape(t)}</b></td>" if s is not None
            else f"<td align='center'>{html.escape(t.strip()) or '&nbsp;'}</td>"
            for t, s in tokens
        )
        bottom = "".join(
            f"<td align='center' style='color:#b03a00; font-size:11pt'>({_shape_text(s)})</td>" if s is not None else "<td></td>"
            for t, s in tokens
        )
        rows.append(f"<table cellspacing='0' style='font-size:{points}pt; margin-bottom:2px'><tr>{top}</tr><tr>{bottom}</tr></table>")
    return "".join(rows)


def sequence_tensors(trace) -> list[tuple[str, tuple, str]]:
    """(name, shape, dimension names) of the whole-sequence tensors: input, out, h_n, c_n, head output.

    Shapes follow from the trace's (L, D, T, B, H) and layout, so they show before the forward pass ends."""
    L, D, T, B, H = trace.hidden.shape
    batch_first = bool(getattr(trace, "batch_first", False))
    cell = bool(getattr(trace, "is_cell", False))
    inputs = getattr(trace, "inputs", None)
    I = inputs.shape[-1] if inputs is not None and getattr(inputs, "ndim", 0) == 3 else None
    seq = ("batch", "seq") if batch_first else ("seq", "batch")
    lead = (B, T) if batch_first else (T, B)
    rows = []
    if I is not None:
        rows.append(("input", lead + (I,), f"({seq[0]}, {seq[1]}, input_size)"))
    if cell:
        rows.append(("out (H_t stacked)", (T, B, H), "(seq, batch, hidden_size)"))
        rows.append(("h_n (last H_t)", (B, H), "(batch, hidden_size)"))
        if trace.kind == "lstm":
            rows.append(("c_n (last C_t)", (B, H), "(batch, hidden_size)"))
    else:
        feat = "hidden_size" if D == 1 else "2*hidden_size"
        rows.append(("out", lead + (D * H,), f"({seq[0]}, {seq[1]}, {feat})"))
        layers = "num_layers" if D == 1 else "2*num_layers"
        rows.append(("h_n", (L * D, B, H), f"({layers}, batch, hidden_size)"))
        if trace.kind == "lstm":
            rows.append(("c_n", (L * D, B, H), f"({layers}, batch, hidden_size)"))
    spec = getattr(trace, "spec", None)
    Q = getattr(spec, "output_size", 0) if spec is not None else 0
    if Q:
        rows.append(("head output Y", (T, B, Q), "(seq, batch, output_size)"))
    return rows


class ShapesPanel(QtWidgets.QWidget):
    """Fed `update(frame)`."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = StaticText("Cell equation of the current step", bold=True)
        self.equation = QtWidgets.QLabel("Press Step (→) to compute the first cell.")
        self.equation.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.equation.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.equation.setWordWrap(False)
        eq_scroll = QtWidgets.QScrollArea()
        eq_scroll.setWidget(self.equation)
        eq_scroll.setWidgetResizable(True)
        eq_scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        eq_scroll.setMinimumHeight(64)
        self.eq_scroll = eq_scroll
        self.sequence = QtWidgets.QTableWidget(0, 3)
        self.sequence.setHorizontalHeaderLabels(["whole-sequence tensor", "shape", "dimensions"])
        self.table = QtWidgets.QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setHorizontalHeaderLabels(list(TABLE_COLUMNS))
        for table in (self.sequence, self.table):
            table.verticalHeader().hide()
            table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
            table.horizontalHeader().setStretchLastSection(True)
            table.setAlternatingRowColors(True)
        font = QtGui.QFont("monospace")
        font.setStyleHint(QtGui.QFont.StyleHint.Monospace)
        self.table.setFont(font)
        self.sequence.setFont(font)

        lower_left = QtWidgets.QWidget()
        ll = QtWidgets.QVBoxLayout(lower_left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(QtWidgets.QLabel("<b>Whole-sequence tensors</b> (shapes with every dimension named)"))
        ll.addWidget(self.sequence, 1)
        lower_right = QtWidgets.QWidget()
        lr = QtWidgets.QVBoxLayout(lower_right)
        lr.setContentsMargins(0, 0, 0, 0)
        self.table_title = QtWidgets.QLabel("<b>Every tensor at this step</b>")
        lr.addWidget(self.table_title)
        lr.addWidget(self.table, 1)
        split = QtWidgets.QSplitter()
        split.addWidget(lower_left)
        split.addWidget(lower_right)
        split.setSizes([480, 780])
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(eq_scroll)
        layout.addWidget(split, 1)
        self._text = ""
        self._seq_key = None

    def update(self, frame: Frame) -> None:
        record = frame.record
        operands = _operand_map(record)
        eq = record_get(record, "equation", "") or ""
        if record is None or not eq:
            self._text = ""
            self.title.setText("Cell equation — press Step (Right arrow) to compute the first cell")
            self.equation.setText("")
        else:
            cell = frame.cell
            where = "" if cell is None else f" — {cell.phase}, layer {cell.layer}, direction {cell.direction}, t={cell.t}"
            self.title.setText(f"Cell equation of the current step{where}")
            text = equation_text(eq, operands)
            if text != self._text:
                self._text = text
                lines = len(equation_lines(eq))
                self.equation.setText(equation_html(eq, operands, 14 if lines == 1 else 12))
            lines = len(equation_lines(eq))
            height = 70 if lines == 1 else min(50 * lines + 8, 200)
            if self.eq_scroll.height() != height:
                self.eq_scroll.setFixedHeight(height)
            self.equation.setToolTip(self._text)
        seq = sequence_tensors(frame.trace)
        if seq != self._seq_key:
            self._seq_key = seq
            self.sequence.setRowCount(len(seq))
            for r, (name, shape, dims) in enumerate(seq):
                for c, text in enumerate((name, "(" + ", ".join(map(str, shape)) + ")", dims)):
                    self.sequence.setItem(r, c, QtWidgets.QTableWidgetItem(text))
            self.sequence.resizeColumnsToContents()
        self._fill_table(frame.rows)

    def _fill_table(self, rows: list) -> None:
        layout_key = tuple((row.get("name"), tuple(row.get("shape", ()))) for row in rows)
        self.table.setUpdatesEnabled(False)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, key in enumerate(TABLE_COLUMNS):
                value = row.get(key.lower())
                if key == "shape":
                    text = "(" + ", ".join(map(str, value)) + ")"
                elif isinstance(value, float):
                    text = f"{value:.4g}"
                else:
                    text = "" if value is None else str(value)
                item = self.table.item(r, c)
                if item is None:  # items are made once per cell, then only their text changes
                    item = QtWidgets.QTableWidgetItem()
                    self.table.setItem(r, c, item)
                if item.text() != text:
                    item.setText(text)
                if key in ("NaN", "Inf"):
                    item.setForeground(QtGui.QColor("#c00000" if value else "#000000"))
        if layout_key != getattr(self, "_table_key", None):  # column widths follow the rows, not every value
            self._table_key = layout_key
            self.table.resizeColumnsToContents()
        self.table.setUpdatesEnabled(True)

    def equation_plain(self) -> str:
        """The equation with each operand's shape, as plain text (what the tests compare)."""
        return self._text

    def sequence_shapes(self) -> dict:
        return {name: shape for name, shape, _ in (self._seq_key or [])}
