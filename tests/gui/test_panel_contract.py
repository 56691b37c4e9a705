"""One panel contract: show_frame(frame, selection), no QWidget.update override; the selection lives in
the Session and other windows follow it; the GUI never reads arrays while the worker steps."""
from __future__ import annotations

import time

import numpy as np
from PySide6 import QtWidgets

from guihelp import wait_idle


def test_every_panel_shows_frames_and_keeps_qwidget_update(window):
    # The debugger's frame-fed docks are pairs like the window's own: one feeding path for all.
    assert [dock.windowTitle() for dock, _ in window.panels] == ["Shapes", "Hidden activations", "Gradients",
                                                                 "Gates", "What-if", "Truncated BPTT"]
    assert [panel for _, panel in window.panels][3:] == [window.debugger.gates, window.debugger.whatif,
                                                          window.debugger.truncation]
    for _, panel in window.panels:
        assert callable(panel.show_frame)
        assert type(panel).update is QtWidgets.QWidget.update  # a plain repaint request still works
        panel.update()


def test_gradients_redraw_when_the_backward_cells_change(qtbot, window):
    window.session.run_backward()
    wait_idle(qtbot, window)
    heat = window.gradients.heatmap.data.copy()
    window.session.seek(window.frame.num_forward + 2)  # back into the backward pass: fewer gradients
    wait_idle(qtbot, window)
    assert np.isnan(window.gradients.heatmap.data).sum() > np.isnan(heat).sum()
    np.testing.assert_array_equal(window.gradients.heatmap.data, window.frame.trace.hidden_grad[0, 0, :, 0].T)


def test_other_windows_follow_the_sessions_selection(qtbot, window):
    spectral_window = window.view_extras.show_spectral()
    qtbot.addWidget(spectral_window)
    window.session.run_to_end()
    wait_idle(qtbot, window)
    window.layer_box.setValue(2)  # seed-rnn has 3 layers
    assert window.session.selection.layer == 2 and window.selection.layer == 2
    w = window.session.runner.module.weight_hh_l2.detach().numpy()
    np.testing.assert_allclose(np.sort(np.abs(spectral_window.panel.eigenvalues)), np.sort(np.abs(np.linalg.eigvals(w))),
                               rtol=1e-5)
    np.testing.assert_array_equal(window.activations.column(0), window.frame.trace.hidden[2, 0, 0, 0])


def test_play_does_not_step_while_the_gui_reads_the_arrays(qtbot, make_window):
    window = make_window("vanishing-tanh")
    session = window.session
    session.speed = 200.0
    session.play(True)
    qtbot.waitUntil(lambda: session.runner.position > 2, timeout=20000)
    with session.arrays:
        held_at = session.runner.position
        time.sleep(0.3)  # at 200 cells a second the worker would have stepped ~60 times
        assert session.runner.position == held_at
    session.stop()
    wait_idle(qtbot, window)


def test_training_and_compare_share_the_time_canvas(qtbot):
    from rnnviz.train.config import TrainConfig
    from rnnviz.train.training import train
    from rnnviz.gui.windows.compare import CompareView
    from rnnviz.gui.panels.common import TimeCanvas
    from rnnviz.gui.windows.training_view import TrainingView

    view = TrainingView(TrainConfig(epochs=2))
    qtbot.addWidget(view)
    compare = CompareView()
    qtbot.addWidget(compare)
    assert isinstance(view.panels, TimeCanvas) and isinstance(compare.canvas, TimeCanvas)
    history, _ = train(TrainConfig(epochs=8, sample_every=0))  # 'hello world', 10-character windows: 8 iterations
    view.show_history(history)
    view.panels.seek.emit(4)  # a click on any plot picks that iteration
    assert view.iteration_box.value() == 4
    assert view.panels.cursor_values() == [4, 4, 4, 4]
    text = view.panels._series_value(4.2, "loss", lambda h: h.losses)
    assert text == f"iteration 4: loss {history.losses[4]:.4g}"


def test_panels_redraw_from_run_and_version_not_array_identity(qtbot, window):
    from rnnviz.gui.frame import Selection

    window.session.step()
    wait_idle(qtbot, window)
    frame = window.frame
    window.shapes.table.item(0, 0).setText("stale")
    window.shapes.show_frame(frame, Selection(layer=1))  # the same run and version: nothing to redraw
    assert window.shapes.table.item(0, 0).text() == "stale"
    window.session.step()
    wait_idle(qtbot, window)
    assert window.frame.version == frame.version + 1 and window.frame.run_id == frame.run_id
    assert window.shapes.table.item(0, 0).text() == "X_t"


def test_a_tutorial_iteration_opens_as_a_replay_with_its_table(qtbot, window):
    from rnnviz.engine.replay import ReplayRunner
    from rnnviz.train.config import TrainConfig
    from rnnviz.train.training import iteration_run, train
    from rnnviz.gui.debug_open import open_run

    history, _ = train(TrainConfig(epochs=2, sample_every=0))
    open_run(window, iteration_run(history, 1), label="tutorial iteration 1")
    wait_idle(qtbot, window)
    assert isinstance(window.session.runner, ReplayRunner) and window.session.runner.label == "tutorial iteration 1"
    window.session.step()
    wait_idle(qtbot, window)
    names = [row["name"] for row in window.frame.rows]
    assert names == ["X_t", "H_t", "output_t"] and window.frame.rows[1]["norm"] is not None


def test_parameter_names_fit_the_bar_plot(qtbot, window):
    from rnnviz.gui.panels.gradients import BAR_LABEL_PITCH

    window.session.run_backward()
    wait_idle(qtbot, window)
    panel = window.gradients
    names = list(window.frame.trace.param_grad_norms)
    assert len(names) == 12  # seed-rnn: 3 layers x 4 tensors, more than a short plot has lines for
    for height, step in ((120, 2), (400, 1)):  # 120 px: room for 8 names, so every other one
        panel.param_plot.vb.resize(panel.param_plot.vb.width(), height)
        ticks = panel.param_plot.getAxis("left")._tickLevels[0]
        assert panel._bar_step == step and [n for _, n in ticks] == names[::step]
        assert len(ticks) * BAR_LABEL_PITCH <= height
