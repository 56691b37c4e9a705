"""The two character models that `rnnviz train` and the training view teach with.

Both step through the sequence one character at a time and return every hidden state h_t
as its own tensor, so the trainer can `retain_grad()` it and read the total dL/dh_t (what
flows in from the output at t *and* back from h_{t+1}). Reading `out.grad` of a fused
nn.RNN call would miss the through-time part.

Shapes use torch's convention: T = sequence length, B = batch, V = vocabulary size,
H = hidden size.
"""
from __future__ import annotations

import torch
from torch import nn

from ..engine.names import MODEL_KINDS


class TutorialCharRNN(nn.Module):
    """The classic tutorial's character RNN, made correct.

    ``combined = cat(X_t, H_{t-1})``; ``H_t = tanh(i2h(combined))``;
    ``O_t = LogSoftmax(i2o(combined))``. The tutorial leaves out the tanh, which turns the
    recurrence into a linear map whose powers explode or vanish; the formula
    H_t = phi(X_t W_xh + H_{t-1} W_hh + b) has it, so we put it in. Inputs are one-hot.

    Shape:
        - input: (B, V) one-hot character
        - hidden: (B, H)
        - output: (B, V) log-probabilities of the next character
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
        self.i2o = nn.Linear(input_size + hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, input: torch.Tensor, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        combined = torch.cat((input, hidden), 1)  # (B, V + H)
        hidden = torch.tanh(self.i2h(combined))  # (B, H)
        output = self.softmax(self.i2o(combined))  # (B, V)
        return output, hidden

    def init_hidden(self, batch: int = 1) -> torch.Tensor:
        return torch.zeros(batch, self.hidden_size)

    def run_sequence(self, inputs: torch.Tensor, hidden: torch.Tensor | None = None):
        """Step over `inputs` (T, B, V). Returns (log_probs (T, B, V), hiddens [T x (B, H)], last state)."""
        if hidden is None:
            hidden = self.init_hidden(inputs.shape[1]).to(inputs)
        outputs, hiddens = [], []
        for x_t in inputs:
            output, hidden = self(x_t, hidden)
            outputs.append(output)
            hiddens.append(hidden)
        return torch.stack(outputs), hiddens, hidden


class HeadedRNN(nn.Module):
    """nn.RNN / nn.GRU / nn.LSTM (one layer) with a Linear head on H_t and LogSoftmax.

    The recurrent module is called one timestep at a time on its own parameters, so each h_t
    is a separate tensor; the head reads that same tensor, which makes ``h_t.grad`` the total
    dL/dh_t. Parameter names are the torch ones ('rnn.weight_hh_l0', 'head.weight', ...).

    Shape:
        - inputs: (T, B, V) one-hot characters
        - log_probs: (T, B, V)
    """

    def __init__(self, kind: str, vocab: int, hidden: int):
        super().__init__()
        modules = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
        if kind not in modules:
            raise ValueError(f"kind must be one of rnn, gru, lstm, got {kind!r}")
        self.kind = kind
        self.hidden_size = hidden
        self.rnn = modules[kind](vocab, hidden)
        self.head = nn.Linear(hidden, vocab)
        self.softmax = nn.LogSoftmax(dim=-1)

    def init_hidden(self, batch: int = 1):
        zeros = torch.zeros(1, batch, self.hidden_size)
        return (zeros, zeros.clone()) if self.kind == "lstm" else zeros

    def run_sequence(self, inputs: torch.Tensor, state=None):
        """Step over `inputs` (T, B, V). Returns (log_probs (T, B, V), hiddens [T x (B, H)], last state)."""
        if state is None:
            state = self.init_hidden(inputs.shape[1])
        outputs, hiddens = [], []
        for t in range(inputs.shape[0]):
            _, state = self.rnn(inputs[t : t + 1], state)
            # Feed the next step through h_t itself (not the (1, B, H) tensor it is a view of):
            # otherwise the gradient from h_{t+1} would bypass h_t and h_t.grad would miss it.
            if self.kind == "lstm":
                h_t = state[0][0]  # (B, H)
                state = (h_t[None], state[1])
            else:
                h_t = state[0]
                state = h_t[None]
            hiddens.append(h_t)
            outputs.append(self.softmax(self.head(h_t)))
        return torch.stack(outputs), hiddens, state

    def forward(self, inputs: torch.Tensor, state=None):
        log_probs, _, state = self.run_sequence(inputs, state)
        return log_probs, state


def make_model(kind: str, vocab: int, hidden: int) -> nn.Module:
    """The tutorial model for 'tutorial', else HeadedRNN(kind)."""
    if kind == "tutorial":
        return TutorialCharRNN(vocab, hidden, vocab)
    if kind in ("rnn", "gru", "lstm"):
        return HeadedRNN(kind, vocab, hidden)
    raise ValueError(f"model must be one of {', '.join(MODEL_KINDS)}, got {kind!r}")


def one_hot(indices: torch.Tensor, vocab: int) -> torch.Tensor:
    """(T,) or (T, B) integer indices -> (T, B, V) float one-hot."""
    if indices.dim() == 1:
        indices = indices[:, None]
    return nn.functional.one_hot(indices, vocab).float()


@torch.no_grad()
def sample(model: nn.Module, prefix: str, n: int, vocab: list[str]) -> str:
    """Greedy generation: feed `prefix`, then append the most likely next character `n` times.

    Returns prefix + the n generated characters. Characters of `prefix` outside the
    vocabulary raise ValueError naming them.
    """
    if not prefix:
        raise ValueError("sample prefix must not be empty")
    index = {c: i for i, c in enumerate(vocab)}
    unknown = sorted(set(prefix) - set(index))
    if unknown:
        raise ValueError(f"sample prefix has characters not in the text: {''.join(unknown)!r}")
    was_training = model.training
    model.eval()
    out = list(prefix)
    state = None
    inputs = one_hot(torch.tensor([index[c] for c in prefix]), len(vocab))
    for _ in range(n):
        log_probs, _, state = model.run_sequence(inputs, state)
        nxt = int(log_probs[-1, 0].argmax())
        out.append(vocab[nxt])
        inputs = one_hot(torch.tensor([nxt]), len(vocab))
    model.train(was_training)
    return "".join(out)
