"""Per-timestep summaries of a whole run, with memory linear in the batch size.

Each timestep's term of dL/dW is G_tᵀ · S_t (G_t the (B, G) gradient of the gate
pre-activations, S_t the (B, K) state or input it multiplied). Its Frobenius norm can be had
two ways: form the (G, K) product, B·G·K multiply-adds; or from the (B, B) grams,
‖G_tᵀ S_t‖² = Σ (G_t G_tᵀ) ⊙ (S_t S_tᵀ), B²·(G + K). The cheaper one is taken, and timesteps are
processed in chunks whose intermediates stay under a fixed number of elements, so no (T, B, B)
array is ever formed.
"""
from __future__ import annotations

import torch

from .cells import mark_saturated

CHUNK_ELEMENTS = 1 << 22  # 16 MiB of float32 intermediates per chunk
CACHE_ELEMENTS = 1 << 16  # 256 KiB of float32: a pass over this much stays in the L2 cache


def uses_grams(batch: int, grad_width: int, state_width: int) -> bool:
    """Whether the gram route is the cheaper one for these widths (same answer for any T)."""
    return batch * (grad_width + state_width) < grad_width * state_width


@torch.no_grad()
def product_norms(grad: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
    """‖grad_tᵀ · state_t‖_F for every t: grad (T, B, G), state (T, B, K) -> (T,)."""
    T, B, G = grad.shape
    K = state.shape[-1]
    result = torch.empty(T, dtype=grad.dtype, device=grad.device)
    grams = uses_grams(B, G, K)
    per_step = 3 * B * B if grams else G * K
    chunk = max(1, CHUNK_ELEMENTS // max(per_step, 1))
    for start in range(0, T, chunk):
        g, s = grad[start:start + chunk], state[start:start + chunk]
        if grams:
            value = torch.bmm(g, g.transpose(1, 2)).mul_(torch.bmm(s, s.transpose(1, 2)))
            result[start:start + chunk] = value.sum(dim=(-2, -1)).clamp_min_(0).sqrt_()
        else:
            result[start:start + chunk] = torch.linalg.matrix_norm(torch.bmm(g.transpose(1, 2), s))
    return result


@torch.no_grad()
def shifted_product_norms(grad: torch.Tensor, states: torch.Tensor, initial: torch.Tensor, reverse: bool) -> torch.Tensor:
    """product_norms against the state each position READ: H_{t-1} (H_{t+1} in reverse), the
    initial state at the first position; no shifted copy of `states` is made."""
    T = grad.shape[0]
    result = torch.empty(T, dtype=grad.dtype, device=grad.device)
    first, rest, later = (T - 1, slice(0, T - 1), slice(1, T)) if reverse else (0, slice(1, T), slice(0, T - 1))
    result[first:first + 1] = product_norms(grad[first:first + 1], initial.unsqueeze(0))
    if T > 1:
        result[rest] = product_norms(grad[rest], states[later])
    return result


@torch.no_grad()
def batch_norms(values: torch.Tensor) -> torch.Tensor:
    """Frobenius norm over the trailing (B, H) of each timestep: (T, B, H) -> (T,)."""
    return torch.linalg.vector_norm(values, dim=(-2, -1))


@torch.no_grad()
def saturation(h: torch.Tensor, nonlinearity: str) -> torch.Tensor:
    """Fraction of saturated units per timestep, (..., B, H) -> (...): |h| > 0.95 for tanh, h <= 0
    (dead) for relu. Taken over chunks of timesteps small enough to stay in cache, marked in place
    in one reused float buffer: a whole-array abs, comparison, conversion and sum were four passes
    over memory (measured 1.03 ms against 0.15 ms on (200, 4096))."""
    per_step = max(h.shape[-2] * h.shape[-1], 1)
    flat = h.reshape(-1, per_step)
    rows = flat.shape[0]
    chunk = max(1, CACHE_ELEMENTS // per_step)
    scratch = torch.empty(min(chunk, rows), per_step, dtype=h.dtype, device=h.device)
    result = torch.empty(rows, dtype=h.dtype, device=h.device)
    for start in range(0, rows, chunk):
        stop = min(start + chunk, rows)
        marked = mark_saturated(flat[start:stop], nonlinearity, out=scratch[:stop - start])
        torch.sum(marked, 1, out=result[start:stop])
    return result.div_(per_step).view(h.shape[:-2])


def _gram(values: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    return torch.bmm(values, values.transpose(1, 2), out=out)


def _frobenius_from_grams(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """sqrt(Σ a ⊙ b) per leading index; overwrites `b`."""
    return b.mul_(a).sum(dim=(-2, -1)).clamp_min_(0).sqrt_()


def _read_state_grams(hidden: torch.Tensor, initial: torch.Tensor, reverse: bool, start: int, stop: int,
                      out: torch.Tensor) -> torch.Tensor:
    """Grams of the states positions start..stop-1 read (H_{t-1}, or H_{t+1} in reverse, `initial` at
    the first position), written into `out` (stop - start, B, B) without a shifted copy of `hidden`."""
    T = hidden.shape[0]
    first = T - 1 if reverse else 0
    if not start <= first < stop:
        return _gram(hidden[start + 1:stop + 1] if reverse else hidden[start - 1:stop - 1], out=out)
    start_state = initial.unsqueeze(0)
    at = first - start
    _gram(start_state, out=out[at:at + 1])
    if stop - start > 1:
        rest = out[:at] if reverse else out[1:]
        _gram(hidden[start + 1:stop] if reverse else hidden[start:stop - 1], out=rest)
    return out


@torch.no_grad()
def layer_contribution_norms(grad_gh: torch.Tensor, grad_gi: torch.Tensor, hidden: torch.Tensor,
                             initial: torch.Tensor, reverse: bool, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per timestep, ‖dL/dW_hh term‖ and ‖dL/dW_ih term‖ of one layer and direction, (T,) each.

    grad_gh (T, B, G) against the state each position read (H_{t-1}, or H_{t+1} in reverse;
    `initial` at the first position), grad_gi against x (T, B, I). On the gram route the
    gradient's gram is formed once when grad_gi is grad_gh (RNN, LSTM).
    """
    T, B, G = grad_gh.shape
    if not (uses_grams(B, G, hidden.shape[-1]) and uses_grams(B, G, x.shape[-1])):
        return (shifted_product_norms(grad_gh, hidden, initial, reverse), product_norms(grad_gi, x))
    shared = grad_gi is grad_gh
    chunk = min(T, max(1, CHUNK_ELEMENTS // (3 * B * B)))
    whh = torch.empty(T, dtype=grad_gh.dtype, device=grad_gh.device)
    wih = torch.empty_like(whh)
    grams = torch.empty(3, chunk, B, B, dtype=grad_gh.dtype, device=grad_gh.device)
    for start in range(0, T, chunk):
        stop = min(start + chunk, T)
        grad_gram, state_gram, input_gram = grams[:, :stop - start]
        _gram(grad_gh[start:stop], out=grad_gram)
        _read_state_grams(hidden, initial, reverse, start, stop, out=state_gram)
        whh[start:stop] = _frobenius_from_grams(grad_gram, state_gram)
        if not shared:
            _gram(grad_gi[start:stop], out=grad_gram)
        wih[start:stop] = _frobenius_from_grams(grad_gram, _gram(x[start:stop], out=input_gram))
    return whh, wih
