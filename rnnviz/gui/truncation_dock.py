"""The Truncated BPTT dock: choose a window k and see, exactly, which part of every dL/dh_t and of
dL/dW_hh truncated backprop would keep and which it would drop (rnnviz.engine.truncation)."""
from __future__ import annotations

import numpy as np

from .frame import Frame, Selection
from .panels.common import TimeCanvas, coloured_title, integer_ticks, set_log_y, set_range, set_series
from .qt import QtCore, QtWidgets, pg
from .style import set_title
from .strip import ControlStrip

COLOURS = ["#1f77b4", "#2ca02c", "#d62728"]  # total, kept, dropped
HEADERS = ("W_hh", "‖total‖", "‖kept‖", "‖dropped‖", "cos(kept, total)")


class TruncationDock(TimeCanvas):
    compute_requested = QtCore.Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.k_box = QtWidgets.QSpinBox()
        self.k_box.setRange(1, 100000)
        self.k_box.setValue(10)
        self.k_box.setToolTip("Truncation length: the gradient entering at t travels back at most k-1 steps")
        self.compute_button = QtWidgets.QPushButton("Compute split")
        self.compute_button.setToolTip("Runs to the end of the backward pass first if needed")
        row = QtWidgets.QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (QtWidgets.QLabel("truncation length k"), self.k_box, self.compute_button):
            row.addWidget(widget)
        row.addStretch(1)
        self.toolbar.addWidget(ControlStrip(row), 1)
        self.compute_button.clicked.connect(lambda: self.compute_requested.emit(self.k_box.value()))

        self.plot = self.add_plot(0, 0, "dL/dh_t: kept and dropped", "timestep t", "‖·‖ over batch", log_y=True)
        set_log_y(self.plot)
        self.lines = [self.plot.plot(pen=pg.mkPen(c, width=w, style=s), symbol=m, symbolSize=5, symbolBrush=c,
                                     symbolPen=c, connect="finite")
                      for c, w, s, m in ((COLOURS[0], 3, QtCore.Qt.PenStyle.SolidLine, None),
                                         (COLOURS[1], 2, QtCore.Qt.PenStyle.SolidLine, "o"),
                                         (COLOURS[2], 2, QtCore.Qt.PenStyle.DashLine, "s"))]
        self.add_time_plot(self.plot, self._value)
        self.table = QtWidgets.QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMaximumHeight(130)
        self.layout().insertWidget(2, self.table)
        self.frame: Frame | None = None
        self.selection = Selection()
        self.split = None
        self._split_frame = None

    def clear(self) -> None:
        """The run changed (an edit): the split no longer describes it."""
        self.split = None
        self.table.setRowCount(0)
        if self.frame is not None:
            self.show_frame(self.frame, self.selection)

    def set_split(self, split) -> None:
        """The engine's TruncationSplit, handed back by the worker."""
        self.split, self._split_frame = split, self.frame
        rows = split.whh_summary()
        self.table.setRowCount(len(rows))
        for r, (name, total, kept, dropped, cosine) in enumerate(rows):
            for c, text in enumerate((name, f"{total:.4g}", f"{kept:.4g}", f"{dropped:.4g}", f"{cosine:.4f}")):
                self.table.setItem(r, c, QtWidgets.QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        if self.frame is not None:
            self.show_frame(self.frame, self.selection)

    def show_frame(self, frame: Frame, selection: Selection) -> None:
        self.frame, self.selection = frame, selection
        split = self.split
        T = frame.trace.seq_len
        if self.k_box.maximum() != max(1, 2 * T):  # a new maximum re-lays out the dock (and the window)
            self.k_box.setMaximum(max(1, 2 * T))
        # A reset or a new network (a frame at position 0 newer than the split) ends what it described.
        newer = frame is not self._split_frame
        if (frame.position == 0 and newer) or (split is not None and split.kept_h.shape != frame.trace.hidden.shape):
            self.split = split = None  # a reset or a new network: the split described another run
        if split is None:
            for line in self.lines:
                set_series(line, np.empty(0), np.empty(0))  # once: a cleared line is left alone
            set_title(self.plot, "Choose k and Compute split (runs the backward pass to its end)", size="11pt")
        else:
            L, D = split.kept_norm.shape[:2]
            layer, direction = min(selection.layer, L - 1), min(selection.direction, D - 1)
            t = np.arange(T)
            positive = lambda v: np.where(v > 0, v, np.nan)  # noqa: E731 - a log axis has no 0
            for line, values in zip(self.lines, (split.total_norm, split.kept_norm, split.dropped_norm)):
                set_series(line, t, positive(values[layer, direction]))
            set_title(self.plot, coloured_title(f"dL/dh_t with k={split.k}, layer {layer}",
                                                ["total", "kept", "dropped"], COLOURS), size="11pt")
            values = np.concatenate([v[layer, direction] for v in (split.total_norm, split.kept_norm, split.dropped_norm)])
            finite = values[np.isfinite(values) & (values > 0)]
            if finite.size:
                set_range(self.plot, None, (np.log10(finite.min()) - 0.3, np.log10(finite.max()) + 0.3))
        set_range(self.plot, (-0.5, T - 0.5))
        integer_ticks(self.plot.getAxis("bottom"), T)
        self.set_cursor(frame.t)

    def curves(self) -> list[np.ndarray]:
        """total, kept, dropped as drawn (NaN where 0): for tests."""
        return [np.asarray(line.yData if line.yData is not None else []) for line in self.lines]

    def _value(self, x, y):
        t = int(np.floor(x + 0.5))
        if self.split is None or not 0 <= t < self.split.kept_norm.shape[2]:
            return None
        sel = self.selection
        s = self.split
        return (f"t={t}: ‖dL/dh_t‖ {s.total_norm[sel.layer, sel.direction, t]:.3g} = kept "
                f"{s.kept_norm[sel.layer, sel.direction, t]:.3g} ⊕ dropped {s.dropped_norm[sel.layer, sel.direction, t]:.3g}")
