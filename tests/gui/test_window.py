"""The real main window, driven like a user: numbers checked against the engine's own."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore

import rnnviz
from rnnviz.gui.panels.gradients import EMPTY_HINT
from rnnviz.teaching.presets import get_preset

from guihelp import wait_idle

LEFT = QtCore.Qt.MouseButton.LeftButton


def click(qtbot, window, name, times=1):
    for _ in range(times):
        qtbot.mouseClick(window.transport.buttons[name], LEFT)
    wait_idle(qtbot, window)


def test_step_fills_heatmap_with_the_engines_hidden_states(qtbot, window):
    expected = rnnviz.record(get_preset("seed-rnn"))  # fused-equivalent oracle: (L, D, T, B, H)
    click(qtbot, window, "step", 6)  # seed-rnn has 3 layers: 6 cells = t=0 and t=1 of every layer
    assert window.frame.position == 6
    assert tuple(window.frame.cell) == ("forward", 2, 0, 1)
    for t in (0, 1):
        np.testing.assert_allclose(window.activations.column(t), expected.hidden[0, 0, t, 0], rtol=1e-5, atol=1e-6)
    assert np.isnan(window.activations.column(2)).all()  # not computed yet: drawn blank
    window.layer_box.setValue(2)
    window.batch_box.setValue(3)
    np.testing.assert_allclose(window.activations.column(1), expected.hidden[2, 0, 1, 3], rtol=1e-5, atol=1e-6)
    status = window.status_text.text()
    assert "phase: forward" in status and "layer: 2" in status and "t: 1" in status and "device: cpu" in status


def test_shapes_panel_shows_the_engines_operand_shapes(qtbot, window):
    click(qtbot, window, "step")
    text = window.shapes.equation_plain()
    assert text == ("H_t (5x2) = tanh(X_t (5x4) · W_ih^T (4x2) + b_ih (2) + H_{t-1} (5x2) · W_hh^T (2x2) + b_hh (2))")
    record = window.session.runner.records[0]
    table = window.shapes.table
    names = [table.item(r, 0).text() for r in range(table.rowCount())]
    assert names == [op.name for op in record.operands]
    for r, op in enumerate(record.operands):
        assert table.item(r, 1).text() == "(" + ", ".join(map(str, op.shape)) + ")"
    # the values in the table are the engine's: H_t's norm at t=0, layer 0
    h_row = names.index("H_t")
    assert float(table.item(h_row, 7).text()) == pytest.approx(record.h_norm, rel=1e-3)
    assert window.shapes.sequence_shapes() == {"input": (6, 5, 4), "out": (6, 5, 2), "h_n": (3, 5, 2)}


def test_batch_first_changes_input_and_out_but_not_h_n(qtbot, window):
    window.form.widgets["batch_first"].setChecked(True)
    qtbot.mouseClick(window.form.build_button, LEFT)
    wait_idle(qtbot, window)
    assert window.session.spec.batch_first
    assert window.shapes.sequence_shapes() == {"input": (5, 6, 4), "out": (5, 6, 2), "h_n": (3, 5, 2)}


def test_lstm_equation_has_gates_and_cell_state(qtbot, make_window):
    window = make_window("lstm-memory")
    click(qtbot, window, "step")
    text = window.shapes.equation_plain()
    for part in ("I_t (4x32)", "F_t (4x32)", "C_t (4x32)", "C_{t-1} (4x32)", "W_hh^T (32x128)", "H_t (4x32)"):
        assert part in text
    assert window.shapes.sequence_shapes()["c_n"] == (1, 4, 32)


def test_rebuild_with_hidden_size_7_resizes_every_panel(qtbot, window):
    window.form.widgets["hidden_size"].setValue(7)
    assert "hidden_size=7" in window.form.code.toPlainText()  # the Code tab follows the controls
    qtbot.mouseClick(window.form.build_button, LEFT)
    wait_idle(qtbot, window)
    click(qtbot, window, "run_end")
    click(qtbot, window, "run_backward")
    T = 6
    assert window.activations.heatmap.data.shape == (7, T)
    assert window.gradients.heatmap.data.shape == (7, T)
    assert window.shapes.sequence_shapes()["h_n"] == (3, 5, 7)
    table = window.shapes.table
    rows = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
    assert rows["W_hh"] == "(7, 7)" and rows["H_t"] == "(5, 7)"
    assert window.layer_box.maximum() == 2 and window.batch_box.maximum() == 4
    expected = rnnviz.record(window.session.spec)
    np.testing.assert_allclose(window.activations.column(3), expected.hidden[0, 0, 3, 0], rtol=1e-5, atol=1e-6)


def test_backward_step_fills_gradient_norm_from_the_end(qtbot, window):
    expected = rnnviz.record(get_preset("seed-rnn"))
    hints = window.gradients.hints  # "run the backward pass (B)" over each empty gradient plot
    assert all(hint.isVisible() and hint.hint_text == EMPTY_HINT for hint in hints.values())
    click(qtbot, window, "back_step")  # runs the forward pass, then one BPTT cell
    assert not hints[id(window.gradients.norm_plot)].isVisible()
    assert hints[id(window.gradients.heat_plot)].isVisible()  # it shows layer 0: not reached yet
    assert not hints[id(window.gradients.param_plot)].isVisible()  # a live run sums dL/dθ step by step
    frame = window.frame
    assert frame.position == frame.num_forward + 1 and frame.phase == "backward"
    grad_norm = frame.trace.grad_norm  # (L, D, T)
    assert np.isfinite(grad_norm[2, 0, 5]) and np.isnan(grad_norm[:, :, :5]).all()
    np.testing.assert_allclose(grad_norm[2, 0, 5], expected.grad_norm[2, 0, 5], rtol=1e-4)
    top_line = window.gradients.norm_lines[2]
    np.testing.assert_allclose(np.nanmax(top_line.yData), expected.grad_norm[2, 0, 5], rtol=1e-4)
    click(qtbot, window, "run_backward")
    np.testing.assert_allclose(window.frame.trace.grad_norm, expected.grad_norm, rtol=1e-4, atol=1e-7)
    assert not any(hint.isVisible() for hint in hints.values())
    window.layer_box.setValue(0)
    grad_image = window.gradients.heatmap.data  # (H, T) of layer 0, batch 0
    np.testing.assert_allclose(grad_image.T, expected.hidden_grad[0, 0, :, 0], rtol=1e-4, atol=1e-7)
    # "Log scale" on (the default): the heatmap's colours are log10|dL/dh_t| over whole decades.
    from rnnviz.gui.panels.gradients import decade_levels, log_magnitude

    logs = np.log10(np.abs(expected.hidden_grad[0, 0, :, 0].astype(np.float64)))
    assert window.gradients.heatmap.levels == (np.floor(logs.min()), np.ceil(logs.max()))
    assert window.gradients.heatmap.levels == decade_levels(log_magnitude(grad_image))
    window.gradients.log_box.setChecked(False)  # off: the signed dL/dh_t, symmetric levels
    m = np.abs(expected.hidden_grad[0, 0, :, 0]).max()
    np.testing.assert_allclose(window.gradients.heatmap.levels, (-m, m), rtol=1e-4)
    window.gradients.log_box.setChecked(True)
    bars = window.gradients.bars.opts["width"]
    names = window.gradients._param_names
    np.testing.assert_allclose(bars, [expected.param_grad_norms[n] for n in names], rtol=1e-4)


def test_torch_error_shows_a_message_and_keeps_the_old_model(qtbot, window, monkeypatch):
    from rnnviz.gui import session as worker

    old_runner = window.session.runner

    def explode(spec, progress=None, memory_budget=None):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(worker, "make_runner", explode)
    window.form.widgets["hidden_size"].setValue(9)
    qtbot.mouseClick(window.form.build_button, LEFT)
    wait_idle(qtbot, window)
    assert "out of memory" in window.messages.toPlainText()
    assert "out of memory" in window.statusBar().currentMessage()
    assert window.session.runner is old_runner
    click(qtbot, window, "step", 2)
    assert window.frame.position == 2 and window.activations.heatmap.data.shape == (2, 6)


def test_invalid_combination_is_explained_and_build_disabled(qtbot, window):
    form = window.form
    form.widgets["input_source"].setCurrentIndex(form.widgets["input_source"].findData("text"))
    assert form.error.isVisibleTo(form) and "input_size" in form.error.text()
    assert not form.build_button.isEnabled()
    form.widgets["input_source"].setCurrentIndex(form.widgets["input_source"].findData("randn"))
    assert form.build_button.isEnabled() and not form.error.isVisibleTo(form)
    form.widgets["kind"].setCurrentIndex(form.widgets["kind"].findData("rnn_cell"))  # cells: one layer, no bidir
    assert not form.widgets["num_layers"].isEnabled() and form.spec().num_layers == 1


def test_keyboard_and_scrubber(qtbot, window):
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Right)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Right)
    wait_idle(qtbot, window)
    assert window.frame.position == 2
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Left)
    wait_idle(qtbot, window)
    assert window.frame.position == 1
    qtbot.keyClick(window, QtCore.Qt.Key.Key_End)
    wait_idle(qtbot, window)
    assert window.frame.position == window.frame.num_forward
    window.transport.scrubber.setValue(4)
    wait_idle(qtbot, window)
    assert window.frame.position == 4 and window.transport.position_label.text().startswith("4 /")
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Home)
    wait_idle(qtbot, window)
    assert window.frame.position == 0


def test_click_on_heatmap_seeks_to_that_timestep(qtbot, window):
    click(qtbot, window, "run_end")
    plot = window.activations.heat_plot
    scene_point = plot.vb.mapViewToScene(QtCore.QPointF(3.1, 0.2))
    view_point = window.activations.graphics.mapFromScene(scene_point)
    qtbot.mouseClick(window.activations.graphics.viewport(), LEFT, pos=view_point)
    wait_idle(qtbot, window)
    assert window.frame.cell.t == 3 and window.frame.cell.layer == 0
    assert window.activations._plots[0][2].value() == 3  # the time cursor moved there


def test_play_then_stop_interrupts(qtbot, make_window):
    window = make_window("vanishing-tanh")
    window.transport.speed.setCurrentIndex(window.transport.speed.findData(20.0))
    qtbot.mouseClick(window.transport.play_button, LEFT)
    qtbot.waitUntil(lambda: window.frame.position >= 3, timeout=5000)
    qtbot.mouseClick(window.transport.buttons["stop"], LEFT)
    wait_idle(qtbot, window, timeout=2000)
    stopped = window.frame.position
    assert 3 <= stopped < window.frame.total
    qtbot.wait(150)
    assert window.frame.position == stopped and not window.transport.play_button.isChecked()


def test_docks_close_and_come_back_from_the_view_menu(qtbot, window):
    dock = window.docks["Gradients"]
    dock.close()
    assert not dock.isVisible()
    dock.toggleViewAction().trigger()
    assert dock.isVisible()
    assert window._settings is None  # RNNVIZ_SETTINGS="" in tests: nothing persisted


def test_export_panel_png_and_svg(qtbot, window, tmp_path):
    from rnnviz.gui.export import export_widget

    png = export_widget(window.activations, tmp_path / "act.png")
    svg = export_widget(window.gradients, tmp_path / "grad.svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = svg.read_text()
    assert "<svg" in text and len(text) > 1000


def test_save_and_browse_a_trace_read_only(qtbot, window, tmp_path, make_window):
    from rnnviz.gui import files

    click(qtbot, window, "run_backward")
    path = tmp_path / "t.npz"
    files.save_trace(window, str(path))
    loaded = rnnviz.load_trace(path)
    browse = make_window(trace=loaded)
    assert browse.session.read_only and not browse.transport.buttons["back_step"].isEnabled()
    click(qtbot, browse, "step", 4)
    assert browse.frame.position == 4
    np.testing.assert_allclose(browse.activations.column(1), loaded.hidden[0, 0, 1, 0])
    assert browse.shapes.equation_plain().startswith("H_t (5x2) = tanh(")


def test_hover_reads_the_value_under_the_mouse(qtbot, window):
    click(qtbot, window, "run_end")
    plot = window.activations.heat_plot
    window.activations._moved(plot.vb.mapViewToScene(QtCore.QPointF(2.0, 1.0)))
    value = window.frame.trace.hidden[0, 0, 2, 0, 1]
    assert window.activations.hover.text() == f"h_t[t=2, unit=1] = {value:.4g}"


def test_save_and_open_spec_json(qtbot, window, tmp_path):
    from rnnviz.engine.spec import RNNSpec
    from rnnviz.gui import files

    window.form.widgets["hidden_size"].setValue(5)
    path = tmp_path / "spec.json"
    files.save_spec(window, str(path))
    assert RNNSpec.from_json(path.read_text()).hidden_size == 5
    window.form.widgets["hidden_size"].setValue(3)
    files.open_spec(window, str(path))
    assert window.form.spec().hidden_size == 5
    path.write_text("{not json")
    files.open_spec(window, str(path))
    assert "not valid JSON" in window.messages.toPlainText()


def test_every_spec_field_has_a_control_and_forget_bias_follows_the_kind(qtbot, window):
    from dataclasses import fields

    from rnnviz.engine.spec import RNNSpec

    form = window.form
    assert {f.name for f in fields(RNNSpec)} - set(form.widgets) == {"description"}
    index = form.preset.findData("lstm-memory")
    form.preset.setCurrentIndex(index)
    form.preset.activated.emit(index)  # what a user's pick emits
    assert form.widgets["forget_bias"].isEnabledTo(form) and form.spec().forget_bias == 2.0
    form.widgets["forget_bias"].setValue(1.0)
    assert form.spec().forget_bias == 1.0 and "p[32:64] = 1.0" in form.code.toPlainText()
    form.widgets["kind"].setCurrentIndex(form.widgets["kind"].findData("gru"))
    assert not form.widgets["forget_bias"].isEnabledTo(form) and form.spec().forget_bias is None
