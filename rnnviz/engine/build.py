"""Spec -> the real torch module the tutorial uses, its seeded inputs, h0, target and loss."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .memory import check as check_memory
from .memory import describe_spec, estimate_spec, plan_spool
from .memory import memory_budget as budget_bytes
from .spec import RNNSpec, SpecError, text_vocabulary

_MODULES = {
    "rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM,
    "rnn_cell": nn.RNNCell, "gru_cell": nn.GRUCell, "lstm_cell": nn.LSTMCell,
}


@dataclass
class Built:
    """What a spec becomes: the module, its optional head, and one seeded batch."""

    spec: RNNSpec
    module: nn.Module
    head: nn.Linear | None
    inputs: torch.Tensor            # (T, B, I), or (B, T, I) when batch_first
    h0: torch.Tensor | tuple        # (L*D, B, H) or (B, H) for cells; a (h0, c0) pair for LSTM
    target: torch.Tensor | None     # mse: like the head output (time-major (T, B, Q)); char_ce: (T, B) indices

    @property
    def device(self) -> torch.device:
        return self.inputs.device

    @property
    def dtype(self) -> torch.dtype:
        return self.inputs.dtype


def torch_dtype(name: str) -> torch.dtype:
    return {"float32": torch.float32, "float64": torch.float64}[name]


def available_devices() -> list[tuple[str, str]]:
    """(device string, label) for every device torch can use here: cpu, each cuda:N by name, mps."""
    devices = [("cpu", "cpu")]
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            devices.append((f"cuda:{index}", f"cuda:{index} ({torch.cuda.get_device_name(index)})"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append(("mps", "mps (Apple GPU)"))
    return devices


def resolve_device(name: str) -> torch.device:
    """The torch.device for `name`; SpecError when this machine does not have it."""
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise SpecError(f"device {name!r} is not available: torch finds no CUDA device on this machine")
        index = int(name.split(":")[1]) if ":" in name else torch.cuda.current_device()
        if index >= torch.cuda.device_count():
            raise SpecError(f"device {name!r} is not available: this machine has {torch.cuda.device_count()} CUDA device(s)")
        return torch.device("cuda", index)
    mps = getattr(torch.backends, "mps", None)
    if mps is None or not mps.is_available():
        raise SpecError("device 'mps' is not available: torch finds no Apple GPU on this machine")
    return torch.device("mps")


def recurrent_weight_names(module: nn.Module) -> list[str]:
    return [name for name, _ in module.named_parameters() if name.startswith("weight_hh")]


def spectral_radius(matrix: torch.Tensor) -> float:
    """Largest |eigenvalue|. LAPACK's eigenvalue solver runs many short parallel regions; with 2
    intra-op threads on a busy 2-core machine they spin against each other (1024x1024: 19.5 s with
    2 threads, 2.5 s with 1, measured side by side), so it runs on one."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return float(torch.linalg.eigvals(matrix.detach().double().cpu()).abs().max())
    finally:
        torch.set_num_threads(threads)


@torch.no_grad()
def _initialise(module: nn.Module, spec: RNNSpec, progress=None) -> None:
    hidden = spec.hidden_size
    for name, param in module.named_parameters():
        is_recurrent = name.startswith("weight_hh")
        if spec.init == "normal" and name.startswith("weight"):
            param.normal_(0.0, spec.init_sigma)
        elif spec.init == "orthogonal" and is_recurrent:
            for chunk in param.split(hidden, dim=0):  # one square block per gate
                nn.init.orthogonal_(chunk)
        elif spec.init == "identity":
            if is_recurrent:
                param.copy_(torch.eye(hidden))
            elif name.startswith("bias"):
                param.zero_()
    if spec.forget_bias is not None:  # LSTM gate order is i, f, g, o
        for name, param in module.named_parameters():
            if name.startswith("bias_ih"):
                param[hidden:2 * hidden] = spec.forget_bias
            elif name.startswith("bias_hh"):
                param[hidden:2 * hidden] = 0.0
    if spec.whh_scale is not None:
        chunks = [chunk for name in recurrent_weight_names(module) for chunk in module.get_parameter(name).split(hidden, dim=0)]
        for index, chunk in enumerate(chunks):
            if progress is not None:  # eigenvalues of an (H, H) block: seconds at H = 2048, may raise to cancel
                progress(index, len(chunks), f"W_hh spectral radius, block {index + 1} of {len(chunks)} ({hidden}x{hidden})")
            # An orthogonal block (orthogonal or identity init) has every |eigenvalue| = 1.
            radius = 1.0 if spec.init in ("orthogonal", "identity") else spectral_radius(chunk)
            if radius > 0:
                chunk.mul_(spec.whh_scale / radius)


