"""Truncated BPTT, split exactly: which part of each dL/dh_t (and of dL/dW_hh) truncated
backpropagation through time with window k keeps, and which part it drops.

Truncated BPTT(k) lets the gradient that enters at timestep s (the loss's direct term there) travel
back at most k-1 steps: it reaches h_s, ..., h_{s-k+1} and is dropped beyond. Going down a layer at
the same t costs no step; every step along a recurrent connection does, in either direction (a path
through a bidirectional stack may go back in time in one layer and forward in the reverse
direction below). The kept part is computed on the runner's own per-cell graphs, one
vector-Jacobian product per cell for all its ages (steps travelled) below k at once; the dropped part is the runner's
total minus the kept part. Unidirectional, with k >= T nothing is dropped.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class TruncationSplit:
    """kept_h / dropped_h: (L, D, T, B, H); *_norm: (L, D, T) over (B, H). whh_*: parameter name ->
    dL/dW_hh (kept, dropped, total), one per layer and direction."""

    k: int
    kept_h: np.ndarray
    dropped_h: np.ndarray
    kept_norm: np.ndarray
    dropped_norm: np.ndarray
    total_norm: np.ndarray
    whh_kept: dict
    whh_dropped: dict
    whh_total: dict

    def whh_summary(self) -> list[tuple[str, float, float, float, float]]:
        """(name, ‖total‖, ‖kept‖, ‖dropped‖, cosine(kept, total)) per W_hh."""
        rows = []
        for name, total in self.whh_total.items():
            kept = self.whh_kept[name]
            nt, nk = float(np.linalg.norm(total)), float(np.linalg.norm(kept))
            cosine = float((kept * total).sum() / (nk * nt)) if nk and nt else float("nan")
            rows.append((name, nt, nk, float(np.linalg.norm(self.whh_dropped[name])), cosine))
        return rows


def _norm(values: np.ndarray) -> np.ndarray:
    return np.sqrt((values.astype(np.float64) ** 2).sum(axis=(-2, -1)))


def truncation_split(runner, k: int) -> TruncationSplit:
    """The exact split for window `k` (>= 1) of a runner that has run to the end of the backward pass."""
    k = int(k)
    if k < 1:
        raise ValueError(f"the truncation length k must be at least 1, got {k}")
    if not runner.done:
        raise ValueError("the truncation split needs the whole run: step to the end of the backward pass first")
    info = runner.info
    L, D, H = info.num_layers, info.num_directions, info.hidden_size
    top = L - 1
    lstm = info.kind == "lstm"
    # bands[(l, d, t)][age] = [dL/dh, dL/dc] reaching that cell's output after `age` steps back in time
    bands: dict[tuple, dict[int, list]] = {}

    def add(key, age, grad_h, grad_c=None):
        slot = bands.setdefault(key, {}).setdefault(age, [None, None])
        slot[0] = grad_h if slot[0] is None else slot[0] + grad_h
        if grad_c is not None:
            slot[1] = grad_c if slot[1] is None else slot[1] + grad_c

    direct = runner._direct_grads()
    for d in range(D):
        for t in range(runner.seq_len):
            add((top, d, t), 0, direct[t, :, d * H:(d + 1) * H])
    kept = np.zeros_like(runner.hidden_grad)
    whh_kept = {}
    for cell in runner.schedule[runner.num_forward:]:
        l, d, t = cell.layer, cell.direction, cell.t
        key = (l, d, t)
        fwd = runner._forward[key]
        w = runner._weights[l, d]
        name = w.names["weight_hh"]
        whh_kept.setdefault(name, torch.zeros_like(w.weight_hh))
        prev = runner._previous_position(d, t)
        ages = sorted(bands.pop(key, {}).items())
        if not ages:
            continue
        grad_h = torch.stack([g for _, (g, _) in ages])  # (A, B, H): one row of gradients per age
        kept[key] += grad_h.sum(0).detach().cpu().numpy()
        outputs, grad_outputs = [fwd.h], [grad_h]
        if lstm:
            outputs.append(fwd.c)
            grad_outputs.append(torch.stack([torch.zeros_like(fwd.c) if c is None else c for _, (_, c) in ages]))
        wanted = [fwd.gi if fwd.gh is None else fwd.gh, fwd.h_prev] + ([fwd.c_prev] if lstm else [])
        wanted += [fwd.x] if l > 0 else []
        # Every age through the cell in one vector-Jacobian product (vmapped over the leading A).
        with torch.enable_grad():
            grads = torch.autograd.grad(outputs, wanted, grad_outputs, retain_graph=True, allow_unused=True,
                                        is_grads_batched=True)
        grads = [torch.zeros((len(ages), *x.shape), dtype=x.dtype, device=x.device) if g is None else g
                 for x, g in zip(wanted, grads)]
        with torch.no_grad():
            whh_kept[name] += grads[0].sum(0).T @ fwd.h_prev.detach()  # linear: sum the ages first
        for i, (age, _) in enumerate(ages):
            if prev is not None and age + 1 < k:  # one more step back in time: kept only inside the window
                add((l, d, prev), age + 1, grads[1][i], grads[2][i] if lstm else None)
            if l > 0:  # down a layer at the same t: no step in time
                grad_x = grads[-1][i]
                for dd in range(D):
                    add((l - 1, dd, t), age, grad_x[:, dd * H:(dd + 1) * H])
    total = np.asarray(runner.hidden_grad)
    dropped = total - kept
    grads = runner.param_grads()
    whh_total = {name: grads[name] for name in whh_kept}
    whh_kept_np = {name: value.cpu().numpy() for name, value in whh_kept.items()}
    whh_dropped = {name: whh_total[name] - whh_kept_np[name] for name in whh_kept}
    return TruncationSplit(k, kept, dropped, _norm(kept), _norm(dropped), _norm(total), whh_kept_np, whh_dropped,
                           whh_total)
