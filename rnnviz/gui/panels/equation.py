"""A cell's equation with the real shape under each operand: as text, as HTML, and the label that
shows it (one laid-out QLabel kept per recent equation)."""
from __future__ import annotations

import html
import re

from ..qt import QtCore, QtWidgets


def shape_text(shape) -> str:
    return "x".join(str(int(s)) for s in shape) if len(shape) else "scalar"


def operand_map(record) -> dict:
    return {} if record is None else {op.name: tuple(op.shape) for op in record.operands}


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
        lines.append("".join(t if s is None else f"{t} ({shape_text(s)})" for t, s in tokenize(line, operands)))
    return "\n".join(lines)


def equation_args(equation: str, operands: dict) -> tuple:
    """equation_html's arguments for a cell's equation: 14pt on one line, 12pt over several."""
    return (equation, operands, 14 if len(equation_lines(equation)) == 1 else 12)


# Operand names and their shapes: dark ink on a light background, light ink on the dark theme.
EQUATION_COLOURS = {"light": ("#1f4e9c", "#b03a00"), "dark": ("#8cc8ff", "#ffb870")}


def equation_html(equation: str, operands: dict, points: int = 14, theme: dict | None = None) -> str:
    """theme: the window's presentation look (style.theme_of), {} or None for the normal one."""
    theme = theme or {}
    operand, shape = EQUATION_COLOURS["dark" if theme.get("name") == "dark" else "light"]
    points += max(0, theme.get("points", 0) - 12)  # presentation mode: as large as the text around it
    rows = []
    for line in equation_lines(equation):
        tokens = tokenize(line, operands)
        top = "".join(
            f"<td align='center' style='padding:0 3px'><b style='color:{operand}'>{html.escape(t)}</b></td>" if s is not None
            else f"<td align='center'>{html.escape(t.strip()) or '&nbsp;'}</td>"
            for t, s in tokens
        )
        bottom = "".join(
            f"<td align='center' style='color:{shape}; font-size:{points - 3}pt'>({shape_text(s)})</td>" if s is not None else "<td></td>"
            for t, s in tokens
        )
        rows.append(f"<table cellspacing='0' style='font-size:{points}pt; margin-bottom:2px'><tr>{top}</tr><tr>{bottom}</tr></table>")
    return "".join(rows)


class EquationLabel(QtWidgets.QStackedWidget):
    """Rich text like a QLabel (setText, text, setTextFormat, setTextInteractionFlags, setWordWrap),
    keeping one laid-out QLabel per recent text and showing the one asked for.

    With two or more layers the equation alternates every step (layer 0's X_t shape, then layer
    1's): a single QLabel re-parsed the HTML and laid it out several times per step (size hints
    for the scroll area, then the paint), ~3 ms a step at 1600x1000. Switching labels costs none."""

    MAX_LABELS = 8

    def __init__(self, text: str = "", parent=None):
        super().__init__(parent)
        self._labels: dict[str, QtWidgets.QLabel] = {}  # oldest first
        self._hints: dict = {}  # label -> (sizeHint, minimumSizeHint)
        self._text = None
        self._format = QtCore.Qt.TextFormat.AutoText
        self._flags = QtCore.Qt.TextInteractionFlag.LinksAccessibleByMouse
        self._wrap = False
        self.setText(text)

    def _each(self, method: str, value) -> None:
        self._hints.clear()
        for label in self._labels.values():
            getattr(label, method)(value)

    def setTextFormat(self, value) -> None:  # noqa: N802 - QLabel's names
        self._format = value
        self._each("setTextFormat", value)

    def setTextInteractionFlags(self, value) -> None:  # noqa: N802
        self._flags = value
        self._each("setTextInteractionFlags", value)

    def setWordWrap(self, value: bool) -> None:  # noqa: N802
        self._wrap = value
        self._each("setWordWrap", value)

    def text(self) -> str:
        return self._text or ""

    def setText(self, text: str) -> None:  # noqa: N802
        if text == self._text:
            return
        before = self.currentWidget()
        hints = None if before is None else self._hints_of(before)
        label = self._label(text)
        self.setCurrentWidget(label)
        self._text = text
        if hints != self._hints_of(label):  # layers alternate texts of one size
            self.updateGeometry()

    def prepare(self, text: str) -> None:
        """Make and measure the label of `text` now, not shown: the step that shows it only switches
        to it (a new rich-text label costs its layout, ~1.5 ms a size hint and 1 ms its first paint)."""
        if text not in self._labels:
            label = self._label(text)
            self._hints_of(label)
            label.resize(self.size())  # the stack sizes only the label it shows
            label.grab()  # lays the text out for that size, as its first paint would

    def _label(self, text: str) -> QtWidgets.QLabel:
        """The label of `text`, made if new, now the most recently used."""
        label = self._labels.pop(text, None)
        if label is None:
            label = QtWidgets.QLabel(text)
            label.setTextFormat(self._format)
            label.setTextInteractionFlags(self._flags)
            label.setWordWrap(self._wrap)
            self.addWidget(label)
        self._labels[text] = label
        # Kept across a Reset (""): the first steps after it show the texts of the steps before.
        while len(self._labels) > self.MAX_LABELS:
            old = self._labels.pop(next(iter(self._labels)))
            self._hints.pop(old, None)
            self.removeWidget(old)
            old.deleteLater()
        return label

    def _hints_of(self, label: QtWidgets.QLabel) -> tuple:
        """A label's size hints, measured once (a rich-text QLabel lays its HTML out for each ask)."""
        if label not in self._hints:
            self._hints[label] = (label.sizeHint(), label.minimumSizeHint())
        return self._hints[label]

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().changeEvent(event)
        if event.type() in (QtCore.QEvent.Type.StyleChange, QtCore.QEvent.Type.FontChange):
            getattr(self, "_hints", {}).clear()  # another font: other sizes

    def current(self) -> QtWidgets.QLabel:
        return self.currentWidget()

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 - the shown text's, not the largest kept
        return self.currentWidget().sizeHint()

    def minimumSizeHint(self) -> QtCore.QSize:  # noqa: N802
        return self.currentWidget().minimumSizeHint()
