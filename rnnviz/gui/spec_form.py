"""The spec form: one control per RNNSpec field, limited to its valid range, a preset picker, a device
picker, a red line explaining an invalid combination, and a Code tab with the equivalent PyTorch code."""
from __future__ import annotations

import dataclasses

from rnnviz.engine import spec as spec_module
from rnnviz.teaching.codegen import pytorch_code
from rnnviz.teaching.presets import DEFAULT_PRESET, get_preset, preset_names
from rnnviz.engine.spec import RNNSpec, SpecError

from .memory_row import MemoryRow
from .qt import QtCore, QtGui, QtWidgets

ORDER = tuple(f.name for f in spec_module.FIELDS)
# Spin boxes need finite bounds where the spec has none, a step and decimals: (low, high, step, decimals).
# An optional field's lowest value reads as None ("off").
FLOAT_WIDGETS = {"dropout": (0.0, 0.99, 0.1, 2), "init_sigma": (0.0001, 100.0, 0.05, 4),
                 "whh_scale": (0.0, 100.0, 0.1, 3), "forget_bias": (-10.0, 10.0, 0.5, 2)}
INT_WIDGET_MAX = 2**31 - 1  # a QSpinBox holds a C int
DEFAULTS = {f.name: f.default for f in dataclasses.fields(RNNSpec)}


