"""The Breakpoints dock: add, list, toggle and remove the conditions `Run until` stops at.

Conditions are the engine's own (rnnviz.engine.breakpoints, numpy only); the run itself happens
in the worker (debugger.py), and where it stopped comes back to `show_hit`."""
from __future__ import annotations

import html

from rnnviz.engine.breakpoints import Condition, sentinel

from .qt import QtCore, QtWidgets

CHOICES = (  # label, kind, op, default value text
    ("‖dL/dh_t‖ <", "grad_norm", "<", "1e-6"),
    ("‖dL/dh_t‖ >", "grad_norm", ">", "100"),
    ("‖h_t‖ >", "h_norm", ">", "10"),
    ("‖h_t‖ <", "h_norm", "<", "1e-3"),
    ("saturation >", "saturation", ">", "0.5"),
    ("at timestep t =", "timestep", "<", "0"),
    ("at layer =", "layer", "<", "0"),
    ("sentinel: first NaN / Inf", "nonfinite", "<", ""),
)
ROLE = QtCore.Qt.ItemDataRole.UserRole


class BreakpointsDock(QtWidgets.QWidget):
    run_requested = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QtWidgets.QVBoxLayout(self)
        intro = QtWidgets.QLabel("Run until a ticked condition holds at the cell just computed "
                                 "(forward, then on through the backward pass).")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.list = QtWidgets.QListWidget()
        self.list.setToolTip("Tick to enable, untick to keep a breakpoint without stopping at it")
        layout.addWidget(self.list, 1)

        form = QtWidgets.QFormLayout()
        self.kind_box = QtWidgets.QComboBox()
        self.kind_box.setMinimumContentsLength(12)
        self.kind_box.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        for label, kind, op, default in CHOICES:
            self.kind_box.addItem(label, (kind, op, default))
        self.kind_box.currentIndexChanged.connect(self._kind_chosen)
        self.value_edit = QtWidgets.QLineEdit("1e-6")
        self.value_edit.setToolTip("A number: 1e-6, 0.5, 17")
        self.layer_box = QtWidgets.QComboBox()
        self.layer_box.addItem("any layer", None)
        self.phase_box = QtWidgets.QComboBox()
        for label, phase in (("both passes", None), ("forward only", "forward"), ("backward only", "backward")):
            self.phase_box.addItem(label, phase)
        form.addRow("Stop when", self.kind_box)
        form.addRow("value", self.value_edit)
        form.addRow("layer", self.layer_box)
        form.addRow("pass", self.phase_box)
        layout.addLayout(form)
        row = QtWidgets.QHBoxLayout()
        self.add_button = QtWidgets.QPushButton("Add")
        self.remove_button = QtWidgets.QPushButton("Remove")
        self.run_button = QtWidgets.QPushButton("Run until ▶  (F5)")
        self.run_button.setToolTip("Step from here until a ticked breakpoint holds, or to the end")
        for button in (self.add_button, self.remove_button):
            row.addWidget(button)
        layout.addLayout(row)
        layout.addWidget(self.run_button)
        self.error_label = QtWidgets.QLabel("")
        self.error_label.setStyleSheet("color: #c00000")
        self.error_label.setWordWrap(True)
        layout.addWidget(self.error_label)
        self.hit_label = QtWidgets.QLabel("")
        self.hit_label.setWordWrap(True)
        self.hit_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.hit_label)
        self.add_button.clicked.connect(self.add_from_form)
        self.remove_button.clicked.connect(self.remove_selected)
        self.run_button.clicked.connect(self.run_requested)
        self.add(sentinel())  # on by default: a NaN never passes unnoticed

    # -- the list -------------------------------------------------------------------------
    def add(self, condition: Condition) -> None:
        item = QtWidgets.QListWidgetItem(condition.describe())
        item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(QtCore.Qt.CheckState.Checked if condition.enabled else QtCore.Qt.CheckState.Unchecked)
        item.setData(ROLE, condition)
        self.list.addItem(item)

    def conditions(self) -> list[Condition]:
        """Every breakpoint in the list, enabled as its tick box says."""
        out = []
        for row in range(self.list.count()):
            item = self.list.item(row)
            out.append(item.data(ROLE).toggled(item.checkState() == QtCore.Qt.CheckState.Checked))
        return out

    def set_checked(self, row: int, on: bool) -> None:
        self.list.item(row).setCheckState(QtCore.Qt.CheckState.Checked if on else QtCore.Qt.CheckState.Unchecked)

    def remove_selected(self) -> None:
        for item in self.list.selectedItems():
            self.list.takeItem(self.list.row(item))

    def set_layers(self, count: int) -> None:
        if self.layer_box.count() != count + 1:
            self.layer_box.clear()
            self.layer_box.addItem("any layer", None)
            for layer in range(count):
                self.layer_box.addItem(f"layer {layer}", layer)

    # -- the form -------------------------------------------------------------------------
    def _kind_chosen(self, index: int) -> None:
        kind, _, default = self.kind_box.itemData(index)
        self.value_edit.setText(default)
        self.value_edit.setEnabled(kind != "nonfinite")

    def condition_from_form(self) -> Condition:
        kind, op, _ = self.kind_box.currentData()
        value = 0.0
        if kind != "nonfinite":
            text = self.value_edit.text().strip()
            try:
                value = float(text)
            except ValueError:
                raise ValueError(f"the breakpoint value must be a number such as 1e-6, got {text!r}") from None
        return Condition(kind, op, value, phase=self.phase_box.currentData(), layer=self.layer_box.currentData())

    def add_from_form(self) -> None:
        try:
            condition = self.condition_from_form()
        except ValueError as exc:
            self.error_label.setText(str(exc))
            return
        self.error_label.setText("")
        self.add(condition)

    def show_hit(self, text: str, stopped: bool) -> None:
        colour = "#c00000" if stopped else "#206020"
        self.hit_label.setText(f"<b style='color:{colour}'>{html.escape(text)}</b>")
