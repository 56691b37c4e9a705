"""The Truncated BPTT dock in the real window: the curves and the W_hh table are the engine's exact
split, recomputed here; kept + dropped add up to the Gradients panel's dL/dh_t."""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore

from rnnviz.teaching.presets import get_preset
from rnnviz.engine.runner import Runner
from rnnviz.engine.truncation import truncation_split

from guihelp import wait_idle

LEFT = QtCore.Qt.MouseButton.LeftButton


def test_split_shown_is_the_engines(qtbot, make_window):
    window = make_window("vanishing-tanh")
    dock = window.debugger.truncation
    dock.k_box.setValue(8)
    qtbot.mouseClick(dock.compute_button, LEFT)
    wait_idle(qtbot, window)
    assert window.frame.position == window.frame.total  # it ran the backward pass to the end first
    runner = Runner.from_spec(get_preset("vanishing-tanh"))
    runner.run_to_end()
    expected = truncation_split(runner, 8)
    total, kept, dropped = dock.curves()
    np.testing.assert_allclose(total, expected.total_norm[0, 0], rtol=1e-5)
    np.testing.assert_allclose(kept[32:], expected.kept_norm[0, 0, 32:], rtol=1e-5)
    assert np.isnan(kept[:32]).all()  # the loss reads t=39 only: k=8 keeps t=32..39, nothing before
    np.testing.assert_allclose(dropped[:32], expected.dropped_norm[0, 0, :32], rtol=1e-5)
    np.testing.assert_allclose(total[:32], window.frame.trace.grad_norm[0, 0, :32], rtol=1e-6)  # = what Gradients shows
    row = [dock.table.item(0, c).text() for c in range(5)]
    name, t_norm, k_norm, d_norm, cosine = expected.whh_summary()[0]
    assert row[0] == name and float(row[1]) == float(f"{t_norm:.4g}") and float(row[3]) == float(f"{d_norm:.4g}")
    assert "truncated BPTT k=8" in window.messages.toPlainText()
    window.session.reset()
    wait_idle(qtbot, window)
    assert all(len(c) == 0 for c in dock.curves())  # stale once the run changes: cleared
