"""The window over runs recorded to disk (engine/long_record.py): a window of full resolution around
the cursor over the overview, drawn from the trace's own numbers; a Build too large to step replays."""
import numpy as np
import pytest
import torch
from guihelp import wait_idle

from rnnviz.engine import window as engine_window
from rnnviz.engine.record import record_to_disk
from rnnviz.engine.replay import ReplayRunner
from rnnviz.engine.spec import RNNSpec
from rnnviz.gui.frame import Selection

T = 300


@pytest.fixture
def narrow_windows(monkeypatch):
    """Windows of 16 timesteps, so a 300-step run shows a window and the overview."""
    monkeypatch.setattr(engine_window, "WINDOW_BYTES", 1)


def spooled(kind):
    torch.manual_seed(0)
    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM}[kind](4, 6, num_layers=2, bidirectional=True)
    return record_to_disk(module, torch.randn(T, 3, 4), chunk=32, overview_step=10)


def select(window, layer, direction, batch):
    window.layer_box.setValue(layer)
    window.direction_box.setCurrentIndex(direction)
    window.batch_box.setValue(batch)
    assert window.session.selection == Selection(layer, direction, batch)


def panel(window, name):
    return next(p for dock, p in window.panels if dock.windowTitle() == name)


def test_a_spooled_lstm_opens_and_steps_with_the_traces_numbers(qtbot, make_window, narrow_windows):
    trace = spooled("lstm")
    window = make_window(trace=trace)
    session = window.session
    assert isinstance(session.runner, ReplayRunner) and session.read_only
    select(window, 1, 1, 2)
    runner = session.runner
    # the cursor at the middle of layer 1, reverse direction (forward cells are layer-major when bidirectional)
    target = 2 * 2 * T - 150
    session.seek(target)
    wait_idle(qtbot, window)
    frame = window.frame
    cell = runner.schedule[target - 1]
    assert (cell.phase, cell.layer, cell.direction) == ("forward", 1, 1) and frame.t == cell.t
    activations = panel(window, "Hidden activations")
    np.testing.assert_array_equal(activations.column(cell.t), trace.hidden[1, 1, cell.t, 2])
    heatmap = activations.heatmap
    assert heatmap.data.shape == (6, 16) and heatmap.x0 <= cell.t < heatmap.x0 + 16 and heatmap.x0 > 0
    # the overview under it: every 10th timestep, those the replay reached
    overview, step = heatmap._overview
    assert step == 10 and overview.shape == (6, T // 10)
    # dashed lines mark where full resolution begins and ends
    assert [edge.isVisible() for edge in heatmap.window_edges] == [True, True]
    assert [edge.value() for edge in heatmap.window_edges] == [heatmap.x0 - 0.5, heatmap.x0 + 16 - 0.5]
    np.testing.assert_array_equal(overview[:, 20], trace.hidden[1, 1, 200, 2])
    # the line plot: the overview's timesteps outside the window, every one inside
    times, series = activations._times, activations._series
    assert set(range(heatmap.x0, heatmap.x0 + 16)) <= set(times) and 0 in times and 290 in times
    np.testing.assert_array_equal(series[list(times).index(cell.t)], trace.hidden[1, 1, cell.t, 2])
    gates = panel(window, "Gates")
    window.docks["Gates"].raise_()   # a tabbed-away dock is fed when it comes on screen
    wait_idle(qtbot, window)
    np.testing.assert_array_equal(gates.gate_values("F")[:, cell.t - gates.heatmaps["F"].x0], trace.gates["F"][1, 1, cell.t, 2])
    np.testing.assert_array_equal(gates.gate_values("C")[:, cell.t - gates.heatmaps["C"].x0], trace.cell[1, 1, cell.t, 2])
    # into the backward pass: the gradients panel draws dL/dh_t there
    session.seek(runner.num_forward + 5)
    wait_idle(qtbot, window)
    cell = runner.schedule[runner.num_forward + 4]
    gradients = panel(window, "Gradients")
    select(window, cell.layer, cell.direction, 2)
    wait_idle(qtbot, window)
    grad = gradients.heatmap
    np.testing.assert_array_equal(grad.data[:, cell.t - grad.x0], trace.hidden_grad[cell.layer, cell.direction, cell.t, 2])
    np.testing.assert_allclose(gradients._norms[cell.layer, cell.direction, cell.t],
                               trace.grad_norm[cell.layer, cell.direction, cell.t])
    # stepping on moves the cursor with the numbers
    session.step(3)
    wait_idle(qtbot, window)
    assert window.frame.position == runner.num_forward + 8


def test_a_build_too_large_to_step_is_recorded_to_disk_and_replayed(qtbot, make_window, narrow_windows):
    window = make_window()
    spec = RNNSpec(kind="rnn", input_size=3, hidden_size=32, num_layers=2, seq_len=400, batch_size=8)
    window.form.set_spec(spec)
    window.form.memory.budget.setValue(0.0039)   # 4 MiB: stepping and an in-memory record are over it
    assert "records it and replays it (on disk" in window.form.memory.estimate.text()
    assert window.form.build_button.isEnabled()
    window.session.build(window.form.spec())
    wait_idle(qtbot, window, timeout=60000)
    runner = window.session.runner
    assert isinstance(runner, ReplayRunner) and runner.trace.spooled
    assert "recorded to disk" in window.messages.toPlainText() and "replaying" in window.messages.toPlainText()
    window.session.step(5)
    wait_idle(qtbot, window)
    activations = panel(window, "Hidden activations")
    cell = runner.schedule[4]
    np.testing.assert_array_equal(activations.column(cell.t), runner.trace.hidden[cell.layer, 0, cell.t, 0])


def test_the_scale_bench_times_the_window_over_a_spooled_trace(qtbot, narrow_windows):
    from rnnviz.gui.bench import measure_trace_window

    result = measure_trace_window(spooled("rnn"), steps=3)
    assert result["open_ms"] > 0
    for key in ("step_ms", "backward_step_ms"):
        assert result[key]["calls"] == 3 and result[key]["p95"] >= result[key]["median"] > 0
