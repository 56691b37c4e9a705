"""The form's Input tab: type an input shape (and h0's) and read what torch would say before building,
with the layout the tutorial draws, filled with the module's numbers (rnnviz.engine.preflight)."""
from __future__ import annotations

import html

from rnnviz.engine.module_info import ModuleInfo
from rnnviz.engine.preflight import check_input_shapes, layout_text, parse_shape
from rnnviz.engine.spec import SpecError

from .qt import QtGui, QtWidgets


class InputShapeTab(QtWidgets.QWidget):
    def __init__(self, form, parent=None):
        super().__init__(parent)
        self.form = form
        layout = QtWidgets.QVBoxLayout(self)
        intro = QtWidgets.QLabel("Type the shape of an input (and, if you like, of h0 and c0) to see what the "
                                 "network in the Spec tab would say, before anything is built or run.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        grid = QtWidgets.QFormLayout()
        self.input_edit = QtWidgets.QLineEdit()
        self.input_edit.setPlaceholderText("e.g. (5, 6, 4)")
        self.h0_edit = QtWidgets.QLineEdit()
        self.h0_edit.setPlaceholderText("optional, e.g. (3, 6, 2)")
        self.c0_edit = QtWidgets.QLineEdit()
        self.c0_edit.setPlaceholderText("LSTM only, optional")
        grid.addRow("input shape", self.input_edit)
        grid.addRow("h0 shape", self.h0_edit)
        grid.addRow("c0 shape", self.c0_edit)
        layout.addLayout(grid)
        self.check_button = QtWidgets.QPushButton("Check")
        layout.addWidget(self.check_button)
        self.verdict = QtWidgets.QLabel("")
        self.verdict.setWordWrap(True)
        layout.addWidget(self.verdict)
        self.layout_text = QtWidgets.QPlainTextEdit()
        self.layout_text.setReadOnly(True)
        font = QtGui.QFont("monospace")
        font.setStyleHint(QtGui.QFont.StyleHint.Monospace)
        self.layout_text.setFont(font)
        self.layout_text.setLineWrapMode(QtWidgets.QPlainTextEdit.LineWrapMode.WidgetWidth)
        layout.addWidget(self.layout_text, 1)
        for edit in (self.input_edit, self.h0_edit, self.c0_edit):
            edit.returnPressed.connect(self.check)
        self.check_button.clicked.connect(self.check)
        form.spec_changed.connect(lambda *_: self.check())
        self.check()

    def module_shape(self) -> ModuleInfo:
        return ModuleInfo.from_spec(self.form.spec())

    def check(self) -> None:
        """Show what torch would say about the typed shapes (nothing typed: the expected layout)."""
        try:
            module = self.module_shape()
        except SpecError as exc:
            self._say(False, f"the Spec tab is not a valid network yet: {exc}", "")
            return
        text = self.input_edit.text().strip()
        if not text:
            self._say(None, "Expected layout for this network:", layout_text(module))
            return
        try:
            shapes = [parse_shape(e.text()) if e.text().strip() else None
                      for e in (self.input_edit, self.h0_edit, self.c0_edit)]
        except ValueError as exc:
            self._say(False, str(exc), layout_text(module))
            return
        report = check_input_shapes(module, *shapes)
        if report.ok:
            D, S = module.num_directions, module.state_size
            out = (report.batch, report.seq_len) if module.batch_first and not module.is_cell else (report.seq_len, report.batch)
            h_n = (report.batch, S) if module.is_cell else (module.num_layers * D, report.batch, S)
            self._say(True, f"✓ torch accepts this: out would be ({out[0]}, {out[1]}, {D * S}), h_n {h_n}", report.layout)
        else:
            self._say(False, "\n".join(report.problems), report.layout)

    def _say(self, ok, text: str, layout: str) -> None:
        colour = {True: "#206020", False: "#c00000", None: "#444"}[ok]
        self.ok = ok
        self.verdict.setText(f"<span style='color:{colour}; font-weight:bold'>"
                             + html.escape(text).replace("\n", "<br>") + "</span>")
        self.layout_text.setPlainText(layout)
