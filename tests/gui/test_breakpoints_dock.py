"""The Breakpoints dock in the real window: the sentinel on a NaN at t=17, and "stop when
‖dL/dh_t‖ < 1e-6" on the vanishing-tanh preset, checked against independent engine runs."""
from __future__ import annotations

import numpy as np
import torch
from PySide6 import QtCore

import rnnviz
from rnnviz.teaching.presets import get_preset
from rnnviz.engine.runner import Runner

from guihelp import wait_idle

LEFT = QtCore.Qt.MouseButton.LeftButton


def run_until(qtbot, window):
    qtbot.mouseClick(window.debugger.breakpoints.run_button, LEFT)
    wait_idle(qtbot, window)
    return window.debugger.last_hit


def nan_runner():
    torch.manual_seed(0)
    module = torch.nn.LSTM(3, 4, num_layers=2)
    x = torch.randn(25, 2, 3)
    x[17, 1, 2] = float("nan")
    return Runner(module, x)


def test_sentinel_stops_at_the_nan_at_t17_and_says_where(qtbot, window):
    window.session.open_runner(nan_runner)
    wait_idle(qtbot, window)
    dock = window.debugger.breakpoints
    assert [c.kind for c in dock.conditions()] == ["nonfinite"] and dock.conditions()[0].enabled  # on by default
    hit = run_until(qtbot, window)
    assert hit.cell == ("forward", 0, 0, 17) and hit.tensor == "input X_t"
    assert window.frame.position == hit.position == 35
    assert tuple(window.frame.cell) == ("forward", 0, 0, 17)
    shown = (window.debugger.stop_label.text(), window.statusBar().currentMessage(), window.messages.toPlainText(),
             dock.hit_label.text())
    for text in shown:
        assert "input X_t" in text and "t=17" in text and "layer 0, direction 0" in text
    # the panels show it: h_17 of batch element 1 is NaN, t=16 is finite
    window.batch_box.setValue(1)
    assert np.isnan(window.activations.column(17)).all() and np.isfinite(window.activations.column(16)).all()


def test_stop_when_the_gradient_vanished_then_toggle_and_remove(qtbot, make_window):
    window = make_window("vanishing-tanh")
    dock = window.debugger.breakpoints
    dock.kind_box.setCurrentIndex(dock.kind_box.findText("‖dL/dh_t‖ <"))
    dock.value_edit.setText("1e-6")
    qtbot.mouseClick(dock.add_button, LEFT)
    assert [c.describe() for c in dock.conditions()] == ["sentinel: first NaN or Inf", "‖dL/dh_t‖ < 1e-06"]
    hit = run_until(qtbot, window)
    oracle = rnnviz.record(get_preset("vanishing-tanh")).grad_norm[0, 0]
    first = max(t for t in range(len(oracle)) if oracle[t] < 1e-6)
    assert hit.cell == ("backward", 0, 0, first)
    np.testing.assert_allclose(window.frame.trace.grad_norm[0, 0, first:], oracle[first:], rtol=1e-4)
    assert np.isnan(window.frame.trace.grad_norm[0, 0, :first]).all()  # stopped: t < first not computed
    assert f"t={first}" in window.statusBar().currentMessage() and "‖dL/dh_t‖" in window.messages.toPlainText()

    dock.set_checked(1, False)  # toggled off: run on to the end
    assert run_until(qtbot, window) is None and window.frame.position == window.frame.total
    assert "ran to the end" in dock.hit_label.text()
    dock.list.setCurrentRow(1)
    qtbot.mouseClick(dock.remove_button, LEFT)
    assert [c.kind for c in dock.conditions()] == ["nonfinite"]


def test_a_bad_value_is_named_and_nothing_is_added(qtbot, window):
    dock = window.debugger.breakpoints
    dock.kind_box.setCurrentIndex(dock.kind_box.findText("at timestep t ="))
    dock.value_edit.setText("seventeen")
    qtbot.mouseClick(dock.add_button, LEFT)
    assert "must be a number" in dock.error_label.text() and dock.list.count() == 1
    dock.value_edit.setText("3")
    qtbot.mouseClick(dock.add_button, LEFT)
    assert dock.conditions()[-1].describe() == "at t = 3"
