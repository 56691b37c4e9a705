"""The form's Input tab: a typed shape gets what the engine's pre-flight (and torch) says about it."""
from __future__ import annotations

import pytest
import torch
from PySide6 import QtCore

from rnnviz.engine.preflight import ShapeError, check_shapes
from rnnviz.engine.runner import Runner

from guihelp import wait_idle

LEFT = QtCore.Qt.MouseButton.LeftButton


def type_shape(qtbot, tab, text, h0=""):
    tab.input_edit.setText(text)
    tab.h0_edit.setText(h0)
    qtbot.mouseClick(tab.check_button, LEFT)
    return tab.verdict.text()


def test_typed_shapes_get_the_engines_verdict(qtbot, window):
    tab = window.debugger.input_tab
    assert window.form.tabs.tabText(window.form.tabs.indexOf(tab)) == "Input"
    # seed-rnn is nn.RNN(4, 2, num_layers=3): a (5, 6, 4) input is fine, and what torch returns is named
    text = type_shape(qtbot, tab, "(5, 6, 4)")
    assert tab.ok and "out would be (5, 6, 2)" in text and "h_n (3, 6, 2)" in text
    module = torch.nn.RNN(4, 2, num_layers=3)
    out, h_n = module(torch.randn(5, 6, 4))
    assert tuple(out.shape) == (5, 6, 2) and tuple(h_n.shape) == (3, 6, 2)  # torch agrees
    # a wrong feature size: the dimension, the expected and the given shape, and the layout
    text = type_shape(qtbot, tab, "5, 6, 6")
    assert not tab.ok and "dimension 2 (input_size) must be 4, got 6" in text
    assert "input (seq_len, batch, input_size)\n      = (5, 6, 4)" in tab.layout_text.toPlainText()
    with pytest.raises(RuntimeError, match="input_size"):  # ...and torch refuses it too
        module(torch.randn(5, 6, 6))
    text = type_shape(qtbot, tab, "(5, 6, 4)", h0="(3, 5, 2)")
    assert "dimension 1 (batch) must be 6, got 5" in text
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(3, 6, 2\)"):
        module(torch.randn(5, 6, 4), torch.zeros(3, 5, 2))
    assert "a shape is whole numbers" in type_shape(qtbot, tab, "five by six")


def test_batch_first_changes_what_is_expected(qtbot, window):
    window.form.widgets["batch_first"].setChecked(True)
    tab = window.debugger.input_tab
    tab.check()
    assert "(batch, seq_len, input_size)" in tab.layout_text.toPlainText()
    text = type_shape(qtbot, tab, "(5, 6, 4)", h0="(3, 5, 2)")  # batch is dimension 0 now: 5
    assert tab.ok and "out would be (5, 6, 2)" in text


def test_a_bad_runner_input_is_a_named_error_in_the_window(qtbot, window):
    module = torch.nn.LSTM(4, 3, num_layers=2)
    with pytest.raises(ShapeError) as info:
        check_shapes(module, torch.randn(7, 2, 4), (torch.zeros(2, 2, 3), torch.zeros(2, 3, 3)))
    assert "c0: dimension 1 (batch) must be 2, got 3" in str(info.value)
    assert "c0    (num_layers*num_directions, batch, hidden_size)\n      = (2, 2, 3)" in str(info.value)
    window.session.open_runner(lambda: Runner(module, torch.randn(7, 2, 5)))
    wait_idle(qtbot, window)
    assert "dimension 2 (input_size) must be 4, got 5" in window.messages.toPlainText()
    assert window.session.spec is not None  # the previous network stays usable
