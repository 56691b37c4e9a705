"""Panels copy only the timesteps a step changed (SliceCopy) and recolour only those heatmap columns:
whatever the path (steps, steps back, Reset, a new selection, an edit, a run), what they hold must stay
exactly the engine's numbers."""
from __future__ import annotations

import numpy as np

from guihelp import wait_idle
from rnnviz.gui.panels.gradients import magnitude_levels


def assert_panels_hold_the_engines_numbers(window) -> None:
    frame, sel = window.frame, window.selection
    trace = frame.trace
    with window.session.arrays:
        hidden = np.array(trace.hidden[sel.layer, sel.direction, :, sel.batch])
        grad = np.array(trace.hidden_grad[sel.layer, sel.direction, :, sel.batch])
    np.testing.assert_array_equal(window.activations.heatmap.data, hidden.T)
    np.testing.assert_array_equal(window.gradients.heatmap.data, grad.T)
    for heatmap in (window.activations.heatmap, window.gradients.heatmap):
        rows, cols = heatmap.data.shape
        shown = heatmap.data[::-(-rows // heatmap.MAX_ROWS), ::-(-cols // heatmap.MAX_COLS)]
        np.testing.assert_array_equal(heatmap._drawn, shown)  # what the image was coloured from
        np.testing.assert_array_equal(heatmap._rgba, heatmap._colour(shown))  # coloured as a full redraw would
        for view in heatmap.image.scene().views():
            view.viewport().repaint()  # paint now: the image pyqtgraph draws is made at paint time
        qimage = heatmap.image.qimage  # what Qt painted: the columns a step changed, repainted alone
        if heatmap.image.isVisible() and qimage is not None:
            painted = np.frombuffer(qimage.constBits(), dtype=np.uint8).reshape(qimage.height(), -1)
            np.testing.assert_array_equal(painted[:, :4 * qimage.width()].reshape(heatmap._rgba.shape), heatmap._rgba)
    assert window.gradients.heatmap.levels == magnitude_levels(grad)
    # a run in memory has no overview, so no window edges are drawn
    assert not any(edge.isVisible() for h in (window.activations.heatmap, window.gradients.heatmap)
                   for edge in h.window_edges)
    unit = window.activations.lines[0].getData()[1]  # unit 0 over time; no finite value: nothing drawn
    np.testing.assert_array_equal(unit, hidden[:, 0] if np.isfinite(hidden[:, 0]).any() else np.empty(0))


def _do(qtbot, window, action, times=1):
    for _ in range(times):
        action()
        wait_idle(qtbot, window)


def test_steps_steps_back_and_reset_leave_the_engines_numbers(qtbot, window):
    session = window.session
    _do(qtbot, window, session.step, 5)
    assert_panels_hold_the_engines_numbers(window)
    _do(qtbot, window, session.back, 2)
    assert_panels_hold_the_engines_numbers(window)
    _do(qtbot, window, session.step, 3)
    assert_panels_hold_the_engines_numbers(window)
    session.run_to_end()
    wait_idle(qtbot, window)
    _do(qtbot, window, session.backward_step, 4)
    assert np.isfinite(window.gradients.heatmap.data).any()
    assert_panels_hold_the_engines_numbers(window)
    _do(qtbot, window, session.back, 3)  # undoes backward cells: their columns go back to NaN
    assert_panels_hold_the_engines_numbers(window)
    _do(qtbot, window, session.backward_step, 2)
    assert_panels_hold_the_engines_numbers(window)
    session.reset()
    wait_idle(qtbot, window)
    assert np.isnan(window.activations.heatmap.data).all() and np.isnan(window.gradients.heatmap.data).all()
    assert_panels_hold_the_engines_numbers(window)
    _do(qtbot, window, session.step, 1)  # one cell after a Reset: one column, as the engine has it
    assert_panels_hold_the_engines_numbers(window)


def test_another_selection_and_a_long_run_copy_everything_again(qtbot, window):
    session = window.session
    _do(qtbot, window, session.step, 4)
    window.layer_box.setValue(1)
    wait_idle(qtbot, window)
    assert_panels_hold_the_engines_numbers(window)
    window.batch_box.setValue(1)
    wait_idle(qtbot, window)
    _do(qtbot, window, session.step, 3)
    assert_panels_hold_the_engines_numbers(window)
    session.run_backward()
    wait_idle(qtbot, window)
    assert_panels_hold_the_engines_numbers(window)


def test_an_edit_recomputes_the_columns_it_changed(qtbot, window):
    session = window.session
    _do(qtbot, window, session.step, 9)  # seed-rnn: 3 layers, so t=0..2 of every layer
    before = window.activations.heatmap.data.copy()

    def edit(runner, stopped, arrays):
        with arrays:
            runner.edit(t=0, index=0, value=3.0, layer=0)  # the run goes back to just after that cell
        yield "edited"

    session.run_job(edit, lambda _: None)
    wait_idle(qtbot, window)
    _do(qtbot, window, session.step, 8)
    assert_panels_hold_the_engines_numbers(window)
    assert window.activations.heatmap.data[0, 0] == 3.0 != before[0, 0]


def test_a_long_sequence_recolours_only_the_columns_it_shows(qtbot, make_window):
    from rnnviz.engine.spec import RNNSpec

    window = make_window(spec=RNNSpec(kind="rnn", seq_len=1700, batch_size=2, input_size=3, hidden_size=5))
    session = window.session
    session.run_to(1500)  # three image columns per shown column at T=1700 (MAX_COLS 800)
    wait_idle(qtbot, window)
    _do(qtbot, window, session.step, 4)
    assert_panels_hold_the_engines_numbers(window)
    _do(qtbot, window, session.back, 3)
    assert_panels_hold_the_engines_numbers(window)
    session.run_to_end()
    wait_idle(qtbot, window)
    _do(qtbot, window, session.backward_step, 3)
    _do(qtbot, window, session.back, 1)
    assert_panels_hold_the_engines_numbers(window)


def test_gradient_plots_keep_every_value_in_view_and_auto_range_off(qtbot, window):
    session = window.session
    session.run_to_end()
    wait_idle(qtbot, window)
    gradients = window.gradients
    for checked in (True, False, True):  # log, linear, log again: each fits anew, none turns auto-range on
        gradients.log_box.setChecked(checked)
        for _ in range(3):
            session.backward_step()
            wait_idle(qtbot, window)
            norms = window.frame.trace.grad_norm
            shown = norms[np.isfinite(norms) & (norms > 0)]
            low, high = gradients.norm_plot.vb.viewRange()[1]
            values = np.log10(shown) if checked else shown
            assert low <= values.min() and values.max() <= high
            bars = np.array(list(window.frame.trace.param_grad_norms.values()))
            assert 0 <= gradients.param_plot.vb.viewRange()[0][0] and bars.max() <= gradients.param_plot.vb.viewRange()[0][1]
        for plot in (gradients.norm_plot, gradients.contrib_plot):
            assert plot.vb.state["autoRange"] == [False, False]  # a moving cursor repaints its strip only
