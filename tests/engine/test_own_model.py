"""A user's own models, recorded whole: every number equals the model's own and an independent loop."""
from __future__ import annotations

import copy

import pytest
import torch
from own_model_oracle import (check_cell_part, check_sequence_part, close, flat_output, float64,  # noqa: F401
                              own_run, reference_run)
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnviz


class WordLM(nn.Module):
    """Embedding -> 2-layer LSTM/GRU -> Linear decoder sharing the embedding's weights."""

    def __init__(self, kind, vocab=11, size=6, layers=2, dropout=0.0):
        super().__init__()
        self.encoder = nn.Embedding(vocab, size)
        self.rnn = getattr(nn, kind)(size, size, layers, dropout=dropout)
        self.decoder = nn.Linear(size, vocab)
        self.decoder.weight = self.encoder.weight

    def forward(self, data, hidden):
        out, hidden = self.rnn(self.encoder(data), hidden)
        return F.log_softmax(self.decoder(out), -1), hidden


class CellClassifier(nn.Module):
    """An RNNCell looped in Python over (T, B, I); the last state classifies."""

    def __init__(self, inputs=4, hidden=5, classes=3):
        super().__init__()
        self.cell = nn.RNNCell(inputs, hidden)
        self.out = nn.Linear(hidden, classes)
        self.keep = None

    def forward(self, x):
        h = None
        for t in range(x.shape[0]):
            x_t = x[t]
            h = self.cell(x_t, h)
            if self.keep is not None:
                x_t.retain_grad()
                h.retain_grad()
                self.keep.setdefault("cell", []).append((x_t, h))
        return F.log_softmax(self.out(h), -1)


class Tagger(nn.Module):
    """Embedding -> batch_first BiLSTM -> per-token tag scores."""

    def __init__(self, vocab=9, size=4, hidden=3, tags=5):
        super().__init__()
        self.embed = nn.Embedding(vocab, size)
        self.lstm = nn.LSTM(size, hidden, batch_first=True, bidirectional=True)
        self.tags = nn.Linear(2 * hidden, tags)

    def forward(self, words):
        out, _ = self.lstm(self.embed(words))
        return F.log_softmax(self.tags(out), -1)


class PackedEncoder(nn.Module):
    """Padded token batch -> packed 2-layer bidirectional GRU -> final states and padded outputs."""

    def __init__(self, vocab=8, size=4, hidden=3, enforce_sorted=True):
        super().__init__()
        self.embed = nn.Embedding(vocab, size)
        self.encoder = nn.Module()
        self.encoder.gru = nn.GRU(size, hidden, 2, bidirectional=True)
        self.enforce_sorted = enforce_sorted

    def forward(self, tokens, lengths):
        packed = pack_padded_sequence(self.embed(tokens), lengths, enforce_sorted=self.enforce_sorted)
        out, h_n = self.encoder.gru(packed)
        padded, _ = pad_packed_sequence(out)
        return padded, h_n


class StackedCells(nn.Module):
    """Two LSTMCells stacked, carrying the nested state ((h, c), (h2, c2))."""

    def __init__(self, inputs=3, hidden=4):
        super().__init__()
        self.lower, self.upper = nn.LSTMCell(inputs, hidden), nn.LSTMCell(hidden, hidden)
        self.keep = None

    def forward(self, x):
        state = ((x.new_zeros(x.shape[1], 4), x.new_zeros(x.shape[1], 4)),) * 2
        outs = []
        for t in range(x.shape[0]):
            x_t = x[t]
            low = self.lower(x_t, state[0])
            # the reference reads dL/dX_t through `upper` alone: a clone separates it from low's other use
            upper_in = low[0].clone() if self.keep is not None else low[0]
            up = self.upper(upper_in, state[1])
            state = (low, up)
            if self.keep is not None:
                for name, (inp, (h, _)) in (("lower", (x_t, low)), ("upper", (upper_in, up))):
                    inp.retain_grad()
                    h.retain_grad()
                    self.keep.setdefault(name, []).append((inp, h))
            outs.append(up[0])
        return torch.stack(outs)


def check_model(model, args, loss_fn, parts):
    """record() and watch() against the model's own numbers and the independent loop."""
    own_out, own_loss, own_grads = own_run(model, args, loss_fn)
    recording = rnnviz.record(copy.deepcopy(model), *args, loss_fn=loss_fn)
    assert isinstance(recording, rnnviz.ModelRecording)
    assert list(recording.traces) == parts
    for ours, theirs in zip(flat_output(recording.output), flat_output(own_out)):
        close(ours, theirs, "output")
    assert recording.loss == pytest.approx(float(own_loss), abs=1e-12)
    assert set(recording.param_grads) == set(own_grads)
    for name, grad in own_grads.items():
        close(recording.param_grads[name], grad, f"dL/d{name}")
    stores, kept, _ = reference_run(model, args, loss_fn)
    for path, trace in recording.traces.items():
        module = model.get_submodule(path)
        if path in stores:
            check_sequence_part(trace, stores[path], module)
        else:
            check_cell_part(trace, kept[path])
        for name, _ in module.named_parameters():
            if f"{path}.{name}" in own_grads:
                close(trace.param_grads[name], own_grads[f"{path}.{name}"], f"{path} part dL/d{name}")
            else:
                assert name not in trace.param_grads, f"frozen {name} reported a gradient"
    # watch: the user's own step, the real .grad of every parameter
    watched_model = copy.deepcopy(model)
    with rnnviz.watch(watched_model) as w:
        loss_fn(watched_model(*args)).backward()
    for name, param in watched_model.named_parameters():
        if param.requires_grad:
            close(param.grad, own_grads[name], f"watched dL/d{name}")
    for path, trace in w.traces.items():
        close(trace.hidden_grad, torch.from_numpy(recording.traces[path].hidden_grad), f"watched {path} dL/dh_t")
    return recording


