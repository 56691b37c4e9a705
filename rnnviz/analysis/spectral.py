"""Why gradients vanish or explode: the spectrum of W_hh and the per-step Jacobians (numpy only).

Backpropagation through time multiplies, per step, by the Jacobian of the recurrence

    dh_t/dh_{t-1} = diag(phi'(a_t)) W_hh        (a_t = the pre-activation at t)

so |dL/dh_0| <= |dL/dh_T| * prod_t |diag(phi'(a_t))| |W_hh| <= |dL/dh_T| (gamma sigma_max)^T,
with gamma a bound on |phi'| and sigma_max the largest singular value of W_hh. Pascanu,
Mikolov & Bengio (2013), "On the difficulty of training recurrent neural networks", sec. 3:
sigma_max < 1/gamma is *sufficient* for the gradient to vanish; sigma_max > 1/gamma is
*necessary* (not sufficient) for it to explode. gamma = 1 for tanh and for relu (phi' <= 1),
1/4 for the sigmoid.

W_hh is torch's layout, (H, H) applied as h @ W_hh^T; the Jacobian above is in the column
convention, which has the same singular values and eigenvalues.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GAMMA = {"tanh": 1.0, "relu": 1.0, "sigmoid": 0.25}


def eigenvalues(w_hh: np.ndarray) -> np.ndarray:
    """Complex eigenvalues of the square W_hh, sorted by decreasing modulus. Shape: (H,)."""
    w = _square(w_hh)
    values = np.linalg.eigvals(w.astype(np.float64))
    return values[np.argsort(-np.abs(values), kind="stable")]


def spectral_radius(w_hh: np.ndarray) -> float:
    return float(np.abs(eigenvalues(w_hh)).max())


def largest_singular_value(w_hh: np.ndarray) -> float:
    """sigma_max = the operator 2-norm of W_hh (>= the spectral radius)."""
    return float(np.linalg.norm(_square(w_hh).astype(np.float64), 2))


def activation_derivative(nonlinearity: str, *, preactivations=None, hidden=None) -> np.ndarray:
    """phi'(a_t) from the pre-activations a_t, or from h_t = phi(a_t) (tanh: 1 - h^2; relu: h > 0)."""
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"nonlinearity must be tanh or relu, got {nonlinearity!r}")
    if (preactivations is None) == (hidden is None):
        raise ValueError("give exactly one of preactivations or hidden")
    if preactivations is not None:
        a = np.asarray(preactivations, dtype=np.float64)
        return 1.0 - np.tanh(a) ** 2 if nonlinearity == "tanh" else (a > 0).astype(np.float64)
    h = np.asarray(hidden, dtype=np.float64)
    return 1.0 - h**2 if nonlinearity == "tanh" else (h > 0).astype(np.float64)


def jacobian_norms(w_hh: np.ndarray, nonlinearity: str = "tanh", *, preactivations=None, hidden=None) -> np.ndarray:
    """|dh_t/dh_{t-1}|_2 = |diag(phi'(a_t)) W_hh|_2 for each step (and batch item).

    Shape:
        - preactivations or hidden: (T, H) or (T, B, H)
        - output: (T,) or (T, B)
    """
    w = _square(w_hh).astype(np.float64)
    d = activation_derivative(nonlinearity, preactivations=preactivations, hidden=hidden)
    if d.shape[-1] != w.shape[0]:
        raise ValueError(f"Expected states of hidden size {w.shape[0]}, got shape {d.shape}")
    jac = d[..., :, None] * w  # (..., H, H): row i of W_hh scaled by phi'(a_i)
    return np.linalg.norm(jac, ord=2, axis=(-2, -1))


@dataclass(frozen=True)
class PascanuBounds:
    sigma_max: float
    spectral_radius: float
    gamma: float
    nonlinearity: str

    @property
    def threshold(self) -> float:
        return 1.0 / self.gamma

    @property
    def vanishing_sufficient(self) -> bool:
        """sigma_max < 1/gamma: the gradient must vanish (exponentially in T)."""
        return self.sigma_max < self.threshold

    @property
    def exploding_possible(self) -> bool:
        """sigma_max > 1/gamma: the necessary condition for exploding holds (it may still not explode)."""
        return self.sigma_max > self.threshold

    def verdict(self) -> str:
        s, th = f"{self.sigma_max:.3g}", f"{self.threshold:.3g}"
        if self.vanishing_sufficient:
            return f"sufficient condition for vanishing holds: sigma_max={s} < 1/gamma={th} ({self.nonlinearity})"
        if self.exploding_possible:
            return (f"necessary condition for exploding holds: sigma_max={s} > 1/gamma={th} ({self.nonlinearity}); "
                    "whether it explodes depends on phi'(a_t) along the run")
        return f"on the boundary: sigma_max={s} = 1/gamma={th} ({self.nonlinearity})"


def pascanu_bounds(w_hh: np.ndarray, nonlinearity: str = "tanh") -> PascanuBounds:
    if nonlinearity not in GAMMA:
        raise ValueError(f"nonlinearity must be one of {', '.join(GAMMA)}, got {nonlinearity!r}")
    return PascanuBounds(largest_singular_value(w_hh), spectral_radius(w_hh), GAMMA[nonlinearity], nonlinearity)


def verdict(w_hh: np.ndarray, nonlinearity: str = "tanh") -> str:
    """One line: which of Pascanu et al.'s conditions W_hh meets."""
    return pascanu_bounds(w_hh, nonlinearity).verdict()


def unit_circle(points: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of the unit circle, for the eigenvalue plot."""
    angle = np.linspace(0.0, 2.0 * np.pi, points)
    return np.cos(angle), np.sin(angle)


def _square(w_hh) -> np.ndarray:
    w = np.asarray(w_hh)
    if w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise ValueError(f"W_hh must be a square (H, H) matrix, got shape {w.shape}")
    return w
