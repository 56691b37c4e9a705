"""Spectral panel maths: eigenvalues, sigma_max, per-step Jacobian norms, Pascanu's conditions."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnviz.analysis import spectral
from rnnviz.engine.build import build
from rnnviz.teaching.presets import get_preset


def test_eigenvalues_of_a_scaled_rotation():
    theta, s = 0.3, 0.8
    w = s * np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    values = spectral.eigenvalues(w)
    np.testing.assert_allclose(sorted(values.imag), [-s * np.sin(theta), s * np.sin(theta)], atol=1e-12)
    np.testing.assert_allclose(np.abs(values), [s, s])
    assert spectral.largest_singular_value(w) == pytest.approx(s)


def test_sigma_max_is_at_least_the_radius():
    w = np.random.default_rng(0).normal(size=(6, 6))
    assert spectral.largest_singular_value(w) == pytest.approx(np.linalg.svd(w, compute_uv=False)[0])
    assert spectral.largest_singular_value(w) >= spectral.spectral_radius(w)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_jacobian_norms_match_autograd(nonlinearity):
    torch.manual_seed(0)
    cell = torch.nn.RNNCell(3, 5, nonlinearity=nonlinearity, dtype=torch.float64)
    x = torch.randn(4, 3, dtype=torch.float64)
    h = torch.zeros(5, dtype=torch.float64) + 0.1
    phi = torch.tanh if nonlinearity == "tanh" else torch.relu
    pre, expected = [], []
    for x_t in x:
        a = x_t @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh
        step = lambda h_prev: phi(x_t @ cell.weight_ih.T + cell.bias_ih + h_prev @ cell.weight_hh.T + cell.bias_hh)  # noqa: E731
        expected.append(float(torch.linalg.matrix_norm(torch.autograd.functional.jacobian(step, h), ord=2)))
        pre.append(a.detach().numpy())
        h = phi(a).detach()
    w = cell.weight_hh.detach().numpy()
    got = spectral.jacobian_norms(w, nonlinearity, preactivations=np.array(pre))
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    if nonlinearity == "tanh":  # the same from h_t = tanh(a_t)
        np.testing.assert_allclose(spectral.jacobian_norms(w, hidden=np.tanh(np.array(pre))), expected, rtol=1e-8)


def test_jacobian_norms_keep_the_batch_axis():
    w = np.eye(3) * 0.5
    assert spectral.jacobian_norms(w, preactivations=np.zeros((7, 2, 3))).shape == (7, 2)
    with pytest.raises(ValueError, match="hidden size 3"):
        spectral.jacobian_norms(w, preactivations=np.zeros((7, 4)))


def test_pascanu_verdicts():
    assert spectral.verdict(0.6 * np.eye(2)) == \
        "sufficient condition for vanishing holds: sigma_max=0.6 < 1/gamma=1 (tanh)"
    bounds = spectral.pascanu_bounds(1.5 * np.eye(2), "relu")
    assert bounds.exploding_possible and not bounds.vanishing_sufficient and bounds.gamma == 1.0
    assert "necessary condition for exploding" in bounds.verdict()
    with pytest.raises(ValueError, match="square"):
        spectral.largest_singular_value(np.zeros((2, 3)))


@pytest.mark.parametrize("scale", [0.5, 1.3])
def test_whh_scale_moves_the_eigenvalues(scale):
    """The builder's W_hh scale is the spectral radius the panel shows."""
    spec = get_preset("vanishing-tanh").replace(whh_scale=scale)
    w = build(spec).module.weight_hh_l0.detach().numpy()
    assert spectral.spectral_radius(w) == pytest.approx(scale, rel=1e-5)


def test_lesson_presets_meet_their_condition():
    vanishing = build(get_preset("vanishing-tanh")).module.weight_hh_l0.detach().numpy()
    assert spectral.pascanu_bounds(vanishing, "tanh").vanishing_sufficient
    exploding = build(get_preset("exploding-relu")).module.weight_hh_l0.detach().numpy()
    assert spectral.pascanu_bounds(exploding, "relu").exploding_possible
