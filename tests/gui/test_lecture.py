"""Lecture mode: presentation (F11) with themes and keyboard stepping, the lessons panel,
the spectral window and the compare view, driven offscreen."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore

import rnnviz
from rnnviz.analysis import spectral
from rnnviz.teaching.lessons import LESSONS
from rnnviz.teaching.presets import get_preset

from guihelp import wait_idle


def test_presentation_folds_controls_and_restores(qtbot, make_window):
    window = make_window("seed-rnn")
    extras = window.view_extras
    extras.presentation_action.trigger()
    assert extras.presentation.active
    assert not window.docks["Network"].isVisible() and not window.docks["Messages"].isVisible()
    assert "font-size: 16pt" in window.styleSheet()
    assert extras.lessons_dock.isVisible()
    table = window.shapes.table  # 16pt: dtype and device go to the title so every column fits
    qtbot.waitUntil(lambda: table.isColumnHidden(2) and table.isColumnHidden(3), timeout=2000)
    extras.presentation.set_theme("dark")
    assert "background: #000000" in window.styleSheet()
    extras.presentation_action.trigger()
    assert not extras.presentation.active
    assert window.styleSheet() == ""
    assert window.docks["Network"].isVisible()
    qtbot.waitUntil(lambda: not table.isColumnHidden(2), timeout=2000)


def test_presentation_steps_by_keyboard_alone(qtbot, make_window):
    window = make_window("seed-rnncell")
    window.view_extras.presentation.set_active(True, full_screen=False)
    window.menuBar().hide()  # even with the menus out of sight
    window.activateWindow()
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Right)
    wait_idle(qtbot, window)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Right)
    wait_idle(qtbot, window)
    assert window.frame.position == 2
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Left)
    wait_idle(qtbot, window)
    assert window.frame.position == 1
    window.view_extras.presentation.set_active(False)


def test_lessons_panel_opens_each_preset(qtbot, make_window):
    window = make_window("seed-rnn")
    panel = window.view_extras.show_lessons()
    assert panel.picker.count() == len(LESSONS) == 8
    panel.select(5)
    assert "1.3" in panel.text() and "Ask the class." in panel.text()
    panel.open_button.click()
    wait_idle(qtbot, window)
    assert window.session.spec == get_preset("exploding-relu")
    panel.move(+1, open_it=True)  # lesson 6
    wait_idle(qtbot, window)
    assert window.session.spec == get_preset("lstm-memory")
    panel.move(+1, open_it=True)  # lesson 7 opens the training view on char-hello
    view = window.view_extras.training
    qtbot.addWidget(view)
    assert view.isVisible() and view.settings.text.toPlainText() == "hello world"


def test_spectral_window_follows_the_w_hh_scale(qtbot, make_window):
    window = make_window(spec=get_preset("vanishing-tanh"))
    spectral_window = window.view_extras.show_spectral()
    qtbot.addWidget(spectral_window)
    profiles = {}
    for scale in (0.6, 1.3):
        spec = get_preset("vanishing-tanh").replace(whh_scale=scale)
        window.session.build(spec)
        window.session.run_backward()
        wait_idle(qtbot, window)
        panel = spectral_window.panel
        assert np.abs(panel.eigenvalues).max() == pytest.approx(scale, rel=1e-5)
        assert panel.bounds.sigma_max == pytest.approx(scale, rel=1e-5)  # orthogonal x scale
        x, y = panel.gradient_curve.getOriginalDataset()
        expected = rnnviz.record(spec).grad_norm[0, 0]
        np.testing.assert_allclose(y, expected, rtol=1e-4)
        w = window.session.runner.module.weight_hh_l0.detach().numpy()
        pre = window.frame.trace.gates["A"][0, 0, :, 0]
        np.testing.assert_allclose(panel.jacobian_norms, spectral.jacobian_norms(w, "tanh", preactivations=pre))
        profiles[scale] = y
    # The eigenvalues and the gradient profile moved together: vanishing at 0.6, not at 1.3.
    assert profiles[0.6][0] / profiles[0.6][-1] < 1e-3 < profiles[1.3][0] / profiles[1.3][-1]
    assert "sufficient condition for vanishing holds" not in spectral_window.panel.summary.text()


def test_compare_overlays_both_gradients_on_the_same_input(qtbot):
    from rnnviz.gui.windows.compare import CompareView

    view = CompareView("RNN vs LSTM")
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.computed, timeout=30000):
        view.run()
    a, b = view.specs
    assert (a.seed, a.seq_len, a.batch_size, a.input_size) == (b.seed, b.seq_len, b.batch_size, b.input_size)
    for curve, spec in zip(view.curves, (a, b)):
        np.testing.assert_allclose(curve.getOriginalDataset()[1], rnnviz.record(spec).grad_norm[-1, 0], rtol=1e-4)
    view.slider.setValue(7)
    assert view.cursor_positions() == [7, 7, 7]
    assert view.curves[1].getOriginalDataset()[1][0] >= 100 * view.curves[0].getOriginalDataset()[1][0]
