"""The training settings (TrainConfig, frozen and validated from its field table) and the record of
one optimizer step. Plain data, no torch: the training history file reads them back."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from ..engine.fields import Field, FieldError
from ..engine.names import MODEL_KINDS
from ..engine.spec import text_vocabulary

OPTIMIZERS = ("sgd", "adam")

# Learning rates that train "hello world" to < 10% of the first loss in 200 epochs for every
# seed we tried (see tests/train/test_training.py); picked by sweeping, not by theory.
DEFAULT_LR = {
    ("tutorial", "sgd"): 0.5, ("rnn", "sgd"): 0.5, ("gru", "sgd"): 1.0, ("lstm", "sgd"): 1.0,
    ("tutorial", "adam"): 0.01, ("rnn", "adam"): 0.01, ("gru", "adam"): 0.01, ("lstm", "adam"): 0.01,
}


class TrainConfigError(FieldError):
    """A training setting out of range; `.field` names it."""


# The one table of training settings: TrainConfig checks it, the training view's form reads it.
TRAIN_FIELDS = (
    Field("model", str, choices=MODEL_KINDS),
    Field("text", str),
    Field("hidden_size", int, low=1),
    Field("seq_length", int, low=1, help="characters per training window; at most len(text) - 1"),
    Field("epochs", int, low=1),
    Field("lr", float, low=0.0, low_open=True, optional=True, help="None: DEFAULT_LR for (model, optimizer)"),
    Field("optimizer", str, choices=OPTIMIZERS),
    Field("clip", float, low=0.0, low_open=True, optional=True, help="max gradient norm; None = no clipping"),
    Field("truncation", int, low=1, optional=True, help="truncated BPTT: each loss term backpropagates k-1 steps at most; None = full"),
    Field("seed", int, low=0),
    Field("keep_weights", bool),
    Field("sample_prefix", str),
    Field("sample_every", int, low=0),
    Field("sample_length", int, low=0),
)


@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run depends on; same config -> same numbers. Never adjusted silently:
    a value out of range raises TrainConfigError naming the field."""

    model: str = "tutorial"
    text: str = "hello world"
    hidden_size: int = 16
    seq_length: int = 10
    epochs: int = 200
    lr: float | None = None  # None: DEFAULT_LR for (model, optimizer)
    optimizer: str = "sgd"
    clip: float | None = None  # max gradient norm; None = no clipping
    truncation: int | None = None  # truncated BPTT: each loss term backpropagates k-1 steps at most; None = full
    seed: int = 0
    keep_weights: bool = True  # a weights copy per iteration, to reopen it in the debugger
    sample_prefix: str = "h"
    sample_every: int = 10  # iterations between live samples (0: never)
    sample_length: int = 0  # generated characters; 0: min(len(text), SAMPLE_MAX) - len(prefix)

    def __post_init__(self) -> None:
        for f in TRAIN_FIELDS:
            f.check(getattr(self, f.name), TrainConfigError)
        if len(self.text) < 2:
            raise TrainConfigError(f"text must have at least 2 characters, got {len(self.text)}", field="text")
        # A window needs one more character for its target.
        if self.seq_length > len(self.text) - 1:
            raise TrainConfigError(f"seq_length must be at most len(text) - 1 = {len(self.text) - 1}, "
                                   f"got {self.seq_length}", field="seq_length")

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[(self.model, self.optimizer)]

    @property
    def vocab(self) -> list[str]:
        return text_vocabulary(self.text)

    @property
    def iterations_per_epoch(self) -> int:
        return math.ceil((len(self.text) - 1) / self.seq_length)

    @property
    def total_iterations(self) -> int:
        return self.epochs * self.iterations_per_epoch

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class IterationRecord:
    """One optimizer step. Norms are 2-norms over all parameters together unless named."""

    iteration: int  # 0-based, over the whole run
    epoch: int  # 1-based
    loss: float  # mean NLL per character of this window
    grad_norm: float  # before clipping (what clip_grad_norm_ returns)
    grad_norm_clipped: float  # after clipping (== grad_norm when clipping did not fire)
    clipped: bool
    param_grad_norms: dict[str, float]
    hidden_grad_norms: np.ndarray  # (T,) |dL/dh_t| of this window, t = 0..T-1
    inputs: np.ndarray  # (T,) character indices fed in
    targets: np.ndarray  # (T,) next-character indices
    weights: dict[str, np.ndarray] | None  # the parameters this step *started* from
    epoch_end: bool  # the last iteration of its epoch
    total_iterations: int
    elapsed_s: float  # since the run started
    sample: str | None = None  # greedy text from the current prefix, every sample_every steps

    @property
    def progress(self) -> float:
        return (self.iteration + 1) / self.total_iterations

    @property
    def eta_s(self) -> float:
        done = self.iteration + 1
        return self.elapsed_s / done * (self.total_iterations - done)
