"""record() on one module with its own loss, the step adapter, files, the CLI and every refusal."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from own_model_oracle import close, float64  # noqa: F401 (autouse fixture)
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence

import rnnviz
from rnnviz.cli import main
from rnnviz.engine.trace import TraceFileError, load_trace


def own_grads(module, loss):
    loss.backward()
    return {n: p.grad for n, p in module.named_parameters() if p.requires_grad}


def test_one_module_with_a_callable_loss_on_the_last_step():
    torch.manual_seed(0)
    rnn, x, labels = nn.RNN(3, 4, 2), torch.randn(5, 2, 3), torch.tensor([1, 3])
    loss_fn = lambda out: F.nll_loss(F.log_softmax(out[-1], -1), labels)  # noqa: E731
    trace = rnnviz.record(rnn, x, loss_fn=loss_fn)
    rnn2 = copy.deepcopy(rnn)
    expected = own_grads(rnn2, loss_fn(rnn2(x)[0]))
    assert trace.loss == pytest.approx(float(loss_fn(rnn(x)[0]).detach()), abs=1e-12)
    for name, grad in expected.items():
        close(trace.param_grads[name], grad, name)


def test_head_honoured_and_a_zero_dim_loss_accepted():
    class LossHead(nn.Module):   # a head that returns the loss itself
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(4, 1)

        def forward(self, out):
            return self.proj(out[-1]).square().mean()

    torch.manual_seed(0)
    gru, x, head = nn.GRU(3, 4), torch.randn(5, 2, 3), LossHead()
    trace = rnnviz.record(gru, x, head=head, loss="last")
    gru2, head2 = copy.deepcopy(gru), copy.deepcopy(head)
    loss = head2(gru2(x)[0])
    loss.backward()
    assert trace.loss == pytest.approx(float(loss.detach()), abs=1e-12)
    close(trace.param_grads["head.proj.weight"], head2.proj.weight.grad, "head grad")
    close(trace.param_grads["weight_hh_l0"], gru2.weight_hh_l0.grad, "gru grad")


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_frozen_parameters_on_one_module(kind):
    torch.manual_seed(0)
    module, x = getattr(nn, kind)(3, 4, 2), torch.randn(5, 2, 3)
    module.weight_ih_l0.requires_grad_(False)
    trace = rnnviz.record(module, x)
    assert "weight_ih_l0" not in trace.param_grads
    module2 = copy.deepcopy(module)
    expected = own_grads(module2, module2(x)[0].sum())
    for name, grad in expected.items():
        close(trace.param_grads[name], grad, name)


def test_unbatched_input_and_packed_single_module():
    torch.manual_seed(0)
    gru, x = nn.GRU(3, 4, 2), torch.randn(5, 3)
    trace = rnnviz.record(gru, x)
    out, h_n = gru(x)
    close(trace.output, out, "unbatched output")
    close(trace.h_n, h_n, "unbatched h_n")
    assert trace.input_grad.shape == (5, 3)
    padded, lengths = torch.randn(5, 3, 3), torch.tensor([2, 5, 3])
    packed = pack_padded_sequence(padded, lengths, enforce_sorted=False)
    trace = rnnviz.record(gru, packed)
    _, h_n = gru(packed)
    close(trace.h_n, h_n, "packed h_n in the caller's order")
    assert np.isnan(trace.hidden[:, :, 2:, 0]).all() and not np.isnan(trace.hidden[:, :, :, 1]).any()


def test_lstm_proj_size_with_torchs_own_state_shapes():
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 5, proj_size=2)
    state = (torch.zeros(1, 2, 2), torch.zeros(1, 2, 5))
    trace = rnnviz.record(lstm, torch.randn(4, 2, 3), state)
    assert trace.hidden.shape == (1, 1, 4, 2, 2) and "weight_hr_l0" in trace.param_grads


class CharGenerator(nn.Module):
    """forward(category, input, hidden): a generator whose step takes an extra argument."""

    def __init__(self, categories=2, inputs=4, hidden=5):
        super().__init__()
        self.i2h = nn.Linear(categories + inputs + hidden, hidden)
        self.i2o = nn.Linear(categories + inputs + hidden, inputs)

    def forward(self, category, x, hidden):
        both = torch.cat([category, x, hidden], 1)
        return F.log_softmax(self.i2o(both), 1), torch.tanh(self.i2h(both))


def test_step_adapter_for_extra_forward_arguments():
    torch.manual_seed(0)
    model, category = CharGenerator(), torch.eye(2)[[1]]
    x, targets, h0 = torch.randn(4, 1, 4), torch.tensor([0, 3, 2, 1]), torch.zeros(1, 5)
    loss_fn = lambda out: F.nll_loss(out[:, 0], targets)  # noqa: E731
    trace = rnnviz.record(model, x, h0, step=lambda x_t, h: model(category, x_t, h), loss_fn=loss_fn)
    h, hs, outs, xs = h0, [], [], x.clone().requires_grad_()
    for t in range(4):
        out, h = model(category, xs[t], h)
        h.retain_grad()
        hs.append(h)
        outs.append(out)
    loss = loss_fn(torch.stack(outs))
    loss.backward()
    assert trace.loss == pytest.approx(float(loss.detach()), abs=1e-12)
    close(trace.hidden_grad[0, 0], torch.stack([h.grad if h.grad is not None else torch.zeros_like(h) for h in hs]),
          "dL/dh_t")
    close(trace.input_grad, xs.grad, "dL/dx_t")
    close(trace.param_grads["i2h.weight"], model.i2h.weight.grad, "i2h grad")


def test_token_encoder_with_a_1_1_h_state_and_nested_state():
    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed, self.gru = nn.Embedding(7, 3), nn.GRU(3, 4)

        def forward(self, token, hidden):
            out, hidden = self.gru(self.embed(token).view(1, 1, -1), hidden)
            return out, ((hidden, hidden * 0), hidden)    # a nested state: its first tensor is h

    torch.manual_seed(0)
    encoder, tokens = Encoder(), torch.tensor([[1], [4], [2]])

    def step(token, state):
        return encoder(token, state[1] if isinstance(state, tuple) else state)

    trace = rnnviz.record(encoder, tokens, torch.zeros(1, 1, 4), step=step, loss_fn=lambda out: out.sum())
    assert trace.hidden.shape == (1, 1, 3, 1, 4) and trace.input_grad is None
    h = torch.zeros(1, 1, 4)
    for t in range(3):
        _, (_, h) = encoder(tokens[t], h)
    close(trace.hidden[0, 0, -1], h.reshape(1, 4), "last state")


class RNNModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder, self.rnn, self.decoder = nn.Embedding(5, 3), nn.LSTM(3, 3, 2), nn.Linear(3, 5)

    def forward(self, data, hidden):
        out, hidden = self.rnn(self.encoder(data), hidden)
        return self.decoder(out), hidden


def test_a_whole_model_passed_the_old_way_names_its_parts_and_the_call_that_works():
    model, data = RNNModel(), torch.randint(0, 5, (4, 2))
    hidden = (torch.zeros(2, 2, 3), torch.zeros(2, 2, 3))
    with pytest.raises(ValueError) as info:
        rnnviz.record(model, data, hidden)
    assert str(info.value) == (
        "RNNModel is not a recurrent module; it contains rnn (LSTM, 2 layers): use "
        "rnnviz.record(model, data, hidden, loss_fn=...) to record the whole model, or rnnviz.record(model.rnn, ...)")


@pytest.mark.parametrize("call, message", [
    (lambda: rnnviz.record(nn.Linear(3, 2), torch.randn(4, 3)), "Linear contains no nn.RNN/GRU/LSTM or cell"),
    (lambda: rnnviz.record(nn.Linear(3, 2), torch.randn(4, 2, 3), torch.zeros(2, 2)),
     "Linear contains no nn.RNN/GRU/LSTM or RNNCell/GRUCell/LSTMCell, so rnnviz steps it"),
    (lambda: rnnviz.record(RNNModel(), torch.randint(0, 5, (4, 2)), None, loss_fn=lambda out: out[0]),
     "loss_fn must return a scalar loss (one element), got shape (4, 2, 5)"),
    (lambda: rnnviz.record(RNNModel(), torch.randint(0, 5, (4, 2)), None, loss_fn="mse"),
     "loss_fn must be callable"),
    (lambda: rnnviz.record(RNNModel(), torch.randint(0, 5, (4, 2)), None, loss_fn=lambda o: o[0].sum(), head=nn.Linear(5, 1)),
     "takes no head= or loss=: put them in loss_fn"),
    (lambda: rnnviz.watch("model"), "rnnviz.watch takes a torch nn.Module, got str"),
    (lambda: rnnviz.record(nn.GRU(3, 4), torch.randn(5, 2, 3), torch.zeros(2, 2, 4), loss_fn=lambda o: o.sum()),
     "Expected hidden size (1, 2, 4), got (2, 2, 4) for h_0 of GRU"),
    (lambda: rnnviz.record(nn.GRU(3, 4), torch.randn(5, 2, 6), loss_fn=lambda o: o.sum()),
     "input.size(-1) must be equal to input_size. Expected 3, got 6"),
])
def test_refusals_say_what_to_do(call, message):
    with pytest.raises((ValueError, TypeError, RuntimeError)) as info:
        call()
    assert message in str(info.value)


def test_a_model_whose_forward_calls_no_recurrent_part():
    class Skips(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn, self.lin = nn.GRU(3, 3), nn.Linear(3, 1)

        def forward(self, x):
            return self.lin(x)

    with pytest.raises(ValueError, match=r"Skips's forward called none of its recurrent parts \(rnn \(GRU, 1 layer\)\)"):
        rnnviz.record(Skips(), torch.randn(4, 2, 3), loss_fn=lambda out: out.sum())


def test_watch_restores_the_model_and_numbers_without_backward_are_nan():
    model = RNNModel()
    with rnnviz.watch(model) as w:
        with torch.no_grad():
            model(torch.randint(0, 5, (4, 2)), None)
    assert "forward" not in model.rnn.__dict__
    trace = w.traces["rnn"]
    assert np.isnan(trace.hidden_grad).all() and not np.isnan(trace.hidden).any()
    with rnnviz.watch(model) as w:
        for _ in range(2):
            model(torch.randint(0, 5, (4, 2)), None)[0].sum().backward()
    assert list(w.traces) == ["rnn", "rnn#2"]


def test_recording_file_round_trip_and_cli(tmp_path, capsys):
    script = tmp_path / "my_model.py"
    script.write_text(
        "import torch\nfrom torch import nn\n"
        "class M(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n        self.a = nn.GRU(3, 4)\n        self.b = nn.LSTMCell(4, 2)\n"
        "    def forward(self, x):\n        out, _ = self.a(x)\n        s = None\n"
        "        for t in range(out.shape[0]):\n            s = self.b(out[t], s)\n        return s[0]\n"
        "def make():\n    torch.manual_seed(0)\n    return M(), torch.randn(5, 2, 3), lambda out: out.square().sum()\n"
        "def bad():\n    return 3\n")
    out_file = tmp_path / "run.npz"
    assert main(["trace", "--module", f"{script}:make", "-o", str(out_file)]) == 0
    assert "recording of 2 part(s) (a, b)" in capsys.readouterr().out
    loaded = rnnviz.load_recording(out_file)
    namespace = {}
    exec(compile(script.read_text(), str(script), "exec"), namespace)
    model, x, loss_fn = namespace["make"]()
    recording = rnnviz.record(model, x, loss_fn=loss_fn)
    assert list(loaded) == ["a", "b"]
    for name, trace in recording.traces.items():
        for field in ("hidden", "hidden_grad", "input_grad", "output"):
            np.testing.assert_array_equal(getattr(loaded[name], field), getattr(trace, field))
        assert loaded[name].config == trace.config and loaded[name].module_path == name
        assert loaded[name].loss == trace.loss
    assert main(["trace", "--module", f"{script}:bad"]) == 2
    assert "bad() must return (model, inputs, loss_fn), got int" in capsys.readouterr().err
    assert main(["trace", "--module", "no_colon.py"]) == 2
    assert "no_colon.py: no such file; give SCRIPT.py:FACTORY" in capsys.readouterr().err
    single = tmp_path / "single.npz"
    recording.traces["a"].save(single)
    assert list(rnnviz.load_recording(single)) == ["a"]
    assert load_trace(single).input_grad.shape == (5, 2, 3)
    junk = tmp_path / "junk.npz"
    junk.write_text("not a zip")
    with pytest.raises(TraceFileError, match="junk.npz"):
        rnnviz.load_recording(junk)


def test_record_parts_names_a_single_module_by_its_class():
    from rnnviz.engine.record import record_parts

    torch.manual_seed(0)
    parts = record_parts(nn.GRU(3, 4).train(), torch.randn(5, 2, 3), loss_fn=lambda out: out.sum())
    assert list(parts) == ["GRU"] and parts["GRU"].module_path == "GRU" and parts["GRU"].train_mode
    assert parts["GRU"].config == {"type": "GRU", "input_size": 3, "hidden_size": 4, "bias": True, "num_layers": 1,
                                   "bidirectional": False, "batch_first": False, "dropout": 0.0, "proj_size": 0}


def test_loss_fn_with_a_target():
    torch.manual_seed(0)
    model, data, target = RNNModel(), torch.randint(0, 5, (4, 2)), torch.randint(0, 5, (4, 2))
    loss_fn = lambda out, y: F.cross_entropy(out[0].reshape(-1, 5), y.reshape(-1))  # noqa: E731
    recording = rnnviz.record(model, data, None, loss_fn=loss_fn, target=target)
    assert recording.loss == pytest.approx(float(loss_fn(model(data, None), target).detach()), abs=1e-12)
    assert recording.traces["rnn"].loss == recording.loss
