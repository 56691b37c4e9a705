"""Fused vs stepped: the module's own fused forward and backward on the runner's input, next to the
runner's step-by-step numbers, tensor by tensor; and why the fused `out.grad` is not dL/dh_t.

The fused run never touches the module's `.grad` (torch.autograd.grad), so proving changes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .build import compute_loss

TOLERANCE = {torch.float64: (1e-9, 1e-12), torch.float32: (1e-5, 1e-6)}  # (relative, absolute)


@dataclass(frozen=True)
class TensorCheck:
    name: str
    shape: tuple
    fused_absmax: float      # max |fused value|: the scale the difference is measured against
    max_abs_diff: float      # max |fused - stepped|
    equal: bool              # within the dtype's tolerance


@dataclass
class Proof:
    """What the proof dialog shows. direct_norm[t] = ‖out.grad[t]‖ of the fused run (top layer);
    total_norm[t] = ‖dL/dh_t‖ the runner stepped back (top layer, both directions): (T,) each."""

    checks: list[TensorCheck]
    direct_norm: np.ndarray
    total_norm: np.ndarray
    dtype: str
    rtol: float
    atol: float
    loss_name: str

    @property
    def all_equal(self) -> bool:
        return all(c.equal for c in self.checks)

    @property
    def max_relative_gap(self) -> float:
        """max_t |‖dL/dh_t‖ - ‖out.grad[t]‖| / ‖dL/dh_t‖: how far out.grad is from the total gradient."""
        with np.errstate(invalid="ignore", divide="ignore"):
            gap = np.abs(self.total_norm - self.direct_norm) / self.total_norm
        gap = gap[np.isfinite(gap)]
        return float(gap.max()) if gap.size else 0.0


def initial_state(runner):
    """h0 (and c0) in the module's own layout, from the runner's per-layer pieces."""
    def whole(parts):
        if parts is None:
            return None
        if runner.info.is_cell:
            return parts[0][0]
        return torch.stack([p for layer in parts for p in layer])
    h0, c0 = whole(runner._h0), whole(runner._c0)
    return (h0, c0) if c0 is not None else h0


def _fused_forward(module, info, inputs, state):
    """(out in the module's layout, h_n, c_n or None): one fused call, or the cell over t."""
    if not info.is_cell:
        out, final = module(inputs, state)
        h_n, c_n = final if isinstance(final, tuple) else (final, None)
        return out, h_n, c_n
    outs = []
    for x_t in inputs.unbind(0):
        state = module(x_t, state)
        outs.append(state[0] if isinstance(state, tuple) else state)
    h_n, c_n = state if isinstance(state, tuple) else (state, None)
    return torch.stack(outs), h_n, c_n


def _check(name, fused, stepped, rtol, atol) -> TensorCheck:
    fused = np.asarray(fused, dtype=np.float64)
    stepped = np.asarray(stepped, dtype=np.float64)
    if fused.shape != stepped.shape:
        raise ValueError(f"{name}: fused shape {fused.shape} differs from stepped {stepped.shape}")
    scale = float(np.abs(fused).max()) if fused.size else 0.0
    diff = float(np.abs(fused - stepped).max()) if fused.size else 0.0
    return TensorCheck(name, tuple(fused.shape), scale, diff, bool(diff <= atol + rtol * scale))


def fused_vs_stepped(runner) -> Proof:
    """Compare the finished runner with the module's own fused forward and backward.

    The runner must have stepped to the end of the backward pass (`runner.run_to_end()`).
    Shape: direct_norm, total_norm (T,).
    """
    if not runner.done:
        raise ValueError("the proof needs the whole run: step to the end of the backward pass first")
    module, info = runner.module, runner.info
    reference = next(module.parameters())
    rtol, atol = TOLERANCE.get(reference.dtype, TOLERANCE[torch.float32])
    named = list(module.named_parameters())
    head_named = [(f"head.{n}", p) for n, p in runner.head.named_parameters()] if runner.head is not None else []
    with torch.enable_grad():
        out, h_n, c_n = _fused_forward(module, info, runner.inputs, initial_state(runner))
        out_tm = out.transpose(0, 1) if info.batch_first and not info.is_cell else out  # (T, B, D*H)
        result = runner.head(out_tm) if runner.head is not None else out_tm
        loss = compute_loss(runner.loss_name, result, runner.target)
        wanted = [out_tm] + [p for _, p in named + head_named]
        grads = torch.autograd.grad(loss, wanted, allow_unused=True)
    as_np = lambda t: t.detach().cpu().numpy()  # noqa: E731
    stepped = runner.snapshot(copy=True)
    stepped_grads = stepped.param_grads
    checks = [_check("loss", float(loss.detach()), stepped.loss, rtol, atol),
              _check("out", as_np(out), stepped.output, rtol, atol),
              _check("h_n", as_np(h_n), stepped.h_n, rtol, atol)]
    if c_n is not None:
        checks.append(_check("c_n", as_np(c_n), stepped.c_n, rtol, atol))
    for (name, param), grad in zip(named + head_named, grads[1:]):
        fused_grad = torch.zeros_like(param) if grad is None else grad
        checks.append(_check(f"{name}.grad", as_np(fused_grad), stepped_grads[name], rtol, atol))
    out_grad = as_np(grads[0])  # (T, B, D*H): only the loss's direct term at each t
    direct = np.sqrt((out_grad.astype(np.float64) ** 2).sum(axis=(1, 2)))
    top = np.asarray(stepped.hidden_grad[-1], dtype=np.float64)  # (D, T, B, H): the total dL/dh_t
    total = np.sqrt((top ** 2).sum(axis=(0, 2, 3)))
    return Proof(checks, direct, total, str(reference.dtype).replace("torch.", ""), rtol, atol, runner.loss_name)
