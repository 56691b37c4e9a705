"""Training the character models, one iteration at a time.

`Trainer(config).iterations()` is a plain generator that yields one IterationRecord per
optimizer step: the GUI runs it in a superqt generator worker (pause/abort between yields),
the CLI just loops over it. Each record carries what the live panels need (loss, gradient
norm before and after clipping, per-parameter gradient norms, the per-timestep |dL/dh_t|
profile) and a copy of the weights the step started from plus its batch, so any iteration
can be reopened in the step-through debugger exactly.

No Qt here: engine code is torch + numpy only.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .charmodel import make_model, one_hot, sample
from .config import DEFAULT_LR, MODEL_KINDS, OPTIMIZERS, TRAIN_FIELDS, IterationRecord, TrainConfig, TrainConfigError  # noqa: F401 - re-exported

SMALL_MODEL_PARAMETERS = 200_000
SAMPLE_MAX = 80  # characters of a live sample


class TextFileError(ValueError):
    """A training text file that is missing, unreadable, empty or not text."""


def load_text(path: str | Path) -> str:
    """The UTF-8 text of `path`, or TextFileError with a one-line reason."""
    path = Path(path)
    if not path.exists():
        raise TextFileError(f"text file not found: {path}")
    if path.is_dir():
        raise TextFileError(f"text file is a directory: {path}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TextFileError(f"cannot read text file {path}: {exc.strerror or exc}") from None
    if not data.strip():
        raise TextFileError(f"text file is empty: {path}")
    # A NUL byte never occurs in text; decoding alone would accept many binary files.
    if b"\x00" in data:
        raise TextFileError(f"text file looks binary (contains NUL bytes): {path}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TextFileError(f"text file is not UTF-8 text (byte {exc.start}): {path}") from None
    return text.removesuffix("\n")  # the editor's final newline is not part of the lesson text


def windows(text_indices: list[int], seq_length: int) -> list[tuple[list[int], list[int]]]:
    """Consecutive (input, target) windows; the last one may be shorter."""
    out = []
    for start in range(0, len(text_indices) - 1, seq_length):
        chunk = text_indices[start : start + seq_length + 1]
        out.append((chunk[:-1], chunk[1:]))
    return out


def _grad_norm(params) -> float:
    grads = [p.grad.detach().flatten() for p in params if p.grad is not None]
    return float(torch.linalg.vector_norm(torch.cat(grads))) if grads else 0.0


class Trainer:
    """Owns the model and optimizer of one run; `iterations()` trains and yields records.

    `sample_prefix` may be reassigned while the generator runs (the GUI does, from its own
    thread): it is read once per sample, and a plain str assignment is atomic in CPython.
    """

    def __init__(self, config: TrainConfig):
        self.config = config
        self.vocab = config.vocab
        self.index = {c: i for i, c in enumerate(self.vocab)}
        self.sample_prefix = config.sample_prefix
        torch.manual_seed(config.seed)
        self.model = make_model(config.model, len(self.vocab), config.hidden_size)
        params = list(self.model.parameters())
        if config.optimizer == "sgd":
            self.optimizer = torch.optim.SGD(params, lr=config.learning_rate)
        else:
            self.optimizer = torch.optim.Adam(params, lr=config.learning_rate)
        self.loss_fn = nn.NLLLoss()
        self.windows = windows([self.index[c] for c in config.text], config.seq_length)
        self.stop_requested = False

    def sample(self, prefix: str | None = None, n: int | None = None) -> str:
        prefix = self.sample_prefix if prefix is None else prefix
        if n is None:  # the text's length ("hello world" from "h"), at most a line of a long text
            n = self.config.sample_length or max(1, min(len(self.config.text), SAMPLE_MAX) - len(prefix))
        return sample(self.model, prefix, n, self.vocab)

    def step(self, inputs: list[int], targets: list[int]) -> tuple[float, float, float, dict, np.ndarray, dict | None]:
        """One forward/backward/clip/update on a window. Returns its numbers."""
        # A character model has a few thousand parameters: torch's intra-op threads cost more
        # than they give (measured: 200 epochs of "hello world" 1.7-3.0 s with the default
        # threads on 2 busy cores, 0.4 s with one).
        threads = torch.get_num_threads()
        small = sum(p.numel() for p in self.model.parameters()) < SMALL_MODEL_PARAMETERS
        if small:
            torch.set_num_threads(1)
        try:
            return self._step(inputs, targets)
        finally:
            if small:
                torch.set_num_threads(threads)

    def _step(self, inputs, targets):
        weights = None
        if self.config.keep_weights:
            weights = {k: v.detach().numpy().copy() for k, v in self.model.state_dict().items()}
        x = one_hot(torch.tensor(inputs), len(self.vocab))  # (T, 1, V)
        y = torch.tensor(targets)  # (T,)
        # A fresh zero state per window: each iteration is self-contained, so reopening it in
        # the debugger (weights + batch + h0 = 0) reproduces it exactly.
        self.optimizer.zero_grad()
        k = self.config.truncation
        if k is not None and k < len(inputs):
            loss, profile = self._truncated_backward(x, y, k)
        else:
            log_probs, hiddens, _ = self.model.run_sequence(x)
            for h in hiddens:
                h.retain_grad()
            loss = self.loss_fn(log_probs[:, 0], y)
            loss.backward()
            profile = np.array([float(h.grad.norm()) if h.grad is not None else 0.0 for h in hiddens])
        param_norms = {n: float(p.grad.norm()) for n, p in self.model.named_parameters() if p.grad is not None}
        params = list(self.model.parameters())
        if self.config.clip is not None:
            before = float(torch.nn.utils.clip_grad_norm_(params, self.config.clip))
            after = _grad_norm(params)
        else:
            before = after = _grad_norm(params)
        self.optimizer.step()
        return float(loss.detach()), before, after, param_norms, profile, weights

    def _truncated_backward(self, x, y, k: int):
        """Truncated BPTT(k): the loss term at s backpropagates through h_s, ..., h_{s-k+1} only.

        Each window restarts from the detached state before it, so the summed gradient is exactly
        the part rnnviz.engine.truncation.truncation_split keeps. Returns (the full loss, ‖kept
        dL/dh_t‖ per t). T windows of at most k steps: fine for character windows."""
        T = x.shape[0]
        with torch.no_grad():
            log_probs, _, _ = self.model.run_sequence(x)
            loss = self.loss_fn(log_probs[:, 0], y)
            states, state = [], None
            for t in range(T):
                _, _, state = self.model.run_sequence(x[t:t + 1], state)
                states.append(state)
        kept: list = [None] * T
        for s in range(T):
            start = max(0, s - k + 1)
            window, hiddens, _ = self.model.run_sequence(x[start:s + 1], None if start == 0 else states[start - 1])
            for h in hiddens:
                h.retain_grad()
            (nn.functional.nll_loss(window[-1], y[s:s + 1]) / T).backward()  # NLLLoss averages over the T terms
            for i, h in enumerate(hiddens):
                if h.grad is not None:
                    kept[start + i] = h.grad if kept[start + i] is None else kept[start + i] + h.grad
        return loss, np.array([float(g.norm()) if g is not None else 0.0 for g in kept])

    def iterations(self):
        """Train `config.epochs` epochs; yield an IterationRecord after every step.

        Set `stop_requested` (or close the generator) to end early.
        """
        cfg = self.config
        start = time.perf_counter()
        iteration = 0
        for epoch in range(1, cfg.epochs + 1):
            for w, (inputs, targets) in enumerate(self.windows):
                if self.stop_requested:
                    return
                loss, before, after, param_norms, profile, weights = self.step(inputs, targets)
                text = None
                if cfg.sample_every and self.sample_prefix and (
                    (iteration + 1) % cfg.sample_every == 0 or iteration + 1 == cfg.total_iterations
                ):
                    try:
                        text = self.sample()
                    except ValueError as exc:  # a prefix typed with characters not in the text
                        text = f"({exc})"
                yield IterationRecord(
                    iteration=iteration, epoch=epoch, loss=loss, grad_norm=before, grad_norm_clipped=after,
                    clipped=cfg.clip is not None and before > cfg.clip, param_grad_norms=param_norms,
                    hidden_grad_norms=profile, inputs=np.array(inputs), targets=np.array(targets),
                    weights=weights, epoch_end=w == len(self.windows) - 1,
                    total_iterations=cfg.total_iterations, elapsed_s=time.perf_counter() - start, sample=text,
                )
                iteration += 1


def train(config: TrainConfig, on_record=None):
    """Run a whole training; returns (TrainingHistory, Trainer). `on_record(record)` sees each step."""
    from .history import TrainingHistory

    trainer = Trainer(config)
    history = TrainingHistory(config, trainer.vocab, [n for n, _ in trainer.model.named_parameters()])
    for record in trainer.iterations():
        history.append(record)
        if on_record is not None:
            on_record(record)
    return history, trainer


@dataclass
class DebugRun:
    """One training iteration as the debugger takes it: that iteration's weights and batch.

    `module` is the trained model itself for 'tutorial' (record() steps any module with the
    cell signature forward(input, hidden)), else the nn.RNN/GRU/LSTM with `head` its Linear.
    `inputs` (T, 1, V) one-hot, `target` (T, 1) next-character indices, h0 = zeros. The loss
    'char_ce' is cross-entropy; on the tutorial's log-probabilities it equals its NLLLoss
    (log_softmax of log-probabilities is the identity).
    """

    module: nn.Module
    head: nn.Linear | None
    inputs: torch.Tensor
    target: torch.Tensor
    loss: str = "char_ce"

    def trace(self):
        """The complete Trace (forward and backward) of this iteration, via rnnviz.record."""
        from ..engine.record import record

        return record(self.module, self.inputs, head=self.head, loss=self.loss, target=self.target)


def debug_run(model_kind: str, weights: dict[str, np.ndarray], inputs, targets, vocab_size: int) -> DebugRun:
    """Rebuild an iteration from its weights copy and batch, for the step-through debugger."""
    w = {k: torch.as_tensor(np.asarray(v)) for k, v in weights.items()}
    x = one_hot(torch.as_tensor(np.asarray(inputs)), vocab_size)
    y = torch.as_tensor(np.asarray(targets))[:, None]
    if model_kind == "tutorial":
        model = make_model("tutorial", vocab_size, w["i2h.weight"].shape[0])
        model.load_state_dict(w)
        return DebugRun(model, None, x, y)
    hidden = w["head.weight"].shape[1]
    module = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[model_kind](vocab_size, hidden)
    head = nn.Linear(hidden, vocab_size)
    module.load_state_dict({k.removeprefix("rnn."): v for k, v in w.items() if k.startswith("rnn.")})
    head.load_state_dict({k.removeprefix("head."): v for k, v in w.items() if k.startswith("head.")})
    return DebugRun(module, head, x, y)


def iteration_run(history, iteration: int) -> DebugRun:
    """DebugRun of `history`'s iteration; ValueError when its weights were not kept."""
    weights = history.weights_at(iteration)
    if weights is None:
        nearest = history.nearest_kept(iteration)
        if nearest is None:
            raise ValueError(f"iteration {iteration}'s weights were not kept (keep_weights is off)")
        raise ValueError(f"iteration {iteration}'s weights were dropped to stay within the memory budget "
                         f"(every {history.weights_stride}th is kept); the nearest kept is {nearest}")
    inputs, targets = history.batch_at(iteration)
    return debug_run(history.config.model, weights, inputs, targets, len(history.vocab))


def tutorial_as_nn_rnn(weights: dict[str, np.ndarray], vocab_size: int) -> nn.RNN:
    """The tutorial's hidden update tanh(i2h([X_t, H_{t-1}])) is exactly an nn.RNN with
    W_ih = i2h.weight[:, :V], W_hh = i2h.weight[:, V:], b_ih = i2h.bias, b_hh = 0."""
    weight = torch.as_tensor(np.asarray(weights["i2h.weight"]))
    module = nn.RNN(vocab_size, weight.shape[0])
    with torch.no_grad():
        module.weight_ih_l0.copy_(weight[:, :vocab_size])
        module.weight_hh_l0.copy_(weight[:, vocab_size:])
        module.bias_ih_l0.copy_(torch.as_tensor(np.asarray(weights["i2h.bias"])))
        module.bias_hh_l0.zero_()
    return module
