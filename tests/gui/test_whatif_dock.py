"""The What-if dock in the real window: an edit made at a paused forward step, run on, and the
overlay checked against the same edit made through the engine's API; Undo gives the original back."""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore

import rnnviz
from rnnviz.engine import whatif
from rnnviz.teaching.presets import get_preset
from rnnviz.engine.runner import Runner

from guihelp import wait_idle

LEFT = QtCore.Qt.MouseButton.LeftButton


def test_edit_run_on_compare_and_undo(qtbot, make_window):
    window = make_window("lstm-memory")
    dock = window.debugger.whatif
    window.session.step(12)  # paused in the forward pass at t=11
    wait_idle(qtbot, window)
    dock.t_box.setValue(5)
    dock.index_box.setValue(3)
    dock.op_box.setCurrentIndex(dock.op_box.findData("set"))
    dock.value_edit.setText("0.9")
    qtbot.mouseClick(dock.apply_button, LEFT)
    wait_idle(qtbot, window)
    assert window.frame.position == 6  # redone up to the edited cell, paused after it
    assert (window.frame.trace.hidden[0, 0, 5, :, 3] == np.float32(0.9)).all()
    assert "t=5: h_t[unit 3] of layer 0, every batch element, set to 0.9" in dock.status.text()
    window.session.run_to_end()
    window.session.run_to_end()  # forward, then the backward pass
    wait_idle(qtbot, window)
    assert window.frame.position == window.frame.total

    runner = Runner.from_spec(get_preset("lstm-memory"))  # the same edit through the API
    runner.edit(t=5, layer=0, target="h", index=3, value=0.9)
    runner.run_to_end()
    expected = whatif.overlay(runner.snapshot(), runner.original())
    shown = dock.result
    np.testing.assert_allclose(shown.h_diff, expected.h_diff, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(shown.grad_norm, expected.grad_norm, rtol=1e-5)
    np.testing.assert_allclose(shown.grad_norm_original, rnnviz.record(get_preset("lstm-memory")).grad_norm, rtol=1e-4)
    assert abs(shown.loss - expected.loss) <= 1e-5 * abs(expected.loss) and shown.loss != shown.loss_original
    assert (shown.h_diff[0, 0, :5] == 0).all() and (shown.h_diff[0, 0, 5:] > 0).all()  # it travels to the end
    np.testing.assert_allclose(dock.diff_line.yData, np.where(shown.h_diff[0, 0] > 0, shown.h_diff[0, 0], np.nan))

    qtbot.mouseClick(dock.undo_button, LEFT)
    wait_idle(qtbot, window)
    original = rnnviz.record(get_preset("lstm-memory"))
    np.testing.assert_allclose(window.frame.trace.hidden, original.hidden, rtol=1e-5, atol=1e-6)
    assert dock.result is None and "original run" in dock.status.text()
    assert "edits undone" in window.messages.toPlainText()


def test_input_edit_and_a_bad_value(qtbot, make_window):
    window = make_window("vanishing-tanh")
    dock = window.debugger.whatif
    window.docks["What-if"].raise_()  # its tab, as a user opens it: a dock tabbed away is drawn when shown
    dock.target_box.setCurrentIndex(dock.target_box.findData("x"))
    assert dock.index_box.maximum() == 3  # input_size 4
    dock.value_edit.setText("lots")
    qtbot.mouseClick(dock.apply_button, LEFT)
    assert "must be a number" in dock.status.text()
    dock.value_edit.setText("5")
    dock.op_box.setCurrentIndex(dock.op_box.findData("scale"))
    dock.t_box.setValue(2)
    qtbot.mouseClick(dock.apply_button, LEFT)
    wait_idle(qtbot, window)
    window.session.run_to_end()
    wait_idle(qtbot, window)
    runner = Runner.from_spec(get_preset("vanishing-tanh"))
    runner.edit(t=2, target="x", index=0, op="scale", value=5.0)
    runner.run_forward()
    np.testing.assert_allclose(window.frame.trace.hidden, runner.hidden, rtol=1e-6, atol=1e-7)
    assert dock.result.h_diff[0, 0, 2] > 0 and dock.result.h_diff[0, 0, 1] == 0
