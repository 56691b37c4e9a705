"""The window under a memory budget, and the per-panel timings of `rnnviz bench gui`."""
from guihelp import wait_idle

from rnnviz.engine.memory import ENV_VAR, estimate_spec, format_bytes
from rnnviz.gui.bench import _time_panels, format_table
from rnnviz.gui.memory_row import window_estimate


def test_the_form_shows_the_engines_estimate_of_the_spec(qtbot, window):
    window.form.widgets["seq_len"].setValue(300)
    spec = window.form.spec()
    assert spec.seq_len == 300
    needed = window_estimate(spec)
    assert needed.peak >= estimate_spec(spec).peak and needed.peak >= estimate_spec(spec, stepping=True).peak
    assert window.form.memory.estimate.text() == f"memory: {needed.describe()}"
    assert window.form.build_button.isEnabled()
    window.form.widgets["seq_len"].setValue(600)
    assert window.form.memory.estimate.text() == f"memory: {window_estimate(window.form.spec()).describe()}"


def test_over_the_budget_build_is_disabled_and_the_engine_gets_the_budget(qtbot, window):
    old_runner = window.session.runner
    window.form.memory.budget.setValue(0.01)  # GiB
    budget = format_bytes(0.01 * (1 << 30))
    assert window.session.memory_budget == round(0.01 * (1 << 30))
    window.form.widgets["seq_len"].setValue(2000)
    # too large to step, but recorded to disk and replayed within the budget: Build stays enabled
    label = window.form.memory.estimate.text()
    assert f"over the budget of {budget}: Build records it and replays it (on disk" in label
    assert window.form.build_button.isEnabled()
    # its weights alone are over the budget: nothing fits
    window.form.widgets["hidden_size"].setValue(1024)
    label = window.form.memory.estimate.text()
    assert f"over the budget of {budget}" in label and "replays" not in label
    assert window_estimate(window.form.spec()).describe() in label
    assert not window.form.build_button.isEnabled()
    # The engine refuses it too, with the budget set here, not its default of 1 GiB.
    window.session.build(window.form.spec())
    wait_idle(qtbot, window)
    message = window.messages.toPlainText()
    assert "needs about" in message and f"over the memory budget of {budget}" in message
    assert window.session.runner is old_runner
    window.form.memory.budget.setValue(1.0)
    window.form.widgets["hidden_size"].setValue(16)
    assert window.form.build_button.isEnabled() and "over the budget" not in window.form.memory.estimate.text()


def test_the_budget_field_starts_from_the_environment(qtbot, make_window, monkeypatch):
    monkeypatch.setenv(ENV_VAR, "512MiB")
    window = make_window()
    assert window.form.memory.budget.value() == 0.5
    assert window.session.memory_budget == 512 << 20


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
    assert not times["Gates"]  # tabbed away behind Hidden activations: not fed
    row["panel_update_ms"]["Gates"] = {"median": float("nan"), "p95": float("nan"), "calls": 0}
    gates_line = next(line for line in format_table([row]).splitlines() if "panel update: Gates" in line)
    assert "not fed: off screen" in gates_line and "nan" not in gates_line
