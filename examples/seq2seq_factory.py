"""A user's own model for `rnnviz open examples/seq2seq_factory.py:factory` (and `rnnviz trace --module`).

A tiny encoder-decoder: token ids -> Embedding -> bidirectional GRU encoder (batch_first) -> its last
states start a 2-layer LSTM decoder (dropout 0.1, train mode) -> Linear -> cross-entropy on the next
tokens. rnnviz records both recurrent parts, `encoder` and `decoder`, under this very loss.
"""
import torch
import torch.nn.functional as F
from torch import nn

VOCAB, DIM, HIDDEN = 12, 8, 16


class Seq2Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, DIM)
        self.encoder = nn.GRU(DIM, HIDDEN, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * HIDDEN, HIDDEN)
        self.decoder = nn.LSTM(DIM, HIDDEN, num_layers=2, dropout=0.1)
        self.out = nn.Linear(HIDDEN, VOCAB)

    def forward(self, source, target_in):
        _, h = self.encoder(self.embed(source))                       # source (B, S): h (2, B, H)
        start = torch.tanh(self.bridge(torch.cat([h[0], h[1]], dim=-1)))
        h0 = start.expand(self.decoder.num_layers, -1, -1).contiguous()
        decoded, _ = self.decoder(self.embed(target_in), (h0, torch.zeros_like(h0)))  # target_in (T, B)
        return self.out(decoded)                                     # (T, B, VOCAB) logits


def factory():
    """(model, inputs, loss_fn): what `rnnviz open` and `rnnviz trace --module` call."""
    torch.manual_seed(0)
    model = Seq2Seq().train()
    source = torch.randint(VOCAB, (3, 7))            # 3 sentences of 7 tokens, batch first
    target = torch.randint(VOCAB, (6, 3))            # the reply, time first
    target_in, target_out = target[:-1], target[1:]  # teacher forcing: predict the next token

    def loss_fn(logits):
        return F.cross_entropy(logits.reshape(-1, VOCAB), target_out.reshape(-1))

    return model, (source, target_in), loss_fn


if __name__ == "__main__":
    model, inputs, loss_fn = factory()
    print(f"loss {loss_fn(model(*inputs)).item():.4f}")
