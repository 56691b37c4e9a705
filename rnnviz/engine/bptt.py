"""One layer and direction of an RNN, GRU or LSTM over a whole sequence: a forward with no
autograd graph, and backpropagation through time written out.

Autograd over an unrolled loop was most of what recording cost; torch's own CPU RNN and GRU
backward accumulate every weight gradient one timestep at a time. Here only the recursion is
sequential: per timestep one (B, H) x (H, G) product and a few elementwise ops, writing into
preallocated (T, B, H) buffers. Every weight gradient is then ONE matrix product over all T*B
rows (Gᵀ · H_prev), and the gradient handed to the layer below is one product too. The backward
of each cell is linear in its incoming dL/dH_t, so the factors it multiplies by are computed
for all timesteps at once, before the loop. The oracle tests hold every path to torch.

Shapes: T timesteps, B batch, I input features, H hidden, G = H (RNN), 3H (GRU), 4H (LSTM).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from . import buffers
from .cells import LayerWeights

GATE_WIDTH = {"rnn": 1, "gru": 3, "lstm": 4}


@dataclass
class LayerForward:
    """One layer and direction, time-major (positions 0..T-1), no autograd graph."""

    kind: str
    nonlinearity: str
    reverse: bool
    x: torch.Tensor               # (T, B, I) what the layer read
    h0: torch.Tensor              # (B, H)
    c0: torch.Tensor | None
    hidden: torch.Tensor          # (T, B, H)
    cell: torch.Tensor | None     # (T, B, H), LSTM only
    gates: dict                   # name -> (T, B, H): RNN 'A' (pre-activation); GRU R, Z, N; LSTM I, F, G, O
    work: torch.Tensor            # (T, B, G): RNN the pre-activation, GRU [R Z N], LSTM [I F G O]
    hidden_n: torch.Tensor | None  # GRU: H_{t-1} W_hn^T + b_hn (T, B, H), which the reset gate scaled
    h_n: torch.Tensor
    c_n: torch.Tensor | None


@dataclass
class LayerGrads:
    """The backward of one layer and direction."""

    hidden_grad: torch.Tensor     # (T, B, H) total dL/dH_t
    grad_gi: torch.Tensor         # (T, B, G) dL/d(X_t W_ih^T + b_ih)
    grad_gh: torch.Tensor         # (T, B, G) dL/d(H_{t-1} W_hh^T + b_hh); the same tensor for RNN, LSTM
    grad_c0: torch.Tensor | None = None   # (B, H) dL/dc0, LSTM only


# Above this many weight elements a prepacked oneDNN product beats a plain one per timestep
# (measured here, one thread: (8,512)x(512,2048) 0.31 vs 0.72 ms; no gain at (32,128)x(128,512)).
_PACK_MIN_ELEMENTS = 1 << 18


class _Recurrent:
    """acc + a · Wᵀ per timestep for one fixed W: in place with addmm_, or, for float32 on CPU
    with a large W, with W prepacked once by oneDNN (as torch's own fused LSTM does); the latter
    returns a new tensor."""

    def __init__(self, weight: torch.Tensor, batch: int):
        self.weight_t = weight.t()
        self.packed = None
        if (weight.dtype == torch.float32 and weight.device.type == "cpu" and weight.numel() >= _PACK_MIN_ELEMENTS
                and torch.backends.mkldnn.is_available()):
            try:
                self.packed = torch.ops.mkldnn._reorder_linear_weight(weight.detach().contiguous(), batch)
            except (RuntimeError, AttributeError):  # a build without oneDNN's linear: the plain product
                self.packed = None

    def add(self, a: torch.Tensor, acc: torch.Tensor) -> torch.Tensor:
        if self.packed is None:
            return acc.addmm_(a, self.weight_t)
        return torch.ops.mkldnn._linear_pointwise.binary(a, acc, self.packed, None, "add")


def _order(T: int, reverse: bool) -> range:
    return range(T - 1, -1, -1) if reverse else range(T)


def _shifted(states: torch.Tensor, initial: torch.Tensor, reverse: bool):
    """The state each position read, as (first position's, the rest): (initial, states[:-1]) for
    the forward direction, with positions 0 | 1..T-1; (initial, states[1:]) for the reverse, with
    positions T-1 | 0..T-2."""
    return initial, (states[1:] if reverse else states[:-1])


def _input_projection(x: torch.Tensor, w: LayerWeights, extra_bias: torch.Tensor | None, out: torch.Tensor | None):
    """X W_ih^T + b_ih (+ extra_bias) for all timesteps at once, (T, B, G)."""
    T, B, _ = x.shape
    flat_x = x.reshape(T * B, -1)
    G = w.weight_ih.shape[0]
    result = buffers.empty(T, B, G, dtype=x.dtype, device=x.device) if out is None else out
    flat = result.view(T * B, G)
    bias = w.bias_ih
    if bias is not None and extra_bias is not None:
        bias = bias + extra_bias
    elif bias is None:
        bias = extra_bias
    if bias is None:
        torch.mm(flat_x, w.weight_ih.t(), out=flat)
    else:
        torch.addmm(bias, flat_x, w.weight_ih.t(), out=flat)
    return result


@torch.no_grad()
def layer_forward(kind: str, x: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor | None, w: LayerWeights,
                  nonlinearity: str = "tanh", reverse: bool = False, hidden: torch.Tensor | None = None,
                  cell: torch.Tensor | None = None, work: torch.Tensor | None = None) -> LayerForward:
    """Run one layer and direction over x (T, B, I) from h0 (and c0 for the LSTM), keeping every
    state and gate. `hidden`, `cell` (T, B, H) and `work` (T, B, G) may be preallocated buffers
    to write into; the gates are views of `work`."""
    T, B, _ = x.shape
    H = h0.shape[-1]
    hidden = buffers.empty(T, B, H, dtype=x.dtype, device=x.device) if hidden is None else hidden
    if kind == "rnn":
        return _rnn_forward(x, h0, w, nonlinearity, reverse, hidden, work)
    if kind == "gru":
        return _gru_forward(x, h0, w, reverse, hidden, work)
    if kind == "lstm":
        cell = buffers.empty_like(hidden) if cell is None else cell
        return _lstm_forward(x, h0, c0, w, reverse, hidden, cell, work)
    raise ValueError(f"kind must be 'rnn', 'gru' or 'lstm', got {kind!r}")


# torch's CPU tanh costs about six sigmoids, so above this many elements per step tanh(a) is taken
# as 1 - 2σ(-2a), with the rows of the weights and biases that make `a` scaled by -2 (exact in
# floating point): the matmuls give -2a directly (measured, one thread: tanh of (32, 256) 22 us
# against 7 us for the sigmoid and 1 - 2s; at (8, 32) the plain tanh is faster, one op instead of two).
_TANH_VIA_SIGMOID_MIN = 1024


def _tanh_via_sigmoid(B: int, H: int) -> bool:
    return B * H >= _TANH_VIA_SIGMOID_MIN


def _rnn_forward(x, h0, w, nonlinearity, reverse, hidden, work) -> LayerForward:
    T, B, _ = x.shape
    H = h0.shape[-1]
    via_sigmoid = nonlinearity == "tanh" and _tanh_via_sigmoid(B, H)
    rows = slice(0, H) if via_sigmoid else None
    bias = w.bias_ih if w.bias_hh is None else (w.bias_hh if w.bias_ih is None else w.bias_ih + w.bias_hh)
    scaled = LayerWeights(w.names, _scale_rows(w.weight_ih, rows), w.weight_hh, _scale_rows(bias, rows), None)
    pre = _input_projection(x, scaled, None, work)  # (T, B, H): A_t (times -2 via the sigmoid), completed in the loop
    recurrent = _Recurrent(_scale_rows(w.weight_hh, rows), B)
    one = torch.ones((), dtype=x.dtype, device=x.device)
    steps = list(zip(pre.unbind(0), hidden.unbind(0)))
    h = h0
    for t in _order(T, reverse):
        step, h_out = steps[t]
        total = recurrent.add(h, step)                 # A_t = X_t W_ih^T + b_ih + b_hh + H_{t-1} W_hh^T
        if total is not step:
            step.copy_(total)
        if via_sigmoid:
            h = torch.sub(one, torch.sigmoid(step, out=h_out), alpha=2, out=h_out)   # tanh A_t = 1 - 2σ(-2A_t)
        elif nonlinearity == "tanh":
            h = torch.tanh(step, out=h_out)
        else:
            h = torch.clamp_min(step, 0, out=h_out)    # relu with out=
    if via_sigmoid:
        pre.mul_(-0.5)                                 # A_t itself for the trace, exactly
    return LayerForward("rnn", nonlinearity, reverse, x, h0, None, hidden, None, {"A": pre}, pre, None,
                        h.clone(), None)


def _gru_forward(x, h0, w, reverse, hidden, work) -> LayerForward:
    T, B, _ = x.shape
    H = h0.shape[-1]
    via_sigmoid = _tanh_via_sigmoid(B, H)
    n_rows = slice(2 * H, 3 * H) if via_sigmoid else None      # N's pre-activation comes out times -2
    extra = None if w.bias_hh is None else torch.cat([w.bias_hh[:2 * H], w.bias_hh.new_zeros(H)])
    scaled = LayerWeights(w.names, _scale_rows(w.weight_ih, n_rows), w.weight_hh, _scale_rows(w.bias_ih, n_rows), None)
    rzn = _input_projection(x, scaled, extra, work)     # (T, B, 3H): R and Z get b_hr, b_hz now
    hidden_n = buffers.empty_like(hidden)
    w_rz_t, w_n_t = w.weight_hh[:2 * H].t(), w.weight_hh[2 * H:].t()
    b_n = None if w.bias_hh is None else w.bias_hh[2 * H:]
    one = torch.ones((), dtype=x.dtype, device=x.device)
    steps = list(zip(rzn[..., :2 * H].unbind(0), rzn[..., :H].unbind(0), rzn[..., H:2 * H].unbind(0),
                     rzn[..., 2 * H:].unbind(0), hidden_n.unbind(0), hidden.unbind(0)))
    h = h0
    for t in _order(T, reverse):
        rz, r, z, n, h_n, h_out = steps[t]
        rz.addmm_(h, w_rz_t).sigmoid_()                # R_t, Z_t
        if b_n is None:
            torch.mm(h, w_n_t, out=h_n)
        else:
            torch.addmm(b_n, h, w_n_t, out=h_n)        # H_{t-1} W_hn^T + b_hn
        if via_sigmoid:                                # N_t = tanh(X_t W_in^T + b_in + R_t ⊙ (...)) = 1 - 2σ(-2 ·)
            torch.sub(one, n.addcmul_(r, h_n, value=-2).sigmoid_(), alpha=2, out=n)
        else:
            n.addcmul_(r, h_n).tanh_()
        h = torch.lerp(n, h, z, out=h_out)             # H_t = N_t + Z_t ⊙ (H_{t-1} - N_t)
    gates = {"R": rzn[..., :H], "Z": rzn[..., H:2 * H], "N": rzn[..., 2 * H:]}
    return LayerForward("gru", "tanh", reverse, x, h0, None, hidden, None, gates, rzn, hidden_n, h.clone(), None)


def _lstm_forward(x, h0, c0, w, reverse, hidden, cell, work) -> LayerForward:
    T, B, _ = x.shape
    H = h0.shape[-1]
    # torch's CPU tanh costs about six sigmoids, so tanh(a) = 1 - 2σ(-2a) here: with the G rows of
    # the weights and biases scaled by -2 (exact in floating point) the matmuls give -2a directly
    # and ONE in-place sigmoid covers all four gates of a step.
    ifgo = _input_projection(x, _scaled_g_rows(w, H), None, work)   # (T, B, 4H), activated in place below
    recurrent = _Recurrent(_scale_rows(w.weight_hh, slice(2 * H, 3 * H)), B)
    scratch = torch.empty_like(h0)
    # 0-dim tensors, not Python numbers: a number is wrapped and converted on every call (3.7 against 2.2 us)
    one, minus_two = (torch.full((), value, dtype=x.dtype, device=x.device) for value in (1.0, -2.0))
    cell_via_sigmoid = _tanh_via_sigmoid(B, H)          # tanh C_t: 1 - 2σ(-2 C_t) above the threshold
    steps = list(zip(ifgo.unbind(0), ifgo[..., :H].unbind(0), ifgo[..., H:2 * H].unbind(0),
                     ifgo[..., 2 * H:3 * H].unbind(0), ifgo[..., 3 * H:].unbind(0), hidden.unbind(0), cell.unbind(0)))
    h, c = h0, c0
    for t in _order(T, reverse):
        step, i, f, s_g, o, h_out, c_out = steps[t]
        total = recurrent.add(h, step)
        if total is not step:
            torch.sigmoid(total, out=step)
        else:
            step.sigmoid_()                            # I_t, F_t, O_t and S_t = σ(-2 a_g), G_t = 1 - 2 S_t
        torch.addcmul(i, i, s_g, value=-2, out=c_out)  # I_t ⊙ G_t
        c = c_out.addcmul_(f, c)                       # C_t = F_t ⊙ C_{t-1} + I_t ⊙ G_t
        if cell_via_sigmoid:
            torch.mul(c, minus_two, out=scratch).sigmoid_()
            h = torch.addcmul(o, o, scratch, value=-2, out=h_out)  # H_t = O_t ⊙ tanh(C_t)
        else:
            h = torch.tanh(c, out=h_out).mul_(o)
    g = ifgo[..., 2 * H:3 * H]
    torch.sub(one, g, alpha=2, out=g)                  # G_t = 1 - 2 S_t, for all t at once
    gates = {"I": ifgo[..., :H], "F": ifgo[..., H:2 * H], "G": ifgo[..., 2 * H:3 * H], "O": ifgo[..., 3 * H:]}
    return LayerForward("lstm", "tanh", reverse, x, h0, c0, hidden, cell, gates, ifgo, None, h.clone(), c.clone())


def _scale_rows(weight: torch.Tensor | None, rows: slice | None) -> torch.Tensor | None:
    """A copy of a weight or bias with `rows` times -2 (the weight itself when rows is None)."""
    if weight is None or rows is None:
        return weight
    scaled = weight.detach().clone()
    scaled[rows].mul_(-2)
    return scaled


def _scaled_g_rows(w: LayerWeights, H: int) -> LayerWeights:
    """W_ih and b_ih + b_hh with the G rows times -2, for the input projection."""
    bias = w.bias_ih if w.bias_hh is None else (w.bias_hh if w.bias_ih is None else w.bias_ih + w.bias_hh)
    rows = slice(2 * H, 3 * H)
    return LayerWeights(w.names, _scale_rows(w.weight_ih, rows), w.weight_hh, _scale_rows(bias, rows), None)


@torch.no_grad()
def layer_backward(run: LayerForward, external_grad: torch.Tensor | None, w: LayerWeights,
                   in_place: bool = False, grad_c_n: torch.Tensor | None = None) -> LayerGrads:
    """BPTT through one layer and direction.

    external_grad: (T, B, H) gradient reaching each H_t from outside the chain (the loss, or the
    layer above), or None for zeros. With in_place=True it is overwritten by the total dL/dH_t
    (saves a (T, B, H) buffer). grad_c_n: (B, H) dL/dc_n from outside (an LSTM whose loss reads
    c_n, or a chained encoder), None for zeros.
    """
    T, B, H = run.hidden.shape
    if external_grad is None:
        hidden_grad = buffers.empty_like(run.hidden).zero_()
    elif in_place:
        hidden_grad = external_grad
    else:
        hidden_grad = buffers.empty_like(run.hidden).copy_(external_grad)
    if run.kind == "rnn":
        return _rnn_backward(run, hidden_grad, w)
    if run.kind == "gru":
        return _gru_backward(run, hidden_grad, w)
    return _lstm_backward(run, hidden_grad, w, grad_c_n)


def _rnn_backward(run: LayerForward, hidden_grad, w) -> LayerGrads:
    if run.nonlinearity == "tanh":   # dH_t/dA_t = 1 - H_t², times dL/dH_t below; one pass
        grad_pre = torch.addcmul(torch.ones((), dtype=run.hidden.dtype, device=run.hidden.device), run.hidden,
                                 run.hidden, value=-1, out=buffers.empty_like(run.hidden))
    else:
        grad_pre = torch.gt(run.work, 0, out=buffers.empty_like(run.hidden))
    recurrent = _Recurrent(w.weight_hh.t(), run.hidden.shape[1])
    steps = list(zip(hidden_grad.unbind(0), grad_pre.unbind(0)))
    later = None
    for t in reversed(_order(run.hidden.shape[0], run.reverse)):
        grad_h, slot = steps[t]
        if later is not None:
            total = recurrent.add(later, grad_h)       # + dL/dA_{t+1} · W_hh
            if total is not grad_h:
                grad_h.copy_(total)
        later = slot.mul_(grad_h)
    return LayerGrads(hidden_grad, grad_pre, grad_pre)


def _gru_backward(run: LayerForward, hidden_grad, w) -> LayerGrads:
    T, B, H = run.hidden.shape
    r, z, n = (run.work[..., k * H:(k + 1) * H] for k in range(3))
    # Per position: dL/dH_t · factor gives dL/d(gh); the factors for all t at once.
    #   d n_pre = dH (1-Z)(1-N²);  d gh_n = d n_pre ⊙ R;  d r_pre = d n_pre ⊙ gh_n ⊙ R(1-R);
    #   d z_pre = dH (H_{t-1} - N) Z(1-Z)
    like = {"dtype": run.hidden.dtype, "device": run.hidden.device}
    factors = buffers.empty(T, B, 3, H, **like)
    f_r, f_z, f_n = factors.unbind(2)
    # in place, no (T, B, H) temporaries: a pass over memory costs more than the arithmetic
    through_n = torch.addcmul(torch.ones((), **like), n, n, value=-1, out=buffers.empty_like(run.hidden))
    through_n.addcmul_(z, through_n, value=-1)                       # (1 - Z)(1 - N²)
    torch.mul(through_n, r, out=f_n)
    torch.mul(f_n, run.hidden_n, out=f_r).addcmul_(f_r, r, value=-1)  # ... ⊙ (1 - R)
    first, rest = _shifted(run.hidden, run.h0, run.reverse)
    head, tail = (slice(T - 1, T), slice(0, T - 1)) if run.reverse else (slice(0, 1), slice(1, T))
    torch.sub(rest, n[tail], out=f_z[tail])
    torch.sub(first.unsqueeze(0), n[head], out=f_z[head])
    f_z.mul_(z).addcmul_(f_z, z, value=-1)                           # ... ⊙ Z(1 - Z)
    grad_gh = buffers.empty(T, B, 3 * H, **like)
    w_hh = w.weight_hh
    steps = list(zip(hidden_grad.unbind(0), factors.unbind(0), grad_gh.unbind(0), z.unbind(0)))
    later = None
    for t in reversed(_order(T, run.reverse)):
        grad_h, factor, slot, _ = steps[t]
        if later is not None:
            later_grad_h, later_slot, later_z = later
            grad_h.addmm_(later_slot, w_hh).addcmul_(later_z, later_grad_h)  # + dL/dgh_{t+1} W_hh + Z_{t+1} dL/dH_{t+1}
        torch.cat([grad_h, grad_h, grad_h], dim=1, out=slot).mul_(factor.view(B, 3 * H))
        later = (grad_h, slot, steps[t][3])
    grad_gi = buffers.empty(T, B, 3 * H, **like)
    grad_gi[..., :2 * H].copy_(grad_gh[..., :2 * H])
    torch.mul(hidden_grad, through_n, out=grad_gi[..., 2 * H:])
    return LayerGrads(hidden_grad, grad_gi, grad_gh)


def _lstm_backward(run: LayerForward, hidden_grad, w, grad_c_n=None) -> LayerGrads:
    T, B, H = run.hidden.shape
    i, f, g, o = (run.work[..., k * H:(k + 1) * H] for k in range(4))
    # Few passes over (T, B, H) arrays, the products written as addcmul: with S = σ(-2C) (tanh C = 1 - 2S, see
    # _lstm_forward), dC_t/dH_t = O(1 - tanh²C) = 4 O S(1 - S); the gate factors are the derivatives of
    # the activations times what each gate multiplies: I' = G I(1-I), F' = C_{t-1} F(1-F), G' = I(1-G²),
    # O' = tanh C · O(1-O).
    like = {"dtype": run.hidden.dtype, "device": run.hidden.device}
    s = torch.mul(run.cell, -2, out=buffers.empty_like(run.hidden)).sigmoid_()
    # S(1 - S) O; its factor 4 is taken in the loop's addcmul, for free
    to_cell = torch.addcmul(s, s, s, value=-1, out=buffers.empty_like(run.hidden)).mul_(o)
    # The factors buffer becomes dL/d(gate pre-activations) in the loop: one (T, B, 4H) array, not two.
    grad_gates = buffers.empty(T, B, 4 * H, **like)
    f_i, f_f, f_g, f_o = (grad_gates[..., k * H:(k + 1) * H] for k in range(4))
    torch.mul(i, g, out=f_i)
    torch.addcmul(i, f_i, g, value=-1, out=f_g)               # I - I G²
    f_i.addcmul_(f_i, i, value=-1)                            # I G - I G I
    torch.addcmul(f, f, f, value=-1, out=f_f)
    first, rest = _shifted(run.cell, run.c0, run.reverse)
    head, tail = (slice(T - 1, T), slice(0, T - 1)) if run.reverse else (slice(0, 1), slice(1, T))
    f_f[tail].mul_(rest)
    f_f[head].mul_(first.unsqueeze(0))
    torch.addcmul(o, o, o, value=-1, out=f_o)
    f_o.addcmul_(f_o, s, value=-2)                            # O(1-O)(1 - 2S)
    del s
    grad_c = torch.empty_like(run.hidden[0])
    spread = torch.empty(B, 4 * H, dtype=run.hidden.dtype, device=run.hidden.device)
    recurrent = _Recurrent(w.weight_hh.t(), B)
    steps = list(zip(hidden_grad.unbind(0), to_cell.unbind(0), grad_gates.unbind(0), f.unbind(0)))
    later = None
    for t in reversed(_order(T, run.reverse)):
        grad_h, to_cell_t, slot, _ = steps[t]
        if later is None and grad_c_n is None:
            torch.mul(grad_h, to_cell_t, out=grad_c).mul_(4)
        elif later is None:
            torch.addcmul(grad_c_n, grad_h, to_cell_t, value=4, out=grad_c)
        else:
            later_slot, later_f = later
            total = recurrent.add(later_slot, grad_h)  # + dL/dgates_{t+1} · W_hh
            if total is not grad_h:
                grad_h.copy_(total)
            grad_c.mul_(later_f).addcmul_(grad_h, to_cell_t, value=4)  # dC_t = dC_{t+1} F_{t+1} + dH_t ⊙ dC_t/dH_t
        # dC feeds I, F, G and dH feeds O: a cat and one mul beat broadcasting into a strided view (4 vs 14 us)
        torch.cat([grad_c, grad_c, grad_c, grad_h], dim=1, out=spread)
        later = (slot.mul_(spread), steps[t][3])
    return LayerGrads(hidden_grad, grad_gates, grad_gates, grad_c0=grad_c * later[1])   # dC_0 = dC_first F_first


@torch.no_grad()
def weight_grads(run: LayerForward, grads: LayerGrads, w: LayerWeights) -> dict:
    """dL/dW_ih, dL/dW_hh, dL/db_*, each one product over all T·B rows, keyed like the module."""
    T, B, H = run.hidden.shape
    G = grads.grad_gi.shape[-1]
    x = run.x.reshape(T * B, -1)
    result = {w.names["weight_ih"]: grads.grad_gi.reshape(T * B, G).t() @ x}
    first, rest = _shifted(run.hidden, run.h0, run.reverse)
    head, tail = (T - 1, slice(0, T - 1)) if run.reverse else (0, slice(1, T))
    gh = grads.grad_gh
    weight_hh = gh[tail].reshape(-1, G).t() @ rest.reshape(-1, H)
    weight_hh.addmm_(gh[head].t(), first)
    result[w.names["weight_hh"]] = weight_hh
    if w.bias_ih is not None:
        result[w.names["bias_ih"]] = grads.grad_gi.reshape(T * B, G).sum(0)
        result[w.names["bias_hh"]] = gh.reshape(T * B, G).sum(0) if gh is not grads.grad_gi else \
            result[w.names["bias_ih"]].clone()
    return result


@torch.no_grad()
def input_grad(grads: LayerGrads, w: LayerWeights) -> torch.Tensor:
    """dL/dX_t for every position (T, B, I): one product."""
    return grads.grad_gi @ w.weight_ih
