"""A seeded monkey in the real window: random clicks, keys, typed text, Builds with random values, docks
closed and reopened, a second window opened and closed. After every action no exception escaped
(pytest-qt fails the test on any exception in a Qt callback) and the panels hold the engine's numbers:
the heatmaps equal the frame's arrays, and every computed h_t and dL/dh_t equals rnnviz.record's."""
from __future__ import annotations

import random
import warnings

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

import rnnviz
from rnnviz.errors import NonFiniteWarning
from rnnviz.gui.offscreen_docks import on_screen

import soakreport

CHECK = "GUI monkey actions"
LEFT = QtCore.Qt.MouseButton.LeftButton
SIZE_CAP = {"input_size": 6, "hidden_size": 8, "num_layers": 3, "output_size": 4, "seq_len": 12, "batch_size": 4}
KEYS = [QtCore.Qt.Key.Key_Right, QtCore.Qt.Key.Key_Left, QtCore.Qt.Key.Key_Home, QtCore.Qt.Key.Key_End]
TYPED = ["-5", "abc", "0", "3", "99999", "1e3", "", " ", "7", "2.5", "+3", "12abc", "-"]  # ASCII: QTest aborts on some others


def wait_idle(qtbot, window) -> None:
    qtbot.waitUntil(window.is_idle, timeout=60000)