class SpecForm(QtWidgets.QWidget):
    """Edits an RNNSpec. `spec_changed(spec)` on every valid edit (the Input tab re-checks shapes);
    `build_requested(spec)` on Build."""

    spec_changed = QtCore.Signal(object)
    build_requested = QtCore.Signal(object)

    def __init__(self, spec: RNNSpec | None = None, parent=None):
        super().__init__(parent)
        self._spec = spec or get_preset(DEFAULT_PRESET)
        self.preset = QtWidgets.QComboBox()
        self.preset.addItem("(custom)", "")
        for name in preset_names():
            self.preset.addItem(name, name)
            self.preset.setItemData(self.preset.count() - 1, get_preset(name).description, QtCore.Qt.ItemDataRole.ToolTipRole)
        self.preset.activated.connect(self._preset_chosen)
        self.description = QtWidgets.QLabel()
        self.description.setWordWrap(True)
        self.description.setStyleSheet("color:#444")
        self.widgets: dict[str, QtWidgets.QWidget] = {}
        form = QtWidgets.QFormLayout()
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("preset", self.preset)
        form.addRow(self.description)
        for field in spec_module.FIELDS:
            widget = self._make(field)
            self.widgets[field.name] = widget
            form.addRow(field.title, widget)
        self.error = QtWidgets.QLabel()
        self.error.setObjectName("spec_error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color:#c00000; font-weight:bold")
        self.error.hide()
        self.memory = MemoryRow()
        self.memory.budget_changed.connect(self._edited)
        self.build_button = QtWidgets.QPushButton("Build")
        self.build_button.setToolTip("Build the network from these settings (Ctrl+Return)")
        self.build_button.clicked.connect(self._build)
        self.build_button.setShortcut(QtGui.QKeySequence("Ctrl+Return"))

        scroll_body = QtWidgets.QWidget()
        body = QtWidgets.QVBoxLayout(scroll_body)
        body.addLayout(form)
        body.addStretch(1)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(scroll_body)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        spec_tab = QtWidgets.QWidget()
        spec_layout = QtWidgets.QVBoxLayout(spec_tab)
        spec_layout.setContentsMargins(0, 0, 0, 0)
        spec_layout.addWidget(scroll, 1)
        spec_layout.addWidget(self.error)
        spec_layout.addWidget(self.memory)
        spec_layout.addWidget(self.build_button)

        self.code = QtWidgets.QPlainTextEdit()
        self.code.setReadOnly(True)
        self.code.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse
                                          | QtCore.Qt.TextInteractionFlag.TextSelectableByKeyboard)
        font = QtGui.QFont("monospace")
        font.setStyleHint(QtGui.QFont.StyleHint.Monospace)
        self.code.setFont(font)
        self.code.setLineWrapMode(QtWidgets.QPlainTextEdit.LineWrapMode.NoWrap)
        copy = QtWidgets.QPushButton("Copy code")
        copy.clicked.connect(lambda: QtWidgets.QApplication.clipboard().setText(self.code.toPlainText()))
        code_tab = QtWidgets.QWidget()
        code_layout = QtWidgets.QVBoxLayout(code_tab)
        code_layout.setContentsMargins(0, 0, 0, 0)
        code_layout.addWidget(self.code, 1)
        code_layout.addWidget(copy)

        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(spec_tab, "Spec")
        self.tabs.addTab(code_tab, "Code")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self.set_spec(self._spec)

    # -- widgets ------------------------------------------------------------------------
    def _number(self, low: float, high: float, step: float, decimals: int) -> QtWidgets.QDoubleSpinBox:
        """A float field limited to [low, high] that rebuilds the spec when editing ends."""
        w = QtWidgets.QDoubleSpinBox()
        w.setDecimals(decimals)
        w.setRange(low, high)
        w.setSingleStep(step)
        w.setKeyboardTracking(False)
        w.valueChanged.connect(self._edited)
        return w

    def _make(self, field) -> QtWidgets.QWidget:
        name = field.name
        if field.choices:
            w = QtWidgets.QComboBox()
            for choice in field.choices:
                w.addItem(choice, choice)
            if name == "loss":
                for i, choice in enumerate(field.choices):
                    w.setItemData(i, spec_module.LOSS_DESCRIPTIONS[choice], QtCore.Qt.ItemDataRole.ToolTipRole)
            w.currentIndexChanged.connect(self._edited)
        elif name == "device":
            w = QtWidgets.QComboBox()
            w.addItem("cpu", "cpu")
            w.setToolTip("The devices torch finds on this machine")
            w.currentIndexChanged.connect(self._edited)
        elif field.type is int:
            w = QtWidgets.QSpinBox()
            w.setRange(int(field.low), int(min(field.high, INT_WIDGET_MAX)))
            w.setKeyboardTracking(False)
            if name == "output_size":
                w.setSpecialValueText("0 (no head)")
            w.valueChanged.connect(self._edited)
        elif field.type is bool:
            w = QtWidgets.QCheckBox()
            w.toggled.connect(self._edited)
        elif field.type is float:
            w = self._number(*FLOAT_WIDGETS[name])
            if field.optional:
                w.setSpecialValueText("off (torch init)")
        else:  # text
            w = QtWidgets.QLineEdit()
            w.editingFinished.connect(self._edited)
        if field.help:
            w.setToolTip(field.help + ("; at its lowest: off (torch init)" if field.optional else ""))
        return w

    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        """Fill the device picker with (device, label) pairs from build.available_devices()."""
        combo = self.widgets["device"]
        with QtCore.QSignalBlocker(combo):
            combo.clear()
            for device, label in devices:
                combo.addItem(label, device)
            index = combo.findData(self._spec.device)
            combo.setCurrentIndex(max(index, 0))

    def _read(self, name: str):
        w = self.widgets[name]
        if isinstance(w, QtWidgets.QComboBox):
            return w.currentData()
        if isinstance(w, QtWidgets.QCheckBox):
            return w.isChecked()
        if isinstance(w, QtWidgets.QLineEdit):
            return w.text()
        if spec_module.FIELDS_BY_NAME[name].optional:
            return None if w.value() == w.minimum() else float(w.value())
        return w.value()

    def _write(self, name: str, value) -> None:
        w = self.widgets[name]
        with QtCore.QSignalBlocker(w):
            if isinstance(w, QtWidgets.QComboBox):
                index = w.findData(value)
                if index < 0:  # e.g. a cuda device this machine lacks: show it, Build will explain
                    w.addItem(str(value), value)
                    index = w.count() - 1
                w.setCurrentIndex(index)
            elif isinstance(w, QtWidgets.QCheckBox):
                w.setChecked(bool(value))
            elif isinstance(w, QtWidgets.QLineEdit):
                w.setText(str(value))
            elif spec_module.FIELDS_BY_NAME[name].optional:
                w.setValue(w.minimum() if value is None else float(value))
            else:
                w.setValue(value)

    # -- state --------------------------------------------------------------------------
    def values(self) -> dict:
        """The fields as the form shows them; a field that does not apply to the kind keeps its default."""
        kind = self._read("kind")
        return {f.name: self._read(f.name) if f.applies_to(kind) else DEFAULTS[f.name] for f in spec_module.FIELDS}

    def spec(self) -> RNNSpec:
        """The spec the form shows (raises SpecError when the combination is invalid)."""
        values = self.values()
        preset = self.preset.currentData()
        description = get_preset(preset).description if preset else ""
        return self._spec.replace(description=description, **values)

    def set_spec(self, spec: RNNSpec) -> None:
        self._spec = spec
        for name in ORDER:
            self._write(name, getattr(spec, name))
        with QtCore.QSignalBlocker(self.preset):
            match = next((n for n in preset_names() if get_preset(n) == spec), "")
            self.preset.setCurrentIndex(max(self.preset.findData(match), 0))
        self._edited()

    def _preset_chosen(self, index: int) -> None:
        name = self.preset.itemData(index)
        if name:
            self.set_spec(get_preset(name))
            self.preset.setCurrentIndex(self.preset.findData(name))

    def _edited(self, *_args) -> None:
        values = self.values()
        for f in spec_module.FIELDS:
            if f.kinds:  # greyed out, and back to its default, for a kind it does not apply to
                applies = f.applies_to(values["kind"])
                self.widgets[f.name].setEnabled(applies)
                if not applies:
                    self._write(f.name, DEFAULTS[f.name])
        cell = values["kind"] in spec_module.CELL_KINDS
        self.widgets["dropout"].setEnabled(not cell and values["num_layers"] > 1)
        self.widgets["text"].setEnabled(values["input_source"] == "text")
        self.widgets["init_sigma"].setEnabled(values["init"] == "normal")
        for w in self.widgets.values():
            w.setStyleSheet("")
        try:
            spec = self.spec()
        except SpecError as exc:
            message = str(exc)
            self.error.setText(message)
            self.error.show()
            self.build_button.setEnabled(False)
            if exc.field in self.widgets:
                self.widgets[exc.field].setStyleSheet("border: 2px solid #c00000")
            self.code.setPlainText(f"# invalid settings: {message}")
            self.memory.clear()
            return
        self.error.hide()
        self.error.setText("")
        self.build_button.setEnabled(self.memory.show_spec(spec))
        self._spec = spec
        if self.preset.currentData() and get_preset(self.preset.currentData()) != spec:
            with QtCore.QSignalBlocker(self.preset):
                self.preset.setCurrentIndex(0)
        preset = self.preset.currentData()
        self.description.setText(get_preset(preset).description if preset else "custom settings")
        self.code.setPlainText(pytorch_code(spec))
        self.spec_changed.emit(spec)

    def memory_budget(self) -> int:
        """The budget set beside the estimate, in bytes: what Build hands the engine."""
        return self.memory.budget_bytes()

    def _build(self) -> None:
        try:
            spec = self.spec()
        except SpecError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        if not self.memory.show_spec(spec):  # the shortcut reaches here even with the button disabled
            return
        self.build_requested.emit(spec)
