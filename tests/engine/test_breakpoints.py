"""Runner.run_until: the NaN/Inf sentinel and threshold, timestep and layer breakpoints, checked
against the runner's own arrays and an independent record() of the same spec."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnviz
from rnnviz.engine import breakpoints as bp
from rnnviz.teaching.presets import get_preset
from rnnviz.engine.runner import Runner


def nan_runner(kind=torch.nn.LSTM, t_nan=17):
    torch.manual_seed(0)
    module = kind(3, 4, num_layers=2)
    x = torch.randn(25, 2, 3)
    x[t_nan, 1, 2] = float("nan")
    return Runner(module, x)


def test_sentinel_stops_at_the_input_holding_a_nan_at_t17():
    runner = nan_runner()
    hit = runner.run_until()  # the sentinel is the default condition
    assert hit is not None and hit.tensor == "input X_t"
    assert hit.cell == ("forward", 0, 0, 17)
    assert "layer 0, direction 0, t=17" in hit.message and "1 NaN" in hit.message
    assert runner.position == hit.position == 17 * 2 + 1  # timestep-major: 2 layers a timestep
    assert np.isfinite(runner.hidden[:, :, :17]).all()  # nothing before t=17 was touched by it
    assert np.isnan(runner.hidden[0, 0, 17, 1]).all()  # the row holding the NaN...
    assert np.isfinite(runner.hidden[0, 0, 17, 0]).all()  # ...not the other batch element


def test_sentinel_names_the_hidden_state_of_a_layer_above():
    runner = nan_runner(torch.nn.GRU)
    hit = runner.run_until(bp.Condition("nonfinite", layer=1))
    assert hit.cell == ("forward", 1, 0, 17) and hit.tensor == "gate R_t"


def test_sentinel_in_the_backward_pass_names_dl_dh():
    torch.manual_seed(0)
    runner = Runner(torch.nn.RNN(3, 4), torch.randn(6, 2, 3), loss="sum")
    runner.run_forward()
    runner._grad_h[0, 0, 5][0, 1] = float("inf")  # a gradient going bad mid-backward
    hit = runner.run_until(bp.sentinel())
    assert hit.cell == ("backward", 0, 0, 5) and hit.tensor == "dL/dh_t"


def test_stop_where_the_gradient_vanished_on_the_vanishing_tanh_preset():
    spec = get_preset("vanishing-tanh")
    runner = Runner.from_spec(spec)
    hit = runner.run_until([bp.sentinel(), bp.threshold("grad_norm", "<", 1e-6)])
    oracle = rnnviz.record(spec).grad_norm[0, 0]  # (T,) from an independent whole-run record
    first = max(t for t in range(len(oracle)) if oracle[t] < 1e-6)  # backward runs from t=T-1 down
    assert hit.cell == ("backward", 0, 0, first)
    assert oracle[first + 1] >= 1e-6
    assert hit.value == pytest.approx(oracle[first], rel=1e-4)
    assert "‖dL/dh_t‖" in hit.message and f"t={first}" in hit.message


def test_threshold_timestep_and_layer_breakpoints():
    torch.manual_seed(1)
    runner = Runner(torch.nn.RNN(3, 5, num_layers=3), torch.randn(8, 2, 3))
    hit = runner.run_until(bp.at_timestep(4, layer=2))
    assert hit.cell == ("forward", 2, 0, 4)
    hit = runner.run_until(bp.at_timestep(2, phase="backward"))
    assert hit.cell == ("backward", 2, 0, 2)  # the first backward cell at t=2 is the top layer's
    runner.reset()
    hit = runner.run_until(bp.threshold("h_norm", ">", 0.0, layer=1))
    assert hit.cell == ("forward", 1, 0, 0) and hit.value == pytest.approx(runner.hidden_norm[1, 0, 0])
    assert runner.run_until(bp.threshold("saturation", ">", 1.5)) is None and runner.done  # never: ran to the end
    disabled = bp.at_layer(0).toggled(False)
    runner.reset()
    assert runner.run_until([disabled], until=10) is None and runner.position == 10


def test_bad_conditions_are_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="kind must be one of"):
        bp.Condition("grad")
    with pytest.raises(ValueError, match="whole number"):
        bp.at_timestep(-1)
    with pytest.raises(ValueError, match="quantity must be one of"):
        bp.threshold("loss", "<", 1)
