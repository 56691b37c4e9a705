"""The window under faults: NaN runs explained, worker errors reported, the previous model kept."""
from __future__ import annotations

import warnings

import numpy as np

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
    from rnnviz.gui import session as worker

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


ALLOCATOR_TEXT = ("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: "
                  "you tried to allocate 4294967296 bytes. Error code 12 (Cannot allocate memory)")


def _fail_on_call(monkeypatch, method, call, exc):
    from rnnviz.engine.runner import Runner

    real, count = getattr(Runner, method), [0]

    def failing(self, cell):
        count[0] += 1
        if count[0] == call:
            raise exc
        return real(self, cell)

    monkeypatch.setattr(Runner, method, failing)


def test_out_of_memory_mid_run_is_one_plain_line_and_the_model_stays_usable(qtbot, window, monkeypatch):
    expected = rnnviz.record(window.session.spec)
    runner = window.session.runner
    _fail_on_call(monkeypatch, "_forward_cell", 5, RuntimeError(ALLOCATOR_TEXT))
    click(qtbot, window, "run_end")
    messages = window.messages.toPlainText()
    assert "out of memory: tried to allocate 4.0 GiB" in messages and "enforce fail" not in messages
    assert "out of memory" in window.statusBar().currentMessage()
    assert window.session.runner is runner and window.frame.position == runner.position == 4
    monkeypatch.undo()
    click(qtbot, window, "run_end")
    click(qtbot, window, "run_backward")
    assert window.frame.position == len(runner.schedule)
    np.testing.assert_allclose(window.frame.trace.hidden, expected.hidden, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(window.frame.trace.hidden_grad, expected.hidden_grad, rtol=1e-4, atol=1e-6)


def test_memory_error_in_the_backward_pass_keeps_the_trace(qtbot, window, monkeypatch):
    runner = window.session.runner
    click(qtbot, window, "run_end")
    hidden = window.frame.trace.hidden.copy()
    _fail_on_call(monkeypatch, "_backward_cell", 3, MemoryError())
    click(qtbot, window, "run_backward")
    assert "out of memory" in window.messages.toPlainText()
    assert window.frame.position == runner.num_forward + 2
    np.testing.assert_array_equal(window.frame.trace.hidden, hidden)
    monkeypatch.undo()
    click(qtbot, window, "run_backward")
    assert window.frame.position == len(runner.schedule) and np.isfinite(window.frame.trace.hidden_grad).all()


def test_closing_while_play_runs_waits_for_the_worker(qtbot, make_window, monkeypatch):
    import time

    from PySide6 import QtCore as Core

    from rnnviz.gui import session as worker

    real_final_frame = worker.final_frame

    def slow_final_frame(*args, **kwargs):  # the play job's last frame takes a while to make
        time.sleep(0.3)
        return real_final_frame(*args, **kwargs)

    window = make_window("lstm-memory")
    monkeypatch.setattr(worker, "final_frame", slow_final_frame)
    window.session.play(True)
    qtbot.waitUntil(lambda: window.frame.position > 0, timeout=10000)
    assert window.session.is_busy()
    window.close()
    # the play job ended before close() returned: nothing is left to emit into a deleted Session
    assert Core.QThreadPool.globalInstance().activeThreadCount() == 0


def test_a_reopened_panel_shows_the_current_frame(qtbot, window):
    dock = window.docks["Hidden activations"]
    dock.close()
    click(qtbot, window, "step", 5)
    dock.toggleViewAction().trigger()
    hidden = window.frame.trace.hidden
    np.testing.assert_allclose(window.activations.heatmap.data, hidden[0, 0, :, 0, :].T, equal_nan=True)
    assert np.isfinite(window.activations.column(1)).all()
