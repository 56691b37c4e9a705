"""The window under faults: NaN runs explained, worker errors reported, the previous model kept."""
from __future__ import annotations

import warnings

from PySide6 import QtCore

import rnnviz
from rnnviz.engine.spec import RNNSpec
from rnnviz.errors import NonFiniteWarning

from guihelp import wait_idle

LEFT = QtCore.Qt.MouseButton.LeftButton
OVERFLOW = RNNSpec(kind="rnn", nonlinearity="relu", init="identity", whh_scale=100.0, seq_len=30, hidden_size=3,
                   num_layers=2, batch_size=2)


def click(qtbot, window, name, times=1):
    for _ in range(times):
        qtbot.mouseClick(window.transport.buttons[name], LEFT)
    wait_idle(qtbot, window)


def test_nan_loss_is_reported_with_where_it_started(qtbot, make_window):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonFiniteWarning)
        expected = rnnviz.record(OVERFLOW).first_nonfinite
    window = make_window(spec=OVERFLOW)
    assert "after the forward pass" in window.loss_label.text()
    click(qtbot, window, "run_end")
    text = f"first non-finite: H_t, layer {expected['layer']}, t={expected['t']}"
    assert "loss is" in window.loss_label.text() and text in window.loss_label.text()
    assert "after the forward pass" not in window.loss_label.text()
    assert text in window.messages.toPlainText()
    assert text in window.statusBar().currentMessage()
