"""Own-model parts keep the state each call started from; repeated calls of one module chain;
record(module, x, h0=...) is the positional form."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import rnnviz
from rnnviz.engine.trace import load_trace



@pytest.fixture(autouse=True)
def float64_default():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def _close(a, b, tol=1e-9):
    a, b = np.asarray(a), np.asarray(b.detach() if isinstance(b, torch.Tensor) else b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


class Wrapped(nn.Module):
    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x, state=None):
        out, _ = self.rnn(x, state)
        return out


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_module_part_keeps_given_initial_state(kind, tmp_path):
    torch.manual_seed(0)
    model = Wrapped(getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True, dtype=torch.float64))
    x = torch.randn(5, 2, 3)
    h0 = torch.randn(4, 2, 4)
    state = (h0, torch.randn(4, 2, 4)) if kind == "LSTM" else h0
    with rnnviz.watch(model) as w:
        model(x, state).pow(2).sum().backward()
    trace = w.traces["rnn"]
    _close(trace.h0, h0)
    if kind == "LSTM":
        _close(trace.c0, state[1])
    else:
        assert trace.c0 is None
    trace.save(tmp_path / "part.npz")
    again = load_trace(tmp_path / "part.npz")
    _close(again.h0, h0)
    if kind == "LSTM":
        _close(again.c0, state[1])


def test_module_part_without_state_stores_zeros_and_unbatched_keeps_batch_axis():
    model = Wrapped(nn.LSTM(3, 4, dtype=torch.float64))
    with rnnviz.watch(model) as w:
        model(torch.randn(5, 3)).sum().backward()
    trace = w.traces["rnn"]
    assert trace.h0.shape == (1, 1, 4) == trace.c0.shape
    assert not trace.h0.any() and not trace.c0.any()


def test_packed_part_keeps_initial_state_in_callers_batch_order():
    from torch.nn.utils.rnn import pack_padded_sequence
    torch.manual_seed(1)
    gru = nn.GRU(3, 4, dtype=torch.float64)
    x, h0 = torch.randn(5, 3, 3), torch.randn(1, 3, 4)
    packed = pack_padded_sequence(x, torch.tensor([2, 5, 3]), enforce_sorted=False)

    class Packed(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = gru

        def forward(self, p, h):
            return self.gru(p, h)[1]

    model = Packed()
    with rnnviz.watch(model) as w:
        model(packed, h0).sum().backward()
    _close(w.traces["gru"].h0, h0)


class CellLoop(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.cell = cell

    def forward(self, x, state):
        total = 0
        for t in range(x.shape[0]):
            state = self.cell(x[t], state)
            total = total + (state[0] if isinstance(state, tuple) else state).sum()
        return total


@pytest.mark.parametrize("kind", ["RNNCell", "GRUCell", "LSTMCell"])
def test_cell_part_keeps_first_calls_state(kind, tmp_path):
    torch.manual_seed(2)
    model = CellLoop(getattr(nn, kind)(3, 4, dtype=torch.float64))
    h0 = torch.randn(2, 4)
    state = (h0, torch.randn(2, 4)) if kind == "LSTMCell" else h0
    with rnnviz.watch(model) as w:
        model(torch.randn(6, 2, 3), state).backward()
    trace = w.traces["cell"]
    _close(trace.h0, h0[None])
    if kind == "LSTMCell":
        _close(trace.c0, state[1][None])
    trace.save(tmp_path / "cell.npz")
    _close(load_trace(tmp_path / "cell.npz").h0, h0[None])


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM", "LSTMCell"])
def test_record_takes_h0_as_keyword(kind):
    torch.manual_seed(3)
    module = getattr(nn, kind)(3, 4, dtype=torch.float64)
    cell = kind.endswith("Cell")
    x = torch.randn(5, 2, 3)
    h0 = torch.randn(2, 4) if cell else torch.randn(1, 2, 4)
    state = (h0, torch.randn(*h0.shape)) if "LSTM" in kind else h0
    by_keyword = rnnviz.record(module, x, h0=state)
    by_position = rnnviz.record(module, x, state)
    _close(by_keyword.hidden, by_position.hidden)
    _close(by_keyword.hidden_grad, by_position.hidden_grad)
    if not cell:
        out, _ = module(x, state)
        _close(by_keyword.output, out)
    from rnnviz.engine.record import record_parts   # what rnnviz.show(module, x, h0=...) records
    (shown,) = record_parts(module, x, h0=state).values()
    _close(shown.hidden_grad, by_position.hidden_grad)
    with pytest.raises(TypeError, match="at most inputs and h0"):
        rnnviz.record(module, x, state, h0=state)


class TokenEncoder(nn.Module):
    """A GRU called once per token with (1, B, I) inputs, carrying its state by hand."""

    def __init__(self, keep=None, kind="GRU"):
        super().__init__()
        self.gru = getattr(nn, kind)(3, 4, dtype=torch.float64)
        self.head = nn.Linear(4, 2, dtype=torch.float64)
        self.keep = keep

    def forward(self, x):
        h, total = None, 0
        for t in range(x.shape[0]):
            out, h = self.gru(x[t:t + 1], h)
            if self.keep is not None:
                out.retain_grad()
                last = h[0] if isinstance(h, tuple) else h
                last.retain_grad()
                self.keep.append((out, last))
            total = total + self.head(out).pow(2).sum()
        return total + (h[0].sum() + h[1].pow(2).sum() if isinstance(h, tuple) else h.sum())


@pytest.mark.parametrize("kind", ["GRU", "RNN", "LSTM"])   # LSTM: the loss reads c_n (graph rebuild)
def test_token_by_token_parts_chain_with_total_gradients(kind):
    torch.manual_seed(4)
    model, x = TokenEncoder(kind=kind), torch.randn(4, 2, 3)
    with rnnviz.watch(model) as w:
        model(x).backward()
    traces = w.traces
    assert list(traces) == ["gru", "gru#2", "gru#3", "gru#4"]
    kept = []
    reference = TokenEncoder(kept, kind)
    reference.load_state_dict(model.state_dict())
    reference(x).backward()
    parts = list(traces.values())
    for k, trace in enumerate(parts):
        out, h = kept[k]
        _close(trace.hidden[0, 0], out)
        _close(trace.hidden_grad[0, 0], out.grad + h.grad)   # the step's total dL/dH
        if k + 1 < len(parts):
            _close(parts[k + 1].h0, trace.h_n)
            if kind == "LSTM":
                _close(parts[k + 1].c0, trace.c_n)
    assert not parts[0].h0.any()
    for name, p in model.named_parameters():
        _close(p.grad, dict(reference.named_parameters())[name].grad)
