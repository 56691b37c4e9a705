"""The window under a memory budget, and the per-panel timings of `rnnviz bench gui`."""
from guihelp import wait_idle
from PySide6.QtCore import Qt

from rnnviz.engine.memory import ENV_VAR
from rnnviz.gui.bench import _time_panels, format_table


def test_a_build_over_the_budget_is_refused_with_the_estimate(qtbot, window, monkeypatch):
    monkeypatch.setenv(ENV_VAR, "1MiB")
    old_runner = window.session.runner
    window.form.widgets["seq_len"].setValue(2000)
    qtbot.mouseClick(window.form.build_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    message = window.messages.toPlainText()
    assert "needs about" in message and "over the memory budget of 1.0 MiB" in message
    assert window.session.runner is old_runner


def test_panel_timings_name_every_panel(qtbot, window):
    times = _time_panels(window)
    window.session.step()
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: bool(times["Shapes"] and times["Hidden activations"]), timeout=5000)
    assert set(times) >= {"Shapes", "Hidden activations", "Gradients"}
    window.session.run_backward()
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: bool(times["Gradients"]), timeout=5000)
    stats = {"median": 1.0, "p95": 2.0, "calls": 1}
    row = {"case": "x", "step_to_repaint_ms": stats, "gui_frame_ms": stats, "backward_step_to_repaint_ms": stats,
           "play_steps_per_s": 1.0, "max_event_loop_stall_ms": 1.0, "run_to_end_s": 1.0,
           "reset_to_repaint_ms": stats, "first_step_after_reset_ms": stats,
           "panel_update_ms": {label: stats for label in times}}
    table = format_table([row])
    assert "panel update: Hidden activations" in table and "Reset -> repainted" in table