def nll_all(out):
    return F.nll_loss(out[0].reshape(-1, out[0].shape[-1]), TARGET_WORDS.reshape(-1))


TARGET_WORDS = torch.randint(0, 11, (6, 3), generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_word_language_model_with_tied_weights(kind):
    torch.manual_seed(0)
    model = WordLM(kind)
    data = torch.randint(0, 11, (6, 3))
    hidden = torch.randn(2, 3, 6) * 0.5
    hidden = (hidden, torch.randn(2, 3, 6) * 0.5) if kind == "LSTM" else hidden
    recording = check_model(model, (data, hidden), nll_all, ["rnn"])
    assert "decoder.weight" not in recording.param_grads   # tied: reported once, as encoder.weight


def test_cell_classifier_nll_on_last_step():
    torch.manual_seed(0)
    labels = torch.tensor([0, 2])
    check_model(CellClassifier(), (torch.randn(5, 2, 4).requires_grad_(),), lambda out: F.nll_loss(out, labels), ["cell"])


def test_bilstm_tagger():
    torch.manual_seed(0)
    words, tags = torch.randint(0, 9, (2, 5)), torch.randint(0, 5, (2, 5))
    recording = check_model(Tagger(), (words,), lambda out: F.nll_loss(out.reshape(-1, 5), tags.reshape(-1)),
                            ["lstm"])
    trace = recording.traces["lstm"]
    assert trace.batch_first and trace.input_grad.shape == (2, 5, 4) and trace.hidden.shape == (1, 2, 5, 2, 3)


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_packed_gru_encoder(enforce_sorted):
    torch.manual_seed(0)
    lengths = torch.tensor([5, 3, 2]) if enforce_sorted else torch.tensor([2, 5, 3])
    tokens = torch.randint(0, 8, (5, 3))
    weights = torch.randn(5, 3, 6)

    def loss_fn(out):
        padded, h_n = out
        return (padded * weights).sum() + (h_n ** 2).sum()

    recording = check_model(PackedEncoder(enforce_sorted=enforce_sorted), (tokens, lengths), loss_fn, ["encoder.gru"])
    trace = recording.traces["encoder.gru"]
    assert trace.packed_lengths.tolist() == lengths.tolist()
    short = int(lengths.argmin())
    assert torch.isnan(torch.from_numpy(trace.hidden[:, :, 2:, short])).all()


def test_stacked_lstm_cells_with_nested_state():
    torch.manual_seed(0)
    check_model(StackedCells(), (torch.randn(4, 2, 3).requires_grad_(),), lambda out: (out[-1] ** 2).sum() + out.sum(),
                ["lower", "upper"])


def test_frozen_lower_layer():
    torch.manual_seed(0)
    for kind in ("LSTM", "GRU"):
        model = WordLM(kind)
        for name, param in model.rnn.named_parameters():
            if name.endswith("_l0"):
                param.requires_grad_(False)
        hidden = torch.zeros(2, 3, 6)
        hidden = (hidden, hidden) if kind == "LSTM" else hidden
        recording = check_model(model, (torch.randint(0, 11, (6, 3)), hidden), nll_all, ["rnn"])
        assert "rnn.weight_ih_l0" not in recording.param_grads and "rnn.weight_ih_l1" in recording.param_grads


class Projected(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 5, 2, proj_size=2, bidirectional=True)

    def forward(self, x, state):
        out, (h, c) = self.lstm(x, state)
        return out, h, c


def test_lstm_proj_size():
    torch.manual_seed(0)
    state = (torch.randn(4, 2, 2), torch.randn(4, 2, 5))
    recording = check_model(Projected(), (torch.randn(4, 2, 3).requires_grad_(), state),
                            lambda out: (out[0] ** 2).sum() + out[1].sum() + (out[2] * 0.5).sum(), ["lstm"])
    trace = recording.traces["lstm"]
    assert trace.hidden.shape == (2, 2, 4, 2, 2) and trace.cell.shape == (2, 2, 4, 2, 5)
    assert trace.config["proj_size"] == 2


def test_lstm_loss_reading_c_n_and_learned_c0():
    """lstm_layer_backward takes no dL/dc_n: the engine must rebuild the graph for it, still exact."""
    torch.manual_seed(0)
    model = Projected()
    model.lstm = nn.LSTM(3, 4, 2)
    c0 = nn.Parameter(torch.randn(2, 2, 4))
    model.c0 = c0
    args = (torch.randn(4, 2, 3).requires_grad_(), (torch.zeros(2, 2, 4), c0))
    own_out, own_loss, own_grads = own_run(model, args, lambda out: out[2].sum() + out[0].sum())
    # c0 is a parameter of the model passed as an argument: deepcopy keeps them apart, so use one model
    recording = rnnviz.record(model, *args, loss_fn=lambda out: out[2].sum() + out[0].sum())
    for name, grad in own_grads.items():
        if name != "c0":
            close(recording.param_grads[name], grad, name)
    stores, _, _ = reference_run(model, args, lambda out: out[2].sum() + out[0].sum())
    check_sequence_part(recording.traces["lstm"], stores["lstm"], model.lstm)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("packed", [False, True])
def test_train_mode_dropout_equals_the_module(kind, packed):
    torch.manual_seed(0)
    module = getattr(nn, kind)(4, 5, 3, dropout=0.5, bidirectional=kind == "GRU").train()
    x = torch.randn(6, 3, 4)
    arg = pack_padded_sequence(x, torch.tensor([6, 4, 2])) if packed else x
    torch.manual_seed(7)
    theirs = module(arg)[0]
    torch.manual_seed(7)
    trace = rnnviz.record(module, arg, loss_fn=lambda out: (out.data if packed else out).sum())
    theirs_np = (pad_packed_sequence(theirs)[0] if packed else theirs).detach().numpy()
    ours = trace.output.copy()
    if packed:
        ours[torch.isnan(torch.from_numpy(ours)).numpy()] = 0.0
    close(ours, theirs_np, "train-mode output")
    assert trace.train_mode and not trace.notes
    torch.manual_seed(7)
    again = rnnviz.record(module, arg, loss_fn=lambda out: (out.data if packed else out).sum())
    close(again.hidden_grad, torch.from_numpy(trace.hidden_grad), "same seed, same gradients")
    if not packed:   # the plain call of the issue: record(m, x).output == m(x)[0] in train mode
        torch.manual_seed(7)
        close(rnnviz.record(module, x).output, torch.from_numpy(theirs_np), "record(m, x) in train mode")


def test_train_mode_gradients_equal_the_module():
    torch.manual_seed(0)
    model = WordLM("LSTM", dropout=0.4).train()
    data, hidden = torch.randint(0, 11, (6, 3)), (torch.zeros(2, 3, 6), torch.zeros(2, 3, 6))
    torch.manual_seed(3)
    _, own_loss, own_grads = own_run(model, (data, hidden), nll_all)
    torch.manual_seed(3)
    recording = rnnviz.record(model, data, hidden, loss_fn=nll_all)
    assert recording.loss == pytest.approx(float(own_loss), abs=1e-12)
    for name, grad in own_grads.items():
        close(recording.param_grads[name], grad, name)


class TwoChunks(nn.Module):
    """One LSTM called twice, the state carried across without detaching, from a learned h0."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 4, 2)
        self.h0 = nn.Parameter(torch.randn(2, 2, 4) * 0.3)

    def forward(self, first, second, c0):
        out1, state = self.lstm(first, (self.h0, c0))
        out2, _ = self.lstm(second, state)
        return torch.cat([out1, out2])


@pytest.mark.parametrize("learned_c0", [False, True])
def test_state_carried_across_calls_and_a_learned_h0(learned_c0):
    """dL/dh0 from the hand-written LSTM backward, and dL/d(h_n, c_n) flowing into the first call."""
    torch.manual_seed(0)
    model = TwoChunks()
    c0 = torch.randn(2, 2, 4).requires_grad_(learned_c0)
    args = (torch.randn(3, 2, 3), torch.randn(4, 2, 3), c0)
    loss_fn = lambda out: (out ** 2).sum()  # noqa: E731
    _, own_loss, own_grads = own_run(model, args, loss_fn)
    recording = rnnviz.record(model, *args, loss_fn=loss_fn)
    assert list(recording.traces) == ["lstm", "lstm#2"]
    assert recording.loss == pytest.approx(float(own_loss), abs=1e-12)
    for name, grad in own_grads.items():
        close(recording.param_grads[name], grad, name)
    first = recording.traces["lstm"]
    assert not (first.hidden_grad[:, :, -1] == 0).all(), "the second call's gradient reached the first call's h_n"


def test_learned_h0_through_the_hand_written_lstm_backward():
    class LearnedStart(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(3, 4, 2, bidirectional=True)
            self.h0 = nn.Parameter(torch.randn(4, 2, 4) * 0.3)

        def forward(self, x):
            return self.lstm(x, (self.h0, torch.zeros(4, 2, 4)))[0]

    torch.manual_seed(0)
    model, x = LearnedStart(), torch.randn(5, 2, 3)
    _, _, own_grads = own_run(model, (x,), lambda out: out.sum())
    recording = rnnviz.record(model, x, loss_fn=lambda out: out.sum())
    close(recording.param_grads["h0"], own_grads["h0"], "dL/dh0")
