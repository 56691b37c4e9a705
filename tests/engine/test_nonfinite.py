"""NaN and Inf are reported: a filterable warning, and where the first non-finite value appeared."""
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import rnnviz
from rnnviz.engine.spec import RNNSpec, SpecError
from rnnviz.engine.trace import load_trace
from rnnviz.errors import NonFiniteWarning


def _nan_input(T=20, t=17):
    torch.manual_seed(0)
    x = torch.randn(T, 3, 4)
    x[t, 1, 2] = float("nan")
    return x


def test_record_warns_and_says_where_the_first_nan_appeared():
    with pytest.warns(NonFiniteWarning, match=r"loss is NaN \(first non-finite: H_t, layer 0, t=17\)"):
        trace = rnnviz.record(nn.LSTM(4, 3, 2), _nan_input())
    assert trace.first_nonfinite == {"tensor": "H_t", "layer": 0, "direction": 0, "t": 17}
    assert np.isfinite(trace.hidden[:, :, :17]).all() and np.isnan(trace.hidden[1, 0, 17]).any()


def test_the_warning_can_be_turned_into_an_error_or_ignored():
    with warnings.catch_warnings():
        warnings.simplefilter("error", NonFiniteWarning)
        with pytest.raises(NonFiniteWarning):
            rnnviz.record(nn.GRU(4, 3), _nan_input())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonFiniteWarning)
        trace = rnnviz.record(nn.RNN(4, 3, bidirectional=True), _nan_input(t=5))
    # layer-major for bidirectional runs: the forward direction reaches t=5 first
    assert trace.first_nonfinite == {"tensor": "H_t", "layer": 0, "direction": 0, "t": 5}


def test_a_finite_run_does_not_warn(recwarn):
    trace = rnnviz.record(RNNSpec(kind="lstm"))
    assert trace.first_nonfinite is None
    assert not [w for w in recwarn if issubclass(w.category, NonFiniteWarning)]


def test_the_location_survives_a_save_and_load(tmp_path):
    with pytest.warns(NonFiniteWarning):
        trace = rnnviz.record(nn.RNN(4, 3, 2), _nan_input(t=3))
    trace.save(tmp_path / "nan.npz")
    assert load_trace(tmp_path / "nan.npz").first_nonfinite == {"tensor": "H_t", "layer": 0, "direction": 0, "t": 3}


def test_overflow_to_inf_is_reported_too():
    spec = RNNSpec(kind="rnn", nonlinearity="relu", init="identity", whh_scale=100.0, seq_len=40, hidden_size=3)
    with pytest.warns(NonFiniteWarning, match="first non-finite: H_t, layer 0, t="):
        trace = rnnviz.record(spec)
    assert not np.isfinite(trace.loss)


@pytest.mark.parametrize("value", [1e308, 101.0, float("inf"), float("nan"), 0.0, -1.0])
def test_unbounded_whh_scale_is_refused(value):
    with pytest.raises(SpecError, match=r"whh_scale must be > 0 and <= 100"):
        RNNSpec(whh_scale=value)


def test_the_norm_shortcut_neither_hides_nor_invents_a_nonfinite_value():
    from rnnviz.engine.nonfinite import first_nonfinite

    hidden = np.full((2, 1, 4, 3, 5), 1e30, dtype=np.float32)   # finite, but its norms overflow to Inf
    with np.errstate(over="ignore"):
        norms = np.sqrt(np.square(hidden, dtype=np.float32).sum(axis=(-2, -1)))
    assert np.isinf(norms).all()
    assert first_nonfinite(hidden, hidden, hidden_norm=norms, grad_norm=norms) is None
    hidden[1, 0, 2, 1, 3] = -np.inf
    with np.errstate(over="ignore"):
        norms = np.linalg.norm(hidden, axis=(-2, -1))
    assert first_nonfinite(hidden, hidden_norm=norms) == {"tensor": "H_t", "layer": 1, "direction": 0, "t": 2}
    grad = np.zeros_like(hidden)
    grad[0, 0, 1, 0, 0] = np.nan
    assert first_nonfinite(np.zeros_like(hidden), grad, grad_norm=np.linalg.norm(grad, axis=(-2, -1))) == \
        {"tensor": "dL/dH_t", "layer": 0, "direction": 0, "t": 1}
