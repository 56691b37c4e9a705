"""Replaying a large trace by windows (engine/window.py): what a frame holds equals the trace's own
numbers at the same timesteps, masked as the replay position says."""
import numpy as np
import pytest
import torch

import rnnviz
from rnnviz.engine import window as engine_window
from rnnviz.engine.gates import gates_of, saturated_fraction
from rnnviz.engine.record import record_to_disk
from rnnviz.engine.replay import ReplayRunner
from rnnviz.engine.step_table import sequence_tensors, step_table
from rnnviz.engine.window import saturated_fraction_axis, time_axis, window_start

T = 300


@pytest.fixture
def narrow(monkeypatch):
    monkeypatch.setattr(engine_window, "WINDOW_BYTES", 1)   # 16 timesteps a window


def module_and_input():
    torch.manual_seed(0)
    return torch.nn.LSTM(5, 7, num_layers=2, bidirectional=True).double(), torch.randn(T, 3, 5, dtype=torch.float64)


def check_frames(windowed_runner, full_runner, module):
    for position in (0, 1, 250, 600, 1199, 1200, 1201, 1500, 2399, 2400):
        windowed_runner.seek(position)
        full_runner.seek(position)
        frame, full = windowed_runner.snapshot(), full_runner.snapshot()
        start, width = window_start(frame), frame.hidden.shape[2]
        assert frame.windowed and width == 16 and frame.seq_len == T
        if position:
            assert start <= windowed_runner.schedule[position - 1].t < start + width
        for name in ("hidden", "hidden_grad", "cell"):
            np.testing.assert_array_equal(getattr(frame, name), getattr(full, name)[:, :, start:start + width])
        np.testing.assert_array_equal(frame.gates["F"], full.gates["F"][:, :, start:start + width])
        for name in ("hidden_norm", "grad_norm", "whh_grad_contrib_norm", "saturation"):
            # the trace's own norms, masked; a whole-array replay recomputes hidden_norm, grad_norm in numpy
            np.testing.assert_allclose(getattr(frame, name), getattr(full, name), rtol=1e-12, atol=0)
        record = windowed_runner.record_at(position - 1) if position else None
        assert str(step_table(frame, record, module)) == str(step_table(full, record, module))
        assert sequence_tensors(frame) == sequence_tensors(full)
        times, values = time_axis(frame, "hidden_grad", 0, 1, 2)
        assert times[0] == 0 and set(range(start, start + width)) <= set(times)
        np.testing.assert_array_equal(values, full.hidden_grad[0, 1, times, 2])
        gate = gates_of("lstm")[1]
        times, fractions = saturated_fraction_axis(frame, gate.key, gate.squash, 1, 0)
        np.testing.assert_array_equal(fractions, saturated_fraction(full.gates[gate.key][1, 0], gate.squash)[times])


def test_a_spooled_trace_replays_by_windows_equal_to_its_own_arrays(narrow):
    module, x = module_and_input()
    trace = record_to_disk(module, x, chunk=16, overview_step=10)
    full = rnnviz.record(module, x)
    for name in ("hidden", "hidden_grad", "cell"):   # the same run: the chunks' numbers to 1e-9
        np.testing.assert_allclose(getattr(trace, name), getattr(full, name), atol=1e-9)
    # the reference: the same files, replayed by whole arrays as an ordinary trace would be
    reference = ReplayRunner(trace)
    reference._window = None
    check_frames(ReplayRunner(trace), reference, module)


def test_an_in_memory_trace_too_large_to_copy_per_frame_replays_by_windows(narrow, monkeypatch):
    module, x = module_and_input()
    trace = rnnviz.record(module, x)
    assert ReplayRunner(trace)._window is None
    monkeypatch.setattr(engine_window, "IN_MEMORY_WINDOWED", 1 << 10)
    runner = ReplayRunner(trace)
    assert runner._window is not None and not trace.spooled
    reference = ReplayRunner(trace)
    reference._window = None
    check_frames(runner, reference, module)
