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


def test_build_shows_progress_and_cancel_keeps_the_old_model(qtbot, window, monkeypatch):
    import threading

    from rnnviz.engine import build as build_module

    release, real = threading.Event(), build_module.spectral_radius

    def held(matrix):  # the first W_hh block's eigenvalues "take long" until the test lets go
        release.wait(20)
        return real(matrix)

    monkeypatch.setattr(build_module, "spectral_radius", held)
    old_runner = window.session.runner
    click(qtbot, window, "step", 2)
    window.form.set_spec(RNNSpec(kind="lstm", num_layers=2, hidden_size=8, whh_scale=0.9))
    qtbot.mouseClick(window.form.build_button, LEFT)
    qtbot.waitUntil(window.job_progress.isVisible, timeout=10000)
    assert "block 1 of 8" in window.job_progress.label.text() and window.job_progress.bar.maximum() == 8
    qtbot.mouseClick(window.job_progress.cancel_button, LEFT)
    release.set()
    wait_idle(qtbot, window)
    assert not window.job_progress.isVisible()
    assert "build cancelled: the previous model is kept" in window.messages.toPlainText()
    assert window.session.runner is old_runner and window.frame.position == 2
    click(qtbot, window, "step")
    assert window.frame.position == 3


def test_a_long_run_reports_progress(qtbot, window, monkeypatch):
    from rnnviz.gui import worker

    monkeypatch.setattr(worker, "PROGRESS_AFTER", 0.0)
    monkeypatch.setattr(worker, "FRAME_INTERVAL", 0.0)
    seen = []
    window.session.progress.connect(lambda done, total, what: seen.append((done, total, what)))
    window.session.wait_for_draw = False
    click(qtbot, window, "run_backward")
    total = len(window.frame.schedule)
    assert seen and all(t == total and 0 < d < total for d, t, _ in seen)
    assert seen[0][2] == f"running to step {total}"
    assert not window.job_progress.isVisible()
