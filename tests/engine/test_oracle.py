"""The engine against PyTorch itself, over the whole configuration grid.

Outputs, final states and parameter gradients are compared with the fused torch module;
hidden states and dL/dh_t with an independent loop over torch's own cell functions
(torch.rnn_tanh_cell, torch.gru_cell, torch.lstm_cell) with retain_grad on every h_t.
"""
import itertools

import numpy as np
import pytest
import torch
from torch import nn

import rnnviz
from rnnviz.engine.runner import Runner

TOL = {torch.float64: 1e-9, torch.float32: 1e-5}
T, B, I, H = 5, 3, 4, 3

MODULE_GRID = [
    (kind, layers, bidir, batch_first, bias, nonlin, dtype)
    for kind, layers, bidir, batch_first, bias, nonlin, dtype in itertools.product(
        ("rnn", "gru", "lstm"), (1, 2, 3), (False, True), (False, True), (True, False), ("tanh", "relu"),
        (torch.float64, torch.float32))
    if kind == "rnn" or nonlin == "tanh"
]
CELL_GRID = [
    (kind, bias, nonlin, dtype)
    for kind, bias, nonlin, dtype in itertools.product(
        ("rnn", "gru", "lstm"), (True, False), ("tanh", "relu"), (torch.float64, torch.float32))
    if kind == "rnn" or nonlin == "tanh"
]


def grid_id(params):
    return "-".join(str(p).replace("torch.", "") for p in params)


def make_module(kind, layers, bidir, batch_first, bias, nonlin, dtype, seed=0):
    torch.manual_seed(seed)
    cls = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[kind]
    extra = {"nonlinearity": nonlin} if kind == "rnn" else {}
    module = cls(I, H, num_layers=layers, bidirectional=bidir, batch_first=batch_first, bias=bias, **extra)
    module = module.to(dtype)
    D = 2 if bidir else 1
    x = torch.randn((B, T, I) if batch_first else (T, B, I), dtype=dtype)
    h0 = 0.5 * torch.randn(layers * D, B, H, dtype=dtype)
    hidden = (h0, 0.5 * torch.randn(layers * D, B, H, dtype=dtype)) if kind == "lstm" else h0
    return module, x, hidden


def torch_cell(kind, nonlin):
    if kind == "rnn":
        return torch.rnn_tanh_cell if nonlin == "tanh" else torch.rnn_relu_cell
    return {"gru": torch.gru_cell, "lstm": torch.lstm_cell}[kind]


def reference_loop(module, kind, nonlin, x_tm, hidden, layers, D, loss_of):
    """An independent unrolled run with torch's own cell functions: (hidden, dL/dh) as (L, D, T, B, H)."""
    params = dict(module.named_parameters())
    h0, c0 = hidden if kind == "lstm" else (hidden, None)
    cell_fn = torch_cell(kind, nonlin)
    states = {}
    layer_in = x_tm
    for layer in range(layers):
        outs = []
        for d in range(D):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            w = [params[f"weight_ih{sfx}"], params[f"weight_hh{sfx}"],
                 params.get(f"bias_ih{sfx}"), params.get(f"bias_hh{sfx}")]
            h = h0[layer * D + d]
            c = c0[layer * D + d] if c0 is not None else None
            seq = [None] * T
            for t in (range(T - 1, -1, -1) if d else range(T)):
                if kind == "lstm":
                    h, c = cell_fn(layer_in[t], (h, c), *w)
                else:
                    h = cell_fn(layer_in[t], h, *w)
                h.retain_grad()
                seq[t] = h
            states[layer, d] = seq
            outs.append(torch.stack(seq))
        layer_in = torch.cat(outs, -1)
    loss_of(layer_in).backward()
    hid = np.stack([[np.stack([states[l, d][t].detach().numpy() for t in range(T)]) for d in range(D)]
                    for l in range(layers)])
    grad = np.stack([[np.stack([states[l, d][t].grad.numpy() for t in range(T)]) for d in range(D)]
                     for l in range(layers)])
    return hid, grad


def close(actual, expected, tol, what):
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol, err_msg=what)


@pytest.mark.parametrize("config", MODULE_GRID, ids=grid_id)
def test_modules_match_torch(config):
    kind, layers, bidir, batch_first, bias, nonlin, dtype = config
    tol, D = TOL[dtype], (2 if bidir else 1)
    module, x, hidden = make_module(*config)
    trace = rnnviz.record(module, x, hidden)
    assert all(p.grad is None for p in module.parameters()), "record() must leave .grad alone"

    out, final = module(x, hidden)
    out.sum().backward()
    close(trace.output, out.detach().numpy(), tol, "output")
    h_n, c_n = final if kind == "lstm" else (final, None)
    close(trace.h_n, h_n.detach().numpy(), tol, "h_n")
    if kind == "lstm":
        close(trace.c_n, c_n.detach().numpy(), tol, "c_n")
    assert list(trace.param_grads) == [n for n, _ in module.named_parameters()]
    fused_grads = {name: param.grad.numpy().copy() for name, param in module.named_parameters()}
    for name, grad in fused_grads.items():
        close(trace.param_grads[name], grad, tol, f"grad of {name}")

    x_tm = x.transpose(0, 1) if batch_first else x
    ref_hidden, ref_grad = reference_loop(module, kind, nonlin, x_tm, hidden, layers, D, lambda o: o.sum())
    assert trace.hidden.shape == (layers, D, T, B, H)
    close(trace.hidden, ref_hidden, tol, "hidden")
    close(trace.hidden_grad, ref_grad, tol, "dL/dh_t")

    runner = Runner(module, x, hidden)
    runner.run_to_end()
    stepped = runner.snapshot()
    close(stepped.hidden, ref_hidden, tol, "stepped hidden")
    close(stepped.hidden_grad, ref_grad, tol, "stepped dL/dh_t")
    close(stepped.output, out.detach().numpy(), tol, "stepped output")
    close(stepped.h_n, h_n.detach().numpy(), tol, "stepped h_n")
    for name, grad in fused_grads.items():
        close(stepped.param_grads[name], grad, tol, f"stepped grad of {name}")
    close(stepped.whh_grad_contrib_norm, trace.whh_grad_contrib_norm, tol * 10, "W_hh contributions")
    for gate in trace.gates:
        close(stepped.gates[gate], trace.gates[gate], tol, f"gate {gate}")


