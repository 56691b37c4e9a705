"""The Network dock: the editable spec form for networks the window builds, or, for the user's own
model and for a loaded trace, that part's real configuration, read-only, with a picker of the parts."""
from __future__ import annotations

from pathlib import Path

from .qt import QtCore, QtWidgets

MODEL_NOTE = ("Read-only: the recorded part's own configuration. Change it in your code and record again, "
              "or open the editable form to build a preset.")
FILE_NOTE = "Read-only: the configuration the file was recorded with. Open the editable form to build a preset."
RECORDED_NOTE = "Read-only: the configuration this run was recorded with. Open the editable form to build another."


class PartConfigView(QtWidgets.QWidget):
    """Title, part picker (shown for several parts), the configuration rows, and a way back to the form."""

    part_chosen = QtCore.Signal(str)
    edit_requested = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QtWidgets.QLabel()
        self.title.setObjectName("part_title")
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-weight:bold; font-size:12pt")
        self.picker = QtWidgets.QComboBox()
        self.picker.setObjectName("part_picker")
        self.picker.setToolTip("The recurrent parts of your model: the panels show the one picked here")
        self.picker.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.picker.setMinimumContentsLength(18)
        self.picker.activated.connect(lambda index: self.part_chosen.emit(self.picker.itemData(index)))
        self.picker_label = QtWidgets.QLabel("Recurrent part shown in the panels:")

        self.rows = QtWidgets.QFormLayout()
        self.rows.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.rows.setLabelAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        rows_box = QtWidgets.QGroupBox("Configuration (read-only)")
        rows_box.setLayout(self.rows)
        self.note = QtWidgets.QLabel(MODEL_NOTE)
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color:#555")
        self.edit_button = QtWidgets.QPushButton("Open the editable form")
        self.edit_button.setToolTip("Show the spec form: pick a preset or change settings, then Build")
        self.edit_button.clicked.connect(self.edit_requested)

        body = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(body)
        layout.addWidget(self.title)
        layout.addWidget(self.picker_label)
        layout.addWidget(self.picker)
        layout.addWidget(rows_box)
        layout.addWidget(self.note)
        layout.addStretch(1)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll, 1)
        outer.addWidget(self.edit_button)

    def show_config(self, title: str, rows: list[tuple[str, str]], parts: list[tuple[str, str]] = (),
                    current: str | None = None, note: str = MODEL_NOTE) -> None:
        """`rows` as label/value pairs; `parts` as (path, summary), the picker shown when there are several."""
        self.title.setText(title)
        self.note.setText(note)
        with QtCore.QSignalBlocker(self.picker):
            self.picker.clear()
            for path, summary in parts:
                self.picker.addItem(f"{path}: {summary}", path)
            self.picker.setCurrentIndex(max(0, self.picker.findData(current)))
        several = len(parts) > 1
        self.picker.setVisible(several)
        self.picker_label.setVisible(several)
        while self.rows.rowCount():
            self.rows.removeRow(0)
        for label, value in rows:
            if label == "part" and value == "—":
                continue  # a trace of a network built here: no module path
            text = QtWidgets.QLabel(value)
            text.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
            text.setWordWrap(True)
            self.rows.addRow(label, text)

    def values(self) -> dict[str, str]:
        """The rows shown, label -> value (what a user reads)."""
        out = {}
        for row in range(self.rows.rowCount()):
            label = self.rows.itemAt(row, QtWidgets.QFormLayout.ItemRole.LabelRole).widget().text()
            out[label] = self.rows.itemAt(row, QtWidgets.QFormLayout.ItemRole.FieldRole).widget().text()
        return out


class NetworkDock(QtWidgets.QStackedWidget):
    """Page 0: the SpecForm (editable). Page 1: a PartConfigView (the user's model or a trace file)."""

    def __init__(self, form, parent=None):
        super().__init__(parent)
        self.form = form
        self.config = PartConfigView()
        self.addWidget(form)
        self.addWidget(self.config)
        self._main = None            # the MainWindow, known from the first build
        self.opened = None           # the OpenedModel shown, if the user's model is
        self.trace_source = ""       # the name of a trace file about to be shown
        self.config.edit_requested.connect(self.show_form)
        self.config.part_chosen.connect(self._part_chosen)

    @property
    def read_only(self) -> bool:
        return self.currentWidget() is self.config

    def show_form(self) -> None:
        self.setCurrentWidget(self.form)

    def _part_chosen(self, path: str) -> None:
        if self._main is None or self.opened is None or not path:
            return
        from .own_model import choose_part

        choose_part(self._main, self.opened, path)

    def session_built(self, window) -> bool:
        """After the session took a new runner: show the configuration that fits it. True when the
        runner is the user's model or a trace file (the window's title and log are done here)."""
        self._main = window
        session = window.session
        runner = session.runner
        opened = getattr(runner, "own_model", None)
        if opened is not None:
            self._show_part(window, opened, runner.part_path)
            return True
        self.opened = None
        if session.read_only and runner is not None:
            self._show_trace(window, runner.trace)
            return True
        self.trace_source = ""
        self.show_form()
        return False

    def _show_part(self, window, opened, path: str) -> None:
        first = self.opened is not opened
        self.opened = opened
        parts = [(p, opened.summaries.get(p, "")) for p in opened.paths]
        title = f"Recording file: {opened.source}" if opened.source else f"Your model: {opened.name}"
        self.config.show_config(title, opened.configs.get(path, []), parts, path,
                                FILE_NOTE if opened.source else MODEL_NOTE)
        self.setCurrentWidget(self.config)
        window.setWindowTitle(f"rnnviz — {opened.name}: {path}  " + ("(read-only recording)" if opened.source else "(your model)"))
        if not first:
            window.log(f"showing part {path}")
            return
        names = f"{len(parts)} recurrent part{'s' if len(parts) > 1 else ''}: " + ", ".join(f"{p} ({s})" for p, s in parts)
        loss = opened.traces[path].loss
        window.log((f"opened {opened.source}, read-only: " if opened.source else f"recorded {opened.name}: ")
                   + names + (f"; loss {loss:.6g}" if loss == loss else ""))

    def _show_trace(self, window, trace) -> None:
        from rnnviz.engine.part_config import part_config

        source = self.trace_source
        self.config.show_config(f"Trace file: {source}" if source else "Recorded trace", part_config(trace),
                                note=FILE_NOTE if source else RECORDED_NOTE)
        self.setCurrentWidget(self.config)
        window.setWindowTitle(f"rnnviz — {Path(source).name if source else trace.kind}  (read-only trace)")
        window.log(f"opened {source}, read-only: its own configuration is in the Network dock" if source
                   else "replaying the recorded run, read-only: its configuration is in the Network dock")
