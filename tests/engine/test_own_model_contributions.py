"""Own-model parts carry the per-timestep ||dL/dW_hh term t|| and ||dL/dW_ih term t|| that
record() shows for a single module, computed the same way and checked independently."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn


import rnnviz

F64 = torch.float64


def _close(a, b, tol=1e-9):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


class Wrapped(nn.Module):
    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x, state):
        return self.rnn(x, state)[0]


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, True)])
def test_part_term_norms_equal_classic_record(kind, layers, bidirectional):
    torch.manual_seed(5)
    module = getattr(nn, kind)(3, 4, num_layers=layers, bidirectional=bidirectional, dtype=F64)
    D = 2 if bidirectional else 1
    x = torch.randn(6, 2, 3, dtype=F64)
    h0 = torch.randn(layers * D, 2, 4, dtype=F64)
    state = (h0, torch.randn(layers * D, 2, 4, dtype=F64)) if kind == "LSTM" else h0
    classic = rnnviz.record(module, x, state)            # loss "sum" on the output: the classic path
    model = Wrapped(module)
    with rnnviz.watch(model) as w:
        model(x, state).sum().backward()
    part = w.traces["rnn"]
    assert part.whh_grad_contrib_norm.shape == (layers, D, 6)
    _close(part.hidden_grad, classic.hidden_grad)
    _close(part.whh_grad_contrib_norm, classic.whh_grad_contrib_norm)
    _close(part.wih_grad_contrib_norm, classic.wih_grad_contrib_norm)


def test_rnn_term_norms_by_autograd_retain_grad():
    """tanh RNN, one layer: term t of dL/dW_hh is dL/dA_tᵀ H_{t-1}, of dL/dW_ih dL/dA_tᵀ X_t."""
    torch.manual_seed(6)
    rnn = nn.RNN(3, 4, dtype=F64)
    x, h0 = torch.randn(5, 2, 3, dtype=F64), torch.randn(1, 2, 4, dtype=F64)
    model = Wrapped(rnn)
    with rnnviz.watch(model) as w:
        model(x, h0).pow(2).sum().backward()
    part = w.traces["rnn"]
    h, pres = h0[0], []
    states = [h]
    for t in range(5):
        pre = x[t] @ rnn.weight_ih_l0.T + rnn.bias_ih_l0 + h @ rnn.weight_hh_l0.T + rnn.bias_hh_l0
        pre.retain_grad()
        pres.append(pre)
        h = torch.tanh(pre)
        states.append(h)
    torch.stack(states[1:]).pow(2).sum().backward()
    whh = [torch.linalg.norm(pres[t].grad.T @ states[t].detach()).item() for t in range(5)]
    wih = [torch.linalg.norm(pres[t].grad.T @ x[t]).item() for t in range(5)]
    _close(part.whh_grad_contrib_norm[0, 0], whh)
    _close(part.wih_grad_contrib_norm[0, 0], wih)


def test_term_norms_through_record_with_loss_fn_and_dropout():
    torch.manual_seed(7)
    lstm = nn.LSTM(3, 4, num_layers=2, dropout=0.5, dtype=F64).train()
    x = torch.randn(5, 2, 3, dtype=F64)
    recorded = rnnviz.record(lstm, x, loss_fn=lambda out: out[0].pow(2).sum())
    assert np.isfinite(recorded.whh_grad_contrib_norm).all()
    assert recorded.whh_grad_contrib_norm.shape == (2, 1, 5)


@pytest.mark.filterwarnings("ignore::rnnviz.errors.NonFiniteWarning")  # padding: see report
def test_packed_part_has_no_term_norms():
    """Packed input takes the graph path, which keeps no gate gradients: the fields stay None."""
    from torch.nn.utils.rnn import pack_padded_sequence
    gru = nn.GRU(3, 4, dtype=F64)
    packed = pack_padded_sequence(torch.randn(4, 2, 3, dtype=F64), torch.tensor([4, 2]))
    trace = rnnviz.record(gru, packed, loss_fn=lambda out: out[0].data.sum())
    assert trace.whh_grad_contrib_norm is None and trace.wih_grad_contrib_norm is None


@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_loss_reading_c_n_and_c0_grad_equal_torch(bidirectional):
    """The LSTM backward through the cell (dL/dc_n in, dL/dc0 out) against torch's module."""
    torch.manual_seed(8)
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=bidirectional, dtype=F64)
    D = 2 if bidirectional else 1
    x = torch.randn(5, 2, 3, dtype=F64, requires_grad=True)
    h0 = torch.randn(2 * D, 2, 4, dtype=F64, requires_grad=True)
    c0 = torch.randn(2 * D, 2, 4, dtype=F64, requires_grad=True)
    weights = torch.randn(2 * D, 2, 4, dtype=F64)

    def loss_of(module):
        out, (h_n, c_n) = module(x, (h0, c0))
        return out.pow(2).sum() + (h_n * weights).sum() + (c_n.pow(3) * weights).sum()

    reference = torch.autograd.grad(loss_of(lstm), [x, h0, c0, *lstm.parameters()])
    model = nn.ModuleDict({"lstm": lstm})
    with rnnviz.watch(model) as w:
        ours = torch.autograd.grad(loss_of(lstm), [x, h0, c0, *lstm.parameters()])
    for a, b in zip(ours, reference):
        _close(a, b)
    part = w.traces["lstm"]
    assert part.whh_grad_contrib_norm.shape == (2, D, 5)
    assert np.isfinite(part.whh_grad_contrib_norm).all() and np.isfinite(part.wih_grad_contrib_norm).all()


def test_lstm_through_cell_path_term_norms_equal_classic_record():
    """c0 needing a gradient: bptt's LSTM backward with dL/dc_n; its norms match record()'s."""
    torch.manual_seed(9)
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True, dtype=F64)
    x = torch.randn(6, 2, 3, dtype=F64)
    h0, c0 = torch.randn(4, 2, 4, dtype=F64), torch.randn(4, 2, 4, dtype=F64)
    classic = rnnviz.record(lstm, x, (h0, c0))
    model = Wrapped(lstm)
    c0_leaf = c0.clone().requires_grad_(True)
    with rnnviz.watch(model) as w:
        model(x, (h0, c0_leaf)).sum().backward()
    part = w.traces["rnn"]
    _close(part.hidden_grad, classic.hidden_grad)
    _close(part.whh_grad_contrib_norm, classic.whh_grad_contrib_norm)
    _close(part.wih_grad_contrib_norm, classic.wih_grad_contrib_norm)
    for name, grad in classic.param_grads.items():
        _close(part.param_grads[name], grad)
