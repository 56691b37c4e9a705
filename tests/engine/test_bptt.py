"""engine/bptt.py on its own, as whole-model recording calls it: one layer and direction, any
incoming gradient, against torch's fused module in float64."""
import pytest
import torch
from torch import nn

from rnnviz.engine import bptt
from rnnviz.engine.cells import layer_weights

CONFIGS = [("rnn", "tanh"), ("rnn", "relu"), ("gru", "tanh"), ("lstm", "tanh")]


@pytest.fixture(params=["tanh", "sigmoid"])
def tanh_path(request, monkeypatch):
    """Both ways bptt takes tanh: directly (small steps) and as 1 - 2σ(-2a) (large steps), forced
    here at the small sizes of these tests."""
    monkeypatch.setattr(bptt, "_TANH_VIA_SIGMOID_MIN", 10**9 if request.param == "tanh" else 0)
    return request.param


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("reverse", [0, 1])
@pytest.mark.parametrize("kind, nonlinearity", CONFIGS)
def test_one_layer_matches_torch(kind, nonlinearity, reverse, bias, tanh_path):
    torch.manual_seed(0)
    T, B, I, H = 6, 3, 4, 5
    extra = {"nonlinearity": nonlinearity} if kind == "rnn" else {}
    module = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[kind](I, H, bidirectional=True, bias=bias, **extra).double()
    x = torch.randn(T, B, I, dtype=torch.float64, requires_grad=True)
    h0, c0 = torch.randn(2, B, H, dtype=torch.float64), torch.randn(2, B, H, dtype=torch.float64)
    out, _ = module(x, (h0, c0) if kind == "lstm" else h0)
    upstream = torch.randn_like(out)
    out.backward(upstream)
    # the other direction's share of dL/dX, to compare this direction's alone
    other = layer_weights(module, 0, 1 - reverse, False)
    w = layer_weights(module, 0, reverse, False)
    run = bptt.layer_forward(kind, x.detach(), h0[reverse], c0[reverse] if kind == "lstm" else None, w,
                             nonlinearity, bool(reverse))
    torch.testing.assert_close(run.hidden, out.detach()[..., reverse * H:(reverse + 1) * H], rtol=1e-9, atol=1e-9)
    grads = bptt.layer_backward(run, upstream[..., reverse * H:(reverse + 1) * H], w)
    params = dict(module.named_parameters())
    for name, value in bptt.weight_grads(run, grads, w).items():
        torch.testing.assert_close(value, params[name].grad, rtol=1e-9, atol=1e-9, msg=name)
    other_run = bptt.layer_forward(kind, x.detach(), h0[1 - reverse], c0[1 - reverse] if kind == "lstm" else None,
                                   other, nonlinearity, not reverse)
    other_grads = bptt.layer_backward(other_run, upstream[..., (1 - reverse) * H:(2 - reverse) * H], other)
    total = bptt.input_grad(grads, w) + bptt.input_grad(other_grads, other)
    torch.testing.assert_close(total, x.grad, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("kind", ["rnn", "gru"])
@pytest.mark.parametrize("scale", [1e-6, 60.0])
def test_rnn_and_gru_tanh_through_the_sigmoid_holds_when_tiny_or_saturated(kind, scale, tanh_path):
    """RNN and GRU take tanh as 1 - 2σ(-2a) above a step size: near 0 (cancellation) and far out
    (σ underflows) it still equals torch's tanh, and so do the gradients."""
    torch.manual_seed(1)
    T, B, I, H = 7, 3, 4, 5
    module = {"rnn": nn.RNN, "gru": nn.GRU}[kind](I, H).double()
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(scale)
    x = torch.randn(T, B, I, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(1, B, H, dtype=torch.float64) * scale
    out, _ = module(x, h0)
    upstream = torch.randn_like(out)
    out.backward(upstream)
    w = layer_weights(module, 0, 0, False)
    run = bptt.layer_forward(kind, x.detach(), h0[0], None, w)
    torch.testing.assert_close(run.hidden, out.detach(), rtol=1e-9, atol=1e-12)
    grads = bptt.layer_backward(run, upstream, w)
    params = dict(module.named_parameters())
    for name, value in bptt.weight_grads(run, grads, w).items():
        torch.testing.assert_close(value, params[name].grad, rtol=1e-9, atol=1e-9 * scale, msg=name)
    torch.testing.assert_close(bptt.input_grad(grads, w), x.grad, rtol=1e-9, atol=1e-9 * scale)


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_record_at_a_step_size_that_takes_tanh_through_the_sigmoid(kind):
    """Unpatched, at B * H above the threshold: record() against torch's module, float64."""
    import rnnviz

    torch.manual_seed(2)
    T, B, I, H = 4, 16, 8, 64
    assert bptt._tanh_via_sigmoid(B, H)
    module = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[kind](I, H, num_layers=2, bidirectional=True).double()
    x = torch.randn(T, B, I, dtype=torch.float64)
    trace = rnnviz.record(module, x)
    out, _ = module(x)
    out.sum().backward()
    torch.testing.assert_close(torch.from_numpy(trace.output), out.detach(), rtol=1e-9, atol=1e-9)
    for name, p in module.named_parameters():
        torch.testing.assert_close(torch.from_numpy(trace.param_grads[name]), p.grad, rtol=1e-9, atol=1e-9, msg=name)
    if kind == "rnn":   # the kept pre-activation is A_t itself, not the -2 A_t the loop ran on
        hidden = torch.from_numpy(trace.hidden[0, 0])
        previous = torch.cat([torch.zeros(1, B, H, dtype=torch.float64), hidden[:-1]])
        a = (x @ module.weight_ih_l0.T + previous @ module.weight_hh_l0.T + module.bias_ih_l0 + module.bias_hh_l0).detach()
        torch.testing.assert_close(torch.from_numpy(trace.gates["A"][0, 0]), a, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("scale", [1e-6, 60.0])
def test_lstm_tanh_through_the_sigmoid_holds_when_tiny_or_saturated(scale, tanh_path):
    """The LSTM path computes tanh(a) as 1 - 2σ(-2a): check it where that could go wrong, with
    pre-activations near 0 (cancellation) and far out (σ underflows, tanh is exactly ±1)."""
    torch.manual_seed(1)
    T, B, I, H = 7, 3, 4, 5
    module = nn.LSTM(I, H).double()
    with torch.no_grad():
        for p in module.parameters():
            p.mul_(scale)
    x = torch.randn(T, B, I, dtype=torch.float64, requires_grad=True)
    h0, c0 = torch.randn(1, B, H, dtype=torch.float64) * scale, torch.randn(1, B, H, dtype=torch.float64)
    out, (h_n, c_n) = module(x, (h0, c0))
    upstream = torch.randn_like(out)
    out.backward(upstream)
    w = layer_weights(module, 0, 0, False)
    run = bptt.layer_forward("lstm", x.detach(), h0[0], c0[0], w)
    torch.testing.assert_close(run.hidden, out.detach(), rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(run.c_n, c_n.detach()[0], rtol=1e-9, atol=1e-12)
    previous = torch.cat([h0, run.hidden[:-1]])
    pre_g = (x.detach() @ w.weight_ih[2 * H:3 * H].T + previous @ w.weight_hh[2 * H:3 * H].T
             + w.bias_ih[2 * H:3 * H] + w.bias_hh[2 * H:3 * H])
    torch.testing.assert_close(run.gates["G"], torch.tanh(pre_g).detach(), rtol=1e-9, atol=1e-12)
    grads = bptt.layer_backward(run, upstream, w)
    params = dict(module.named_parameters())
    for name, value in bptt.weight_grads(run, grads, w).items():
        torch.testing.assert_close(value, params[name].grad, rtol=1e-9, atol=1e-9 * scale, msg=name)
    torch.testing.assert_close(bptt.input_grad(grads, w), x.grad, rtol=1e-9, atol=1e-9 * scale)