def _make_inputs(spec: RNNSpec, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Time-major (T, B, I) input and, for text, the (T, B) next-character indices."""
    T, B, I = spec.seq_len, spec.batch_size, spec.input_size
    if spec.input_source == "randn":
        return torch.randn(T, B, I, generator=generator, dtype=torch.float64), None
    if spec.input_source == "sine":
        t = torch.arange(T, dtype=torch.float64).view(T, 1, 1)
        freq = 0.5 + 2.5 * torch.rand(1, B, I, generator=generator, dtype=torch.float64)
        phase = 2 * math.pi * torch.rand(1, B, I, generator=generator, dtype=torch.float64)
        return torch.sin(2 * math.pi * freq * t / max(T, 1) + phase), None
    vocab = text_vocabulary(spec.text)
    codes = torch.tensor([vocab.index(ch) for ch in spec.text])
    max_start = len(spec.text) - 1 - T
    starts = [(b * 3) % (max_start + 1) for b in range(B)]  # a different window per batch element
    index = torch.stack([codes[s:s + T] for s in starts], dim=1)           # (T, B)
    targets = torch.stack([codes[s + 1:s + T + 1] for s in starts], dim=1)  # (T, B)
    return F.one_hot(index, len(vocab)).to(torch.float64), targets


def build(spec: RNNSpec, memory_budget=None, progress=None) -> Built:
    """The module, head, inputs, h0 and target for `spec`: the same spec always gives the same numbers.

    `progress(done, total, what)`, when given, is called before each slow step (the W_hh rescale
    for whh_scale); it may raise (rnnviz.errors.Cancelled) to stop the build.

    Everything is drawn on the CPU from `spec.seed`, then moved, so a CUDA build holds the very
    same weights and inputs as a CPU build. A spec whose recording would not fit the memory
    budget (see engine/memory.py), even with its large arrays on disk, is refused before anything
    is allocated.
    """
    check_spec_memory(spec, memory_budget)
    device = resolve_device(spec.device)
    dtype = torch_dtype(spec.dtype)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed)
        module = _new_module(spec)
        _initialise(module, spec, progress)
        head = nn.Linear(spec.out_features, spec.output_size) if spec.output_size else None
        generator = torch.Generator().manual_seed(spec.seed + 1)
        inputs, char_targets = _make_inputs(spec, generator)
        states = spec.num_layers * spec.num_directions
        shape = (spec.batch_size, spec.hidden_size) if spec.is_cell else (states, spec.batch_size, spec.hidden_size)
        h0 = torch.zeros(shape, dtype=torch.float64)
        target = char_targets
        if spec.loss == "mse":
            target = torch.randn(spec.seq_len, spec.batch_size, spec.head_features, generator=generator, dtype=torch.float64)
    module = module.to(device=device, dtype=dtype)
    if head is not None:
        head = head.to(device=device, dtype=dtype)
    if spec.batch_first:
        inputs = inputs.transpose(0, 1).contiguous()
    inputs = inputs.to(device=device, dtype=dtype)
    h0 = h0.to(device=device, dtype=dtype)
    hidden = (h0, h0.clone()) if spec.base_kind == "lstm" else h0
    if target is not None:
        target = target.to(device=device, dtype=torch.long if spec.loss == "char_ce" else dtype)
    return Built(spec, module, head, inputs, hidden, target)


def check_spec_memory(spec: RNNSpec, memory_budget=None) -> None:
    """MemoryBudgetError unless the spec's recording fits the budget in memory, or (a module, not a
    cell) with its large arrays on disk (engine/long_record.py)."""
    needed = estimate_spec(spec)
    if spec.is_cell or needed.peak <= budget_bytes(memory_budget):
        check_memory(needed, memory_budget, what=describe_spec(spec))
        return
    plan_spool(spec.base_kind, spec.num_layers, spec.num_directions, spec.seq_len, spec.batch_size, spec.input_size,
               spec.hidden_size, itemsize=8 if spec.dtype == "float64" else 4, bias=spec.bias,
               head_features=spec.output_size, budget=memory_budget, what=describe_spec(spec))


def _new_module(spec: RNNSpec) -> nn.Module:
    cls = _MODULES[spec.kind]
    if spec.kind == "rnn_cell":
        return cls(spec.input_size, spec.hidden_size, bias=spec.bias, nonlinearity=spec.nonlinearity)
    if spec.is_cell:
        return cls(spec.input_size, spec.hidden_size, bias=spec.bias)
    kwargs = dict(num_layers=spec.num_layers, bias=spec.bias, batch_first=spec.batch_first,
                  dropout=spec.dropout, bidirectional=spec.bidirectional)
    if spec.kind == "rnn":
        kwargs["nonlinearity"] = spec.nonlinearity
    return cls(spec.input_size, spec.hidden_size, **kwargs)


def compute_loss(loss: str, out: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
    """The scalar loss of a time-major (T, B, F) output.

    sum: out.sum(); last: out[-1].sum(); mse: mean squared error to `target`;
    char_ce: cross-entropy of `out` as logits against the (T, B) next-character indices.
    A 0-d `out` (a head that returns the loss) is the loss itself.
    """
    if out.dim() == 0:
        return out
    if loss == "sum":
        return out.sum()
    if loss == "last":
        return out[-1].sum()
    if target is None:
        raise SpecError(f"loss {loss!r} needs a target")
    if loss == "mse":
        return F.mse_loss(out, target)
    if loss == "char_ce":
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), target.reshape(-1))
    raise SpecError(f"loss must be one of sum, last, mse, char_ce, got {loss!r}")
