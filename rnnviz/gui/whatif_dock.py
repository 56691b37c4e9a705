"""The What-if dock: edit a hidden unit of h_t or an input value at a paused forward step (set, zero,
scale, clamp), run on, and see the edited run over the original: ‖h_t − h_t^orig‖ over time, both
runs' ‖dL/dh_t‖ and both losses. Undo returns to the original run.

The edit itself runs in the worker (debugger.py); the comparison is the engine's whatif.overlay."""
from __future__ import annotations

import numpy as np

from rnnviz.engine.whatif import OPS, overlay

from .frame import Frame, Selection
from .panels.common import TimeCanvas, coloured_title, integer_ticks, set_log_y, set_range, set_series
from .qt import QtCore, QtWidgets, pg
from .style import set_title
from .strip import ControlStrip

COLOURS = ["#d62728", "#1f77b4"]  # edited, original


class WhatIfDock(TimeCanvas):
    edit_requested = QtCore.Signal(dict)   # keyword arguments of Runner.edit
    undo_requested = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        form = QtWidgets.QGridLayout()
        self.target_box = QtWidgets.QComboBox()
        self.target_box.addItem("h_t unit", "h")
        self.target_box.addItem("x_t feature", "x")
        self.t_box, self.layer_box, self.index_box = QtWidgets.QSpinBox(), QtWidgets.QSpinBox(), QtWidgets.QSpinBox()
        self.batch_box = QtWidgets.QComboBox()
        self.op_box = QtWidgets.QComboBox()
        for op in OPS:
            self.op_box.addItem(op, op)
        self.value_edit = QtWidgets.QLineEdit("0.9")
        self.value_edit.setMaximumWidth(60)
        self.apply_button = QtWidgets.QPushButton("Apply edit")
        self.undo_button = QtWidgets.QPushButton("Undo edits")
        # Three short rows: the dock shares its width with Gradients and must not widen the window.
        columns = ((("edit", self.target_box), ("t", self.t_box), ("layer", self.layer_box)),
                   (("unit", self.index_box), ("batch", self.batch_box), ("op", self.op_box)),
                   (("value", self.value_edit), (None, self.apply_button), (None, self.undo_button)))
        for col, cells in enumerate(columns):
            for row, (label, widget) in enumerate(cells):
                if label:
                    form.addWidget(QtWidgets.QLabel(label), row, 2 * col)
                form.addWidget(widget, row, 2 * col + 1)
        self.target_box.setMinimumContentsLength(8)
        self.target_box.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        form.setColumnStretch(6, 1)
        self.toolbar.addWidget(ControlStrip(form), 1)
        self.status = QtWidgets.QLabel("Pause the forward pass, choose a unit and Apply: the run is redone from "
                                       "that cell with the change, then step or run on.")
        self.status.setWordWrap(True)
        self.layout().insertWidget(1, self.status)
        self.target_box.currentIndexChanged.connect(self._target_chosen)
        self.apply_button.clicked.connect(self._apply)
        self.undo_button.clicked.connect(self.undo_requested)

        self.diff_plot = self.add_plot(0, 0, "‖h_t − h_t^orig‖", "timestep t", "‖h_t − h_t^orig‖", log_y=True)
        set_log_y(self.diff_plot)
        self.diff_line = self.diff_plot.plot(pen=pg.mkPen(COLOURS[0], width=2), symbol="o", symbolSize=5,
                                             symbolBrush=COLOURS[0], symbolPen=COLOURS[0], connect="finite")
        self.add_time_plot(self.diff_plot, self._diff_value)
        self.grad_plot = self.add_plot(1, 0, "‖dL/dh_t‖", "timestep t", "‖dL/dh_t‖", log_y=True)
        set_log_y(self.grad_plot)
        self.grad_lines = [self.grad_plot.plot(pen=pg.mkPen(c, width=2, style=s), symbol=m, symbolSize=5, symbolBrush=c,
                                               symbolPen=c, connect="finite")
                           for c, s, m in ((COLOURS[0], QtCore.Qt.PenStyle.SolidLine, "o"),
                                           (COLOURS[1], QtCore.Qt.PenStyle.DashLine, "s"))]
        self.grad_lines[0].setZValue(10)  # the edited run over the original where they coincide
        self.add_time_plot(self.grad_plot, self._grad_value)
        self.frame: Frame | None = None
        self.selection = Selection()
        self.original = None       # the unedited run's Trace, handed back by the worker after an edit
        self.edits: list = []
        self.result = None         # the last whatif.Overlay drawn
        self._ranges = None

    # -- the form -----------------------------------------------------------------------
    def _target_chosen(self, *_args) -> None:
        is_h = self.target_box.currentData() == "h"
        self.layer_box.setEnabled(is_h)
        if not is_h:
            self.layer_box.setValue(0)
        self._set_ranges(force=True)

    def _set_ranges(self, force: bool = False) -> None:
        if self.frame is None:
            return
        trace = self.frame.trace
        L, D, _, B, H = trace.hidden.shape
        T = trace.seq_len
        features = int(np.asarray(trace.inputs).shape[-1]) if trace.inputs is not None else H
        width = H if self.target_box.currentData() == "h" else features
        ranges = (L, T, B, width)
        if ranges == self._ranges and not force:
            return
        self._ranges = ranges
        self.t_box.setRange(0, T - 1)
        self.layer_box.setRange(0, L - 1)
        self.index_box.setRange(0, width - 1)
        if self.batch_box.count() != B + 1:
            self.batch_box.clear()
            self.batch_box.addItem("all", None)
            for b in range(B):
                self.batch_box.addItem(str(b), b)

    def request(self) -> dict:
        """Runner.edit's keyword arguments from the form (ValueError for a value that is not a number)."""
        text = self.value_edit.text().strip()
        try:
            value = float(text) if self.op_box.currentData() != "zero" else 0.0
        except ValueError:
            raise ValueError(f"the edit value must be a number such as 0.9, got {text!r}") from None
        return dict(t=self.t_box.value(), index=self.index_box.value(), value=value, target=self.target_box.currentData(),
                    op=self.op_box.currentData(), layer=self.layer_box.value(), direction=self.selection.direction,
                    batch=self.batch_box.currentData())

    def _apply(self) -> None:
        try:
            self.edit_requested.emit(self.request())
        except ValueError as exc:
            self.status.setText(f"<b style='color:#c00000'>{exc}</b>")

    def set_edits(self, original, edits: list) -> None:
        """What the worker handed back after an edit or an undo."""
        self.original, self.edits = original, list(edits)
        if edits:
            self.status.setText("Edits: " + "; ".join(e.describe() for e in edits) + ". Step or run on to see it travel.")
        else:
            self.status.setText("No edits: this is the original run.")
        if self.frame is not None:
            self.show_frame(self.frame, self.selection)

    # -- data in ------------------------------------------------------------------------
    def show_frame(self, frame: Frame, selection: Selection) -> None:
        self.frame, self.selection = frame, selection
        self._set_ranges()
        trace = frame.trace
        L, D, T = *trace.hidden.shape[:2], trace.seq_len
        layer, direction = min(selection.layer, L - 1), min(selection.direction, D - 1)
        t_axis = np.arange(T)
        if self.original is None or not self.edits:
            self.result = None
            for item in (self.diff_line, *self.grad_lines):
                set_series(item, np.empty(0), np.empty(0))  # once: a cleared line is left alone
            set_title(self.diff_plot, "‖h_t − h_t^orig‖: apply an edit to compare", size="11pt")
            set_title(self.grad_plot, "‖dL/dh_t‖", size="11pt")
        else:
            self.result = result = overlay(trace, self.original)
            positive = lambda v: np.where(v > 0, v, np.nan)  # noqa: E731 - a log axis has no 0
            set_series(self.diff_line, t_axis, positive(result.h_diff[layer, direction]))
            set_series(self.grad_lines[0], t_axis, positive(result.grad_norm[layer, direction]))
            set_series(self.grad_lines[1], t_axis, positive(result.grad_norm_original[layer, direction]))
            loss = ("after the forward pass" if not np.isfinite(result.loss) else
                    f"{result.loss:.6g} (original {result.loss_original:.6g})")
            set_title(self.diff_plot, f"‖h_t − h_t^orig‖, layer {layer};  loss {loss}", size="11pt")
            set_title(self.grad_plot, coloured_title(f"‖dL/dh_t‖ (layer {layer})", ["edited", "original"], COLOURS),
                      size="11pt")
            for plot, values in ((self.diff_plot, result.h_diff[layer, direction]),
                                 (self.grad_plot, np.concatenate([result.grad_norm[layer, direction],
                                                                  result.grad_norm_original[layer, direction]]))):
                finite = values[np.isfinite(values) & (values > 0)]
                if finite.size:
                    lo, hi = np.log10(finite.min()), np.log10(finite.max())
                    set_range(plot, None, (lo - 0.3, hi + 0.3))
        for plot in (self.diff_plot, self.grad_plot):
            set_range(plot, (-0.5, T - 0.5))
            integer_ticks(plot.getAxis("bottom"), T)
        self.set_cursor(frame.t)

    # -- hover --------------------------------------------------------------------------
    def _at(self, x):
        t = int(np.floor(x + 0.5))
        if self.result is None or not 0 <= t < self.result.h_diff.shape[2]:
            return None
        return t

    def _diff_value(self, x, y):
        t = self._at(x)
        if t is None:
            return None
        sel = self.selection
        return f"‖h_t − h_t^orig‖ at t={t}: {self.result.h_diff[sel.layer, sel.direction, t]:.3g}"

    def _grad_value(self, x, y):
        t = self._at(x)
        if t is None:
            return None
        sel = self.selection
        return (f"‖dL/dh_t‖ at t={t}: edited {self.result.grad_norm[sel.layer, sel.direction, t]:.3g}, "
                f"original {self.result.grad_norm_original[sel.layer, sel.direction, t]:.3g}")