class Monkey:
    def __init__(self, qtbot, window, seed: int):
        self.qtbot, self.window, self.rng = qtbot, window, random.Random(seed)
        self._oracle: dict = {}
        self.actions = [self.transport, self.transport, self.transport, self.key, self.scrub, self.select,
                        self.edit_form, self.edit_form, self.type_into_form, self.build, self.build, self.preset,
                        self.dock, self.raise_tab, self.play_briefly, self.other_window]

    # -- actions ------------------------------------------------------------------------
    def transport(self):
        name = self.rng.choice(["step", "step", "back", "run_end", "back_step", "run_backward", "reset"])
        button = self.window.transport.buttons[name]
        if button.isEnabled():
            self.qtbot.mouseClick(button, LEFT)

    def key(self):
        self.qtbot.keyClick(self.window, self.rng.choice(KEYS))

    def scrub(self):
        scrubber = self.window.transport.scrubber
        if scrubber.isEnabled():
            scrubber.setValue(self.rng.randint(scrubber.minimum(), scrubber.maximum()))

    def select(self):
        box = self.rng.choice([self.window.layer_box, self.window.batch_box])
        box.setValue(self.rng.randint(0, box.maximum() + 1))
        combo = self.window.direction_box
        if combo.count():
            combo.setCurrentIndex(self.rng.randrange(combo.count()))

    def _cap(self):
        form = self.window.form
        for name, cap in SIZE_CAP.items():
            widget = form.widgets[name]
            if widget.value() > cap:
                widget.setValue(cap)
        if form.widgets["dropout"].value():  # the oracle cannot replay a random dropout mask
            form.widgets["dropout"].setValue(0.0)

    def edit_form(self):
        form = self.window.form
        name = self.rng.choice([n for n in form.widgets if n not in ("dropout", "device")])
        widget = form.widgets[name]
        if isinstance(widget, QtWidgets.QComboBox):
            widget.setCurrentIndex(self.rng.randrange(widget.count()))
        elif isinstance(widget, QtWidgets.QCheckBox):
            widget.setChecked(not widget.isChecked())
        elif isinstance(widget, QtWidgets.QLineEdit):
            widget.setText(self.rng.choice(["hello world", "ab", "x", "", "the cat sat"]))
            widget.editingFinished.emit()
        elif isinstance(widget, QtWidgets.QSpinBox):
            widget.setValue(self.rng.randint(widget.minimum(), min(widget.maximum(), SIZE_CAP.get(name, 50))))
        else:
            widget.setValue(self.rng.uniform(widget.minimum(), min(widget.maximum(), 3.0)))
        self._cap()

    def type_into_form(self):
        form = self.window.form
        spins = [n for n, w in form.widgets.items() if isinstance(w, QtWidgets.QAbstractSpinBox) and n != "dropout"]
        widget = form.widgets[self.rng.choice(spins)]
        widget.lineEdit().selectAll()
        self.qtbot.keyClicks(widget.lineEdit(), self.rng.choice(TYPED))
        self.qtbot.keyClick(widget.lineEdit(), QtCore.Qt.Key.Key_Return)
        self._cap()

    def build(self):
        self._cap()
        if self.window.form.build_button.isEnabled():
            self.qtbot.mouseClick(self.window.form.build_button, LEFT)

    def preset(self):
        combo = self.window.form.preset
        combo.activated.emit(self.rng.randrange(1, combo.count()))
        self._cap()

    def dock(self):
        dock = self.window.docks[self.rng.choice(sorted(self.window.docks))]
        if dock.isVisible():
            dock.close()
        else:
            dock.toggleViewAction().trigger()

    def raise_tab(self):
        dock = self.window.docks[self.rng.choice(sorted(self.window.docks))]
        if dock.isVisible():
            dock.raise_()  # its tab, when tabbed: the dock it hides goes off screen

    def play_briefly(self):
        button = self.window.transport.buttons["play"]
        if button.isEnabled():
            self.qtbot.mouseClick(button, LEFT)
            self.qtbot.wait(self.rng.randint(20, 200))
            if button.isChecked():
                self.qtbot.mouseClick(button, LEFT)

    def other_window(self):
        if self.rng.random() < 0.3:
            from rnnviz.gui.main_window import MainWindow

            other = MainWindow(self.window.session.spec or None)
            self.qtbot.addWidget(other)
            other.show()
            wait_idle(self.qtbot, other)
            other.close()

    # -- checks -------------------------------------------------------------------------
    def oracle(self, spec):
        if spec not in self._oracle:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NonFiniteWarning)
                self._oracle[spec] = rnnviz.record(spec)
        return self._oracle[spec]

    def check(self):
        window = self.window
        assert "Traceback" not in window.messages.toPlainText()
        frame = window.frame
        if frame is None:
            return
        trace = frame.trace
        L, D, T, B, H = trace.hidden.shape
        sel = window.selection
        layer, direction, batch = min(sel.layer, L - 1), min(sel.direction, D - 1), min(sel.batch, B - 1)
        # On screen: a dock tabbed away still says isVisible(), is not fed, and catches up when raised.
        if on_screen(window.docks["Hidden activations"]):
            np.testing.assert_allclose(window.activations.heatmap.data, trace.hidden[layer, direction, :, batch, :].T,
                                       equal_nan=True)
        if on_screen(window.docks["Gradients"]):
            np.testing.assert_allclose(window.gradients.heatmap.data,
                                       trace.hidden_grad[layer, direction, :, batch, :].T, equal_nan=True)
        spec = window.session.spec
        if window.session.read_only or spec is None or spec.dropout:
            return
        # A large W_hh or weight scale amplifies float32 rounding chaotically (found by the soak: an LSTM
        # with whh_scale 99 is 2.7% apart from record() after 12 steps, both equally right): compare
        # those in float64 only.
        wild = (spec.whh_scale or 0) > 2 or (spec.init == "normal" and spec.init_sigma > 1)
        if wild and spec.dtype == "float32":
            return
        expected = self.oracle(spec)
        tol = 1e-4 if spec.dtype == "float32" else 1e-7
        for name in ("hidden", "hidden_grad"):
            shown, oracle = getattr(trace, name), getattr(expected, name)
            done = np.isfinite(shown)
            np.testing.assert_allclose(shown[done], oracle[done], rtol=tol, atol=tol,
                                       err_msg=f"{name} at position {frame.position} of {spec}")

    def run(self, count: int):
        history = []
        for _ in range(count):
            action = self.rng.choice(self.actions)
            soakreport.tried(CHECK)
            history.append(action.__name__)
            print("action", len(history), action.__name__, self.window.session.spec and self.window.session.spec.kind)
            action()
            wait_idle(self.qtbot, self.window)
            if self.window.transport.buttons["play"].isChecked():
                self.qtbot.mouseClick(self.window.transport.buttons["play"], LEFT)
                wait_idle(self.qtbot, self.window)
            self.check()
            soakreport.held(CHECK, action.__name__)


@pytest.mark.parametrize("seed", [1])
def test_gui_monkey(qtbot, seed):
    from rnnviz.teaching.presets import get_preset
    from rnnviz.gui.main_window import MainWindow

    window = MainWindow(get_preset("seed-rnn"))
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    wait_idle(qtbot, window)
    Monkey(qtbot, window, seed).run(soakreport.cases(200, soak=2000))
    window.close()
