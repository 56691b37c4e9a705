"""The oracle for a user's own model: the model's own forward + backward, and an independent loop.

The loop replaces each nn.RNN/GRU/LSTM's forward with torch's cell functions stepped one
sequence at a time (so packing is just each sequence's own length), retain_grad on every h_t.
Cell models keep their own (x_t, h_t) when `model.keep` is a dict (the test models do this).
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence, pad_sequence

TOL = 1e-9


@pytest.fixture(autouse=True)
def float64():
    """Every tensor of these tests in float64, restored afterwards for the rest of the suite."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def close(actual, expected, what, tol=TOL):
    actual = np.asarray(actual)
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=0, atol=tol, err_msg=what)


def _step(kind, module, x, h, c, w):
    if kind == "lstm" and w[4] is not None:   # torch.lstm_cell knows no projection: torch's formula by hand
        gates = x @ w[0].T + h @ w[1].T + (0 if w[2] is None else w[2] + w[3])
        i, f, g, o = gates.chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return (torch.sigmoid(o) * torch.tanh(c)) @ w[4].T, c
    if kind == "lstm":
        return torch.lstm_cell(x, (h, c), *w[:4])
    if kind == "gru":
        return torch.gru_cell(x, h, *w[:4]), None
    cell = torch.rnn_tanh_cell if module.nonlinearity == "tanh" else torch.rnn_relu_cell
    return cell(x, h, *w[:4]), None


def reference_forward(module, store):
    kind = {nn.LSTM: "lstm", nn.GRU: "gru", nn.RNN: "rnn"}[type(module)]
    L, D, H = module.num_layers, 2 if module.bidirectional else 1, module.hidden_size
    P = getattr(module, "proj_size", 0) or H

    def weights(layer, d):
        suffix = f"_l{layer}" + ("_reverse" if d else "")
        return [getattr(module, n + suffix, None) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")]

    def forward(input, hx=None):
        packed = isinstance(input, PackedSequence)
        if packed:
            x, lengths = pad_packed_sequence(input)
            lengths = lengths.tolist()
        else:
            x = input.transpose(0, 1) if module.batch_first else input
            lengths = [x.shape[0]] * x.shape[1]
        if x.requires_grad:
            x.retain_grad()
        store["x"] = x
        T, B = x.shape[:2]
        if hx is None:
            hx = (x.new_zeros(L * D, B, P), x.new_zeros(L * D, B, H)) if kind == "lstm" else x.new_zeros(L * D, B, P)
        h0, c0 = hx if kind == "lstm" else (hx, None)
        seqs = [x[:lengths[b], b] for b in range(B)]
        h_n, c_n = [[None] * B for _ in range(L * D)], [[None] * B for _ in range(L * D)]
        for layer in range(L):
            outs = []
            for b in range(B):
                directions = []
                for d in range(D):
                    w, i = weights(layer, d), layer * D + d
                    h, c = h0[i, b:b + 1], (c0[i, b:b + 1] if c0 is not None else None)
                    seq = [None] * lengths[b]
                    for t in (reversed(range(lengths[b])) if d else range(lengths[b])):
                        h, c = _step(kind, module, seqs[b][t:t + 1], h, c, w)
                        h.retain_grad()
                        store.setdefault((layer, d), {})[t, b] = h
                        seq[t] = h
                    h_n[i][b], c_n[i][b] = h, c
                    directions.append(torch.cat(seq))
                outs.append(torch.cat(directions, -1))
            seqs = outs
        out = pad_sequence(seqs)                               # (T, B, D*P)
        if packed:
            out = pack_padded_sequence(out, lengths, enforce_sorted=input.unsorted_indices is None)
        elif module.batch_first:
            out = out.transpose(0, 1)
        h_n = torch.stack([torch.cat(row) for row in h_n])
        if kind == "lstm":
            return out, (h_n, torch.stack([torch.cat(row) for row in c_n]))
        return out, h_n

    return forward


def own_run(model, args, loss_fn):
    """The model's own forward + loss.backward(): (output, loss, {name: grad})."""
    model = copy.deepcopy(model)
    out = model(*args)
    loss = loss_fn(out)
    loss.backward()
    grads = {n: (p.grad if p.grad is not None else torch.zeros_like(p)) for n, p in model.named_parameters()
             if p.requires_grad}
    return out, loss.detach(), grads


def reference_run(model, args, loss_fn):
    """The independent loop under the same loss: {part path: store} and the cell models' keep."""
    model = copy.deepcopy(model)
    stores = {}
    for path, module in model.named_modules():
        if isinstance(module, (nn.RNN, nn.GRU, nn.LSTM)):
            stores[path] = {}
            module.forward = reference_forward(module, stores[path])
    model.keep = {}
    for arg in args:   # a leaf input shared with the other runs: read only this run's gradient
        if isinstance(arg, torch.Tensor):
            arg.grad = None
    loss = loss_fn(model(*args))
    loss.backward()
    return stores, model.keep, loss


def check_sequence_part(trace, store, module):
    """hidden, dL/dh_t, dL/dX_t of a module part against the loop's retained tensors."""
    L, D, T, B, P = trace.hidden.shape
    hidden = np.full(trace.hidden.shape, np.nan)
    hidden_grad = np.full(trace.hidden.shape, np.nan)
    for (layer, d), steps in ((k, v) for k, v in store.items() if isinstance(k, tuple)):
        for (t, b), h in steps.items():
            hidden[layer, d, t, b] = h.detach()[0].numpy()
            hidden_grad[layer, d, t, b] = (h.grad if h.grad is not None else torch.zeros_like(h))[0].numpy()
    np.testing.assert_allclose(trace.hidden, hidden, rtol=0, atol=TOL, err_msg="h_t")
    np.testing.assert_allclose(trace.hidden_grad, hidden_grad, rtol=0, atol=TOL, err_msg="dL/dh_t")
    x = store["x"]
    x_grad = x.grad if x.grad is not None else torch.zeros_like(x)
    x_grad = x_grad.detach().clone()
    valid = ~np.isnan(hidden[0, 0, :, :, 0])                  # (T, B): NaN past each length
    x_grad[torch.from_numpy(~valid)] = float("nan")
    expected = x_grad.transpose(0, 1) if module.batch_first and trace.input_grad.shape[0] == B else x_grad
    np.testing.assert_allclose(trace.input_grad, expected.numpy(), rtol=0, atol=TOL, err_msg="dL/dX_t")


def check_cell_part(trace, kept):
    """A cell part against the model's own kept (x_t, h_t) with retain_grad."""
    xs, hs = zip(*kept)
    close(trace.hidden[0, 0], torch.stack(hs).detach(), "cell h_t")
    close(trace.hidden_grad[0, 0], torch.stack([h.grad if h.grad is not None else torch.zeros_like(h) for h in hs]),
          "cell dL/dh_t")
    close(trace.input_grad, torch.stack([x.grad if x.grad is not None else torch.zeros_like(x) for x in xs]),
          "cell dL/dX_t")


def flat_output(out):
    """Every tensor in a model's output, in order (PackedSequence: its data)."""
    if isinstance(out, PackedSequence):
        return [out.data]
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for item in out for t in flat_output(item)]
    return []
