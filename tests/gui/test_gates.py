"""The Gates dock in the real window: every heatmap is the engine's gate, c_t and saturated fraction."""
from __future__ import annotations

import numpy as np
import pytest

import rnnviz
from rnnviz.engine.gates import gate_saturation, saturated_fraction
from rnnviz.teaching.presets import get_preset
from rnnviz.engine.spec import RNNSpec

from guihelp import wait_idle


def show_gates(qtbot, window):
    window.docks["Gates"].show()
    window.docks["Gates"].raise_()
    wait_idle(qtbot, window)
    return window.debugger.gates


def test_lstm_gates_and_cell_state_are_the_engines(qtbot, make_window):
    window = make_window("lstm-memory")
    panel = show_gates(qtbot, window)
    window.session.run_to(window.session.runner.num_forward)
    wait_idle(qtbot, window)
    oracle = rnnviz.record(get_preset("lstm-memory"))  # an independent run of the same spec
    window.batch_box.setValue(2)
    for key in "IFGO":
        np.testing.assert_allclose(panel.gate_values(key), oracle.gates[key][0, 0, :, 2, :].T, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(panel.gate_values("C"), oracle.cell[0, 0, :, 2, :].T, rtol=1e-5, atol=1e-6)
    # the forget bias of 2 keeps f_t near sigmoid(2) ~ 0.88: the lesson's claim, read off the panel
    assert 0.75 < float(np.mean(panel.gate_values("F"))) < 0.95
    expected = gate_saturation(oracle)
    for key in "IFGO":
        np.testing.assert_allclose(panel.fractions[key], expected[key][0, 0], atol=1e-12)
    f = oracle.gates["F"][0, 0]
    assert panel.fractions["F"][5] == pytest.approx(float(((f[5] < 0.05) | (f[5] > 0.95)).mean()))
    assert window.debugger.gates._plots[0][2].value() == oracle.hidden.shape[2] - 1  # shared time cursor at t=T-1
    # Five heatmaps in one dock: the unit axis and colour bar label their ends only (no crushed ticks).
    units = oracle.hidden.shape[-1]
    assert [v for v, _ in panel.heatmaps["I"].plot.getAxis("left")._tickLevels[0]] == [0, units - 1]
    lo, hi = panel.heatmaps["C"].levels
    assert [v for v, _ in panel.heatmaps["C"].bar.getAxis("right")._tickLevels[0]] == [lo, hi]


def test_gru_gates_fill_as_the_forward_pass_steps(qtbot, make_window):
    spec = RNNSpec(kind="gru", input_size=3, hidden_size=5, num_layers=2, seq_len=7, batch_size=2)
    window = make_window(spec=spec)
    panel = show_gates(qtbot, window)
    window.session.step(6)  # t=0..2 of both layers
    wait_idle(qtbot, window)
    window.layer_box.setValue(1)
    oracle = rnnviz.record(spec)
    assert set(panel.heatmaps) == {"R", "Z", "N"}
    for key in "RZN":
        drawn = panel.gate_values(key)
        np.testing.assert_allclose(drawn[:, :3], oracle.gates[key][1, 0, :3, 0, :].T, rtol=1e-5, atol=1e-6)
        assert np.isnan(drawn[:, 3:]).all()  # not computed yet: blank
    n = oracle.gates["N"][1, 0, :3]
    np.testing.assert_allclose(panel.fractions["N"][:3], saturated_fraction(n, "tanh"))


def test_plain_rnn_says_it_has_no_gates(qtbot, window):
    panel = show_gates(qtbot, window)
    assert not panel.heatmaps and "no gates" in panel.note.text()
