"""A spec rendered as the PyTorch code a student would type to build and run the same thing."""
from __future__ import annotations

from ..engine.spec import RNNSpec, text_vocabulary

_CLASS = {"rnn": "RNN", "gru": "GRU", "lstm": "LSTM", "rnn_cell": "RNNCell", "gru_cell": "GRUCell", "lstm_cell": "LSTMCell"}


def _module_line(spec: RNNSpec) -> str:
    args = [f"input_size={spec.input_size}", f"hidden_size={spec.hidden_size}"]
    if not spec.is_cell:
        args.append(f"num_layers={spec.num_layers}")
    if spec.kind in ("rnn", "rnn_cell") and spec.nonlinearity != "tanh":
        args.append(f"nonlinearity='{spec.nonlinearity}'")
    if not spec.bias:
        args.append("bias=False")
    if spec.batch_first:
        args.append("batch_first=True")
    if spec.dropout:
        args.append(f"dropout={spec.dropout}")
    if spec.bidirectional:
        args.append("bidirectional=True")
    return f"rnn = nn.{_CLASS[spec.kind]}({', '.join(args)})"


def _input_lines(spec: RNNSpec) -> list[str]:
    T, B, I = spec.seq_len, spec.batch_size, spec.input_size
    shape = f"{B}, {T}, {I}" if spec.batch_first else f"{T}, {B}, {I}"
    layout = "(batch, seq, feature)" if spec.batch_first else "(seq, batch, feature)"
    if spec.input_source == "text":
        vocab = "".join(text_vocabulary(spec.text))
        return [
            f"text = {spec.text!r}",
            f"vocab = sorted(set(text))  # {vocab!r}",
            f"index = torch.tensor([vocab.index(ch) for ch in text[:{T + 1}]])",
            f"inputs = F.one_hot(index[:-1], {I}).{'double' if spec.dtype == 'float64' else 'float'}().unsqueeze(1)"
            f"  # (seq, batch, feature) = ({T}, 1, {I})",
            "next_chars = index[1:].unsqueeze(1)  # the target: each position's next character",
        ]
    if spec.input_source == "sine":
        return [f"t = torch.arange({T}).view({T}, 1, 1)",
                f"inputs = torch.sin(2 * math.pi * t / {T} + torch.rand(1, {B}, {I}) * 2 * math.pi)  # {layout}"]
    return [f"inputs = torch.randn({shape})  # {layout}"]


def _init_lines(spec: RNNSpec) -> list[str]:
    """The weight initialisation the spec asks for, as torch.nn.init calls on the module."""
    H = spec.hidden_size
    body = []
    if spec.init == "normal":
        body += ["    if name.startswith('weight'):", f"        nn.init.normal_(p, 0.0, {spec.init_sigma})"]
    elif spec.init == "orthogonal":
        body += ["    if name.startswith('weight_hh'):",
                 f"        for block in p.split({H}):  # one square block per gate",
                 "            nn.init.orthogonal_(block)"]
    elif spec.init == "identity":
        body += ["    if name.startswith('weight_hh'):", f"        p.copy_(torch.eye({H}))",
                 "    elif name.startswith('bias'):", "        p.zero_()"]
    if spec.forget_bias is not None:
        body += ["    if name.startswith('bias_ih'):", f"        p[{H}:{2 * H}] = {spec.forget_bias}  # forget gate (order i, f, g, o)",
                 "    elif name.startswith('bias_hh'):", f"        p[{H}:{2 * H}] = 0.0"]
    if spec.whh_scale is not None:
        body += ["    if name.startswith('weight_hh'):",
                 f"        for block in p.split({H}):  # scale each gate's W_hh to spectral radius {spec.whh_scale}",
                 f"            block.mul_({spec.whh_scale} / torch.linalg.eigvals(block).abs().max())"]
    if not body:
        return []
    return ["with torch.no_grad():", "    for name, p in rnn.named_parameters():"] + ["    " + line for line in body]


def pytorch_code(spec: RNNSpec) -> str:
    """Tutorial-style code for `spec` (weights differ from rnnviz's seeded build unless seeded alike)."""
    lines = ["import torch", "import torch.nn as nn"]
    if spec.input_source == "text" or spec.loss in ("mse", "char_ce"):
        lines.append("import torch.nn.functional as F")
    if spec.input_source == "sine":
        lines.append("import math")
    lines += ["", f"torch.manual_seed({spec.seed})", _module_line(spec)]
    lines += _init_lines(spec)
    if spec.dtype == "float64":
        lines.append("rnn = rnn.double()")
    if spec.output_size:
        lines.append(f"head = nn.Linear({spec.out_features}, {spec.output_size})  # O_t = H_t W_hq + b_q")
    lines += _input_lines(spec)
    if spec.dtype == "float64" and spec.input_source != "text":
        lines.append("inputs = inputs.double()")
    if spec.device != "cpu":
        lines.append(f"rnn, inputs = rnn.to('{spec.device}'), inputs.to('{spec.device}')")
    H, B = spec.hidden_size, spec.batch_size
    if spec.is_cell:
        lines += [f"hx = torch.zeros({B}, {H})"]
        if spec.base_kind == "lstm":
            lines.append(f"cx = torch.zeros({B}, {H})")
        lines += ["outputs = []", f"for i in range({spec.seq_len}):",
                  "    print('=' * 30, i, '=' * 30)",
                  "    print('Input Size:', inputs[i].size())"]
        if spec.base_kind == "lstm":
            lines.append("    hx, cx = rnn(inputs[i], (hx, cx))")
        else:
            lines.append("    hx = rnn(inputs[i], hx)")
        lines += ["    print('outputs size:', hx.size())", "    print(hx)", "    outputs.append(hx)",
                  "out = torch.stack(outputs)  # (seq, batch, hidden)"]
    else:
        states = spec.num_layers * spec.num_directions
        lines.append(f"h0 = torch.zeros({states}, {B}, {H})  # (num_layers * num_directions, batch, hidden)")
        if spec.base_kind == "lstm":
            lines += [f"c0 = torch.zeros({states}, {B}, {H})", "out, (h_n, c_n) = rnn(inputs, (h0, c0))"]
        else:
            lines.append("out, h_n = rnn(inputs, h0)")
        lines += ["print('Output size:', out.size())", "print('Hidden size:', h_n.size())"]
    if spec.loss == "mse":
        lines.append(f"target = torch.randn({spec.seq_len}, {B}, {spec.head_features})  # (seq, batch, output)")
    result = "head(out)" if spec.output_size else "out"
    if spec.batch_first and not spec.is_cell:
        result += ".transpose(0, 1)"
    loss = {
        "sum": f"loss = {result}.sum()",
        "last": f"loss = {result}[-1].sum()  # only the last timestep: earlier h_t get gradient through time alone",
        "mse": f"loss = F.mse_loss({result}, target)",
        "char_ce": f"loss = F.cross_entropy({result}.reshape(-1, {spec.head_features}), next_chars.reshape(-1))",
    }[spec.loss]
    lines += [loss, "loss.backward()"]
    return "\n".join(lines) + "\n"
