"""Shapes: the cell equation with the real shape under each operand (panels/equation.py), the
whole-sequence tensors with named dimensions, and a table of every tensor at this step."""
from __future__ import annotations

from ..frame import Frame
from ..qt import QtCore, QtGui, QtWidgets
from ..style import theme_of
from ..widgets import StaticText
from .equation import EquationLabel, equation_args, equation_html, equation_lines, equation_text, operand_map

TABLE_COLUMNS = ("name", "shape", "dtype", "device", "min", "max", "mean", "norm", "NaN", "Inf")
# Presentation mode (16pt on a 1920x1080 projector): every column must show without scrolling, so
# dtype and device (one value for every tensor) move into the table's title, numbers get 3 digits.
PRESENTATION_HIDDEN = ("dtype", "device")
TABLE_TITLE = "<b>Every tensor at this step</b>"


class ShapesPanel(QtWidgets.QWidget):
    """Fed `update(frame)`."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = StaticText("Cell equation of the current step", bold=True)
        self.equation = EquationLabel("Press Step (→) to compute the first cell.")
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
        self.sequence.setHorizontalHeaderLabels(["tensor", "shape", "dimensions"])  # titled "Whole-sequence tensors"
        self.table = QtWidgets.QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setHorizontalHeaderLabels(list(TABLE_COLUMNS))
        for table in (self.sequence, self.table):
            table.verticalHeader().hide()
            table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
            table.horizontalHeader().setStretchLastSection(True)
            table.setAlternatingRowColors(True)
            table.setWordWrap(False)  # one line a row: a long shape or dimension list scrolls, not wraps
            table.horizontalHeader().setMinimumSectionSize(40)
            table.setHorizontalScrollMode(QtWidgets.QAbstractItemView.ScrollMode.ScrollPerPixel)
        font = QtGui.QFont("monospace")
        font.setStyleHint(QtGui.QFont.StyleHint.Monospace)
        self.table.setFont(font)
        self.sequence.setFont(font)

        lower_left = QtWidgets.QWidget()
        ll = QtWidgets.QVBoxLayout(lower_left)
        ll.setContentsMargins(0, 0, 0, 0)
        sequence_title = QtWidgets.QLabel("<b>Whole-sequence tensors</b> (shapes with every dimension named)")
        sequence_title.setWordWrap(True)  # at presentation size a one-line title would widen the window
        ll.addWidget(sequence_title)
        ll.addWidget(self.sequence, 1)
        lower_right = QtWidgets.QWidget()
        lr = QtWidgets.QVBoxLayout(lower_right)
        lr.setContentsMargins(0, 0, 0, 0)
        self.table_title = QtWidgets.QLabel(TABLE_TITLE)
        self.table_title.setWordWrap(True)
        lr.addWidget(self.table_title)
        lr.addWidget(self.table, 1)
        split = QtWidgets.QSplitter()
        split.addWidget(lower_left)
        split.addWidget(lower_right)
        split.setSizes([480, 780])
        self.split = split
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(eq_scroll)
        layout.addWidget(split, 1)
        self._text = ""
        self._eq_args = None
        self._seq_key = None
        self._table_key = None
        self._shown = None
        self._table_widths: dict = {}
        self._column_floor: dict[int, int] = {}  # column -> the widest it was set for this network
        self._rows: list = []
        self._float_format = ".4g"

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt API
        """A new theme or font (presentation mode): equation colours and column widths follow."""
        super().changeEvent(event)
        if event.type() in (QtCore.QEvent.Type.StyleChange, QtCore.QEvent.Type.FontChange):
            QtCore.QTimer.singleShot(0, self._restyle)  # after the children took the new style

    def _restyle(self) -> None:
        if self._eq_args is not None:
            self.equation.setText(equation_html(*self._eq_args, theme_of(self)))
        presenting = bool(theme_of(self))
        for key in PRESENTATION_HIDDEN:
            self.table.setColumnHidden(TABLE_COLUMNS.index(key), presenting)
        # A stretched last section keeps at least its default 100 px: NaN/Inf need ~45 at 16pt.
        self.table.horizontalHeader().setStretchLastSection(not presenting)
        float_format = ".3g" if presenting else ".4g"
        if float_format != self._float_format:
            self._float_format = float_format
            self._table_key = None
            self._fill_table(self._rows)
        for table in (self.sequence, self.table):
            table.resizeColumnsToContents()
            table.resizeRowsToContents()
        self._column_floor = {c: self.table.columnWidth(c) for c in range(self.table.columnCount())}
        # The whole-sequence table is small and fixed: give it the width of its columns, the rest to the other.
        total = sum(self.split.sizes())
        want = self.sequence.horizontalHeader().length() + 2 * self.sequence.frameWidth() + 4
        if total > 0:
            want = min(want, 6 * total // 10)
            self.split.setSizes([want, total - want])

    def show_frame(self, frame: Frame, selection=None) -> None:
        """The equation of the cell just done, the sequence shapes and the step's tensor table
        (the selection does not change them: the same run and version show the same)."""
        if (frame.run_id, frame.version) == self._shown:
            return
        self._shown = (frame.run_id, frame.version)
        record = frame.record
        operands = operand_map(record)
        eq = "" if record is None else record.equation
        if record is None or not eq:
            self._text = ""
            self.title.setText("Cell equation — press Step (Right arrow) to compute the first cell")
            self.equation.setText("")
            self._prepare_equations(frame.trace)
        else:
            cell = frame.cell
            where = "" if cell is None else f" — {cell.phase}, layer {cell.layer}, direction {cell.direction}, t={cell.t}"
            self.title.setText(f"Cell equation of the current step{where}")
            text = equation_text(eq, operands)
            if text != self._text:
                self._text = text
                self._eq_args = equation_args(eq, operands)
                self.equation.setText(equation_html(*self._eq_args, theme_of(self)))
            self._fit_equation_height(eq)
            self.equation.setToolTip(self._text)
        seq = frame.sequence
        if seq != self._seq_key:
            self._seq_key = seq
            self._column_floor.clear()  # another network: its columns may be narrower
            self.sequence.setRowCount(len(seq))
            for r, (name, shape, dims) in enumerate(seq):
                for c, text in enumerate((name, "(" + ", ".join(map(str, shape)) + ")", dims)):
                    self.sequence.setItem(r, c, QtWidgets.QTableWidgetItem(text))
            self.sequence.resizeColumnsToContents()
        self._fill_table(frame.rows)

    def _prepare_equations(self, trace) -> None:
        """No cell done yet (a Build or a Reset): lay out every layer's equation once the frame is
        drawn, so that the first step of each layer shows a label made and measured before."""
        if trace is None or not trace.equation or not trace.operands:
            return
        self._fit_equation_height(trace.equation)  # now: the labels are laid out for the height they show at
        texts = [equation_html(*equation_args(trace.equation, {op.name: tuple(op.shape) for op in layer}),
                               theme_of(self)) for layer in trace.operands]
        QtCore.QTimer.singleShot(0, self, lambda: [self.equation.prepare(text) for text in texts])

    def _fit_equation_height(self, equation: str) -> None:
        lines = len(equation_lines(equation))
        height = 70 if lines == 1 else min(50 * lines + 8, 200)
        if self.eq_scroll.height() != height:
            self.eq_scroll.setFixedHeight(height)

    def _fill_table(self, rows: list) -> None:
        self._rows = rows
        float_format = self._float_format
        layout_key = tuple((row.get("name"), tuple(row.get("shape", ()))) for row in rows)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, key in enumerate(TABLE_COLUMNS):
                value = row.get(key.lower())
                if key == "shape":
                    text = "(" + ", ".join(map(str, value)) + ")"
                elif isinstance(value, float):
                    text = format(value, float_format)
                else:
                    text = "" if value is None else str(value)
                item = self.table.item(r, c)
                if item is None:  # items are made once per cell, then only their text changes
                    item = QtWidgets.QTableWidgetItem()
                    self.table.setItem(r, c, item)
                if item.text() != text:
                    item.setText(text)
                if key in ("NaN", "Inf"):
                    colour = "#c00000" if value else ""  # "": the table's own text colour (white when dark)
                    if item.data(QtCore.Qt.ItemDataRole.UserRole) != colour:  # set (and repaint) on change only
                        item.setData(QtCore.Qt.ItemDataRole.UserRole, colour)
                        item.setData(QtCore.Qt.ItemDataRole.ForegroundRole, QtGui.QColor(colour) if colour else None)
        if layout_key != self._table_key:  # column widths follow the rows, not every value
            self._table_key = layout_key
            # Measured once per row layout (and font): with 2+ layers the layout alternates every step
            # (X_t is 8x64 in layer 0, 8x512 in layer 1) and measuring every cell cost ~1 ms a step.
            # Columns only widen while the network stays: a column whose width changes repaints the
            # whole table and its header (~1.2 ms), and the layers' layouts would take turns.
            widths = self._table_widths
            key = (layout_key, self.table.font().key())
            if key not in widths:
                widths[key] = self._content_widths()
            header = self.table.horizontalHeader()
            last = self.table.columnCount() - 1 if header.stretchLastSection() else None
            for c, width in enumerate(widths[key]):
                width = max(width, self._column_floor.get(c, 0))
                self._column_floor[c] = width
                if c != last and self.table.columnWidth(c) != width:  # the header sizes a stretched one
                    self.table.setColumnWidth(c, width)
            title = TABLE_TITLE + self._common_title(rows)
            if self.table_title.text() != title:
                self.table_title.setText(title)

    def _content_widths(self) -> list[int]:
        """What resizeColumnsToContents would make each column, without resizing any (a resize
        repaints the table from that column on)."""
        header = self.table.horizontalHeader()
        return [max(self.table.sizeHintForColumn(c), header.sectionSizeHint(c), header.minimumSectionSize())
                for c in range(self.table.columnCount())]

    def _common_title(self, rows: list) -> str:
        """' (all float32, cpu)' while the dtype and device columns are hidden (presentation)."""
        if not self.table.isColumnHidden(TABLE_COLUMNS.index("dtype")) or not rows:
            return ""
        values = [sorted({str(row.get(key)) for row in rows}) for key in PRESENTATION_HIDDEN]
        return " (all " + ", ".join("/".join(v) for v in values) + ")"

    def equation_plain(self) -> str:
        """The equation with each operand's shape, as plain text (what the tests compare)."""
        return self._text

    def sequence_shapes(self) -> dict:
        return {name: shape for name, shape, _ in (self._seq_key or [])}