@pytest.mark.parametrize("config", CELL_GRID, ids=grid_id)
def test_cells_match_torch(config):
    kind, bias, nonlin, dtype = config
    tol = TOL[dtype]
    torch.manual_seed(1)
    cls = {"rnn": nn.RNNCell, "gru": nn.GRUCell, "lstm": nn.LSTMCell}[kind]
    cell = cls(I, H, bias=bias, **({"nonlinearity": nonlin} if kind == "rnn" else {})).to(dtype)
    x = torch.randn(T, B, I, dtype=dtype)
    h0 = torch.randn(B, H, dtype=dtype)
    hidden = (h0, torch.randn(B, H, dtype=dtype)) if kind == "lstm" else h0
    trace = rnnviz.record(cell, x, hidden)

    state, hs = hidden, []
    for t in range(T):
        state = cell(x[t], state)
        h = state[0] if kind == "lstm" else state
        h.retain_grad()
        hs.append(h)
    torch.stack(hs).sum().backward()
    close(trace.output, torch.stack(hs).detach().numpy(), tol, "output")
    close(trace.hidden[0, 0], torch.stack(hs).detach().numpy(), tol, "hidden")
    close(trace.hidden_grad[0, 0], torch.stack([h.grad for h in hs]).numpy(), tol, "dL/dh_t")
    close(trace.h_n, hs[-1].detach().numpy(), tol, "h_n")
    if kind == "lstm":
        close(trace.c_n, state[1].detach().numpy(), tol, "c_n")
    for name, param in cell.named_parameters():
        close(trace.param_grads[name], param.grad.numpy(), tol, f"grad of {name}")
    runner = Runner(cell, x, hidden)
    runner.run_to_end()
    close(runner.snapshot().hidden_grad, trace.hidden_grad, tol, "stepped dL/dh_t")


@pytest.mark.parametrize("loss", ["last", "mse"])
@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_other_losses_and_head_match_torch(kind, loss):
    module, x, hidden = make_module(kind, 2, True, False, True, "tanh", torch.float64, seed=3)
    head = nn.Linear(2 * H, 2).double()
    target = torch.randn(T, B, 2, dtype=torch.float64)
    trace = rnnviz.record(module, x, hidden, loss=loss, head=head, target=target)
    out, _ = module(x, hidden)
    y = head(out)
    value = y[-1].sum() if loss == "last" else nn.functional.mse_loss(y, target)
    value.backward()
    assert trace.loss == pytest.approx(float(value.detach()), rel=1e-12)
    for name, param in module.named_parameters():
        close(trace.param_grads[name], param.grad.numpy(), 1e-9, name)
    close(trace.param_grads["head.weight"], head.weight.grad.numpy(), 1e-9, "head.weight")
    runner = Runner(module, x, hidden, head=head, loss=loss, target=target)
    runner.run_to_end()
    close(runner.snapshot().hidden_grad, trace.hidden_grad, 1e-9, "stepped dL/dh_t")
    close(runner.param_grads()["head.bias"], head.bias.grad.numpy(), 1e-9, "head.bias")
    if loss == "last":  # the top layer's forward direction gets gradient at T-1 only directly
        assert np.abs(trace.hidden_grad[1, 0, :-1]).sum() > 0  # ... and the rest through time


def test_contributions_sum_to_the_weight_gradient():
    """Each timestep's term of dL/dW_hh: their sum is the gradient (checked through the norms' bound)."""
    module, x, hidden = make_module("rnn", 1, False, False, True, "tanh", torch.float64)
    trace = rnnviz.record(module, x, hidden)
    total = np.linalg.norm(trace.param_grads["weight_hh_l0"])
    terms = trace.whh_grad_contrib_norm[0, 0]
    assert terms.shape == (T,) and np.all(terms >= 0)
    assert total <= terms.sum() + 1e-12  # triangle inequality: the terms really add up to it
    # and one term recomputed by hand
    h = torch.from_numpy(trace.hidden[0, 0])
    g = torch.from_numpy(trace.hidden_grad[0, 0]) * (1 - h ** 2)
    prev = torch.cat([hidden[0:1], h[:-1]])
    expected = torch.linalg.matrix_norm(g[2].T @ prev[2])
    assert terms[2] == pytest.approx(float(expected), rel=1e-10)
