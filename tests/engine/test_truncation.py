"""The truncated-BPTT split against an independent truncated backprop: for every source timestep s,
a graph cut (detached) k steps before s, run with the fused module's own step."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnviz.teaching.presets import get_preset
from rnnviz.engine.runner import Runner
from rnnviz.engine.truncation import truncation_split


def independent_truncated(module, x, k, lstm):
    """kept dL/dh_t (T, B, H) and kept dL/dW_hh for a 1-layer module and loss out.sum()."""
    T, B = x.shape[:2]
    H = module.hidden_size
    kept = torch.zeros(T, B, H, dtype=x.dtype)
    whh = torch.zeros_like(module.weight_hh_l0)
    with torch.no_grad():
        states, state = [], None
        for t in range(T):  # the states every window starts from (detached: nothing flows past it)
            _, state = module(x[t:t + 1], state)
            states.append(state)
    for s in range(T):
        start = max(0, s - k + 1)
        state = None if start == 0 else states[start - 1]
        hs = []
        for t in range(start, s + 1):
            _, state = module(x[t:t + 1], state)
            h = state[0] if lstm else state
            h.retain_grad()
            hs.append(h)
        module.zero_grad()
        hs[-1].sum().backward()  # the direct term of out.sum() at s: ones
        for i, h in enumerate(hs):
            kept[start + i] += h.grad[0]
        whh += module.weight_hh_l0.grad
    return kept.numpy(), whh.numpy()


@pytest.mark.parametrize("kind", [torch.nn.RNN, torch.nn.GRU, torch.nn.LSTM])
@pytest.mark.parametrize("k", [1, 3, 7])
def test_split_equals_an_independent_truncated_bptt(kind, k):
    torch.manual_seed(0)
    module = kind(3, 4).double()
    x = torch.randn(7, 2, 3, dtype=torch.float64)
    runner = Runner(module, x)
    runner.run_to_end()
    split = truncation_split(runner, k)
    kept, whh = independent_truncated(module, x, k, kind is torch.nn.LSTM)
    np.testing.assert_allclose(split.kept_h[0, 0], kept, atol=1e-12)
    np.testing.assert_allclose(split.whh_kept["weight_hh_l0"], whh, atol=1e-12)
    np.testing.assert_allclose(split.kept_h + split.dropped_h, runner.hidden_grad, atol=1e-12)
    if k >= 7:  # the whole sequence fits in the window: nothing is dropped
        assert np.abs(split.dropped_h).max() < 1e-12 and np.abs(split.whh_dropped["weight_hh_l0"]).max() < 1e-12
    else:
        assert split.dropped_norm[0, 0, 0] > 0


def test_multilayer_bidirectional_keeps_everything_when_k_covers_every_path():
    torch.manual_seed(1)
    module = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True).double()
    runner = Runner(module, torch.randn(5, 2, 3, dtype=torch.float64))
    runner.run_to_end()
    # a path may run back through time in layer 1 and forward again in layer 0's reverse direction:
    # it crosses at most 2 * (T - 1) timesteps, so k = 2T - 1 keeps all of it, and k = T does not
    full = truncation_split(runner, 9)
    np.testing.assert_allclose(full.kept_h, runner.hidden_grad, atol=1e-12)
    assert np.abs(truncation_split(runner, 5).dropped_h[0]).max() > 1e-6
    one = truncation_split(runner, 1)
    assert np.abs(one.dropped_h).max() > 1e-6
    # k=1 keeps exactly the gradient that never crosses a timestep: the direct term, and what goes down layers
    np.testing.assert_allclose(one.kept_h[1, 0], runner._direct_grads()[:, :, :4].numpy(), atol=1e-12)


def test_vanishing_tanh_truncation_drops_only_what_had_vanished():
    runner = Runner.from_spec(get_preset("vanishing-tanh"))
    with pytest.raises(ValueError, match="whole run"):
        truncation_split(runner, 5)
    runner.run_to_end()
    with pytest.raises(ValueError, match="at least 1"):
        truncation_split(runner, 0)
    split = truncation_split(runner, 10)
    # the loss reads only t=39: truncation keeps t=30..39 and drops everything before, exactly
    assert (split.kept_norm[0, 0, :30] == 0).all()
    np.testing.assert_allclose(split.dropped_norm[0, 0, :30], runner.grad_norm[0, 0, :30], rtol=1e-5)
    assert np.abs(split.dropped_h[0, 0, 30:]).max() <= 1e-6 * np.abs(runner.hidden_grad).max()
    name, total, kept, dropped, cosine = split.whh_summary()[0]
    assert name == "weight_hh_l0" and dropped < 1e-2 * total and cosine > 0.99  # what it drops had vanished
