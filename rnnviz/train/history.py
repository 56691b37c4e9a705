"""TrainingHistory: the records of a run as arrays, saved to one .npz (numpy only).

File layout (format 'rnnviz-training', version 1), N iterations, T = the longest window:
  meta                 JSON string: format, format_version, config, vocab, param_names,
                       weight_names, rnnviz/torch versions
  iteration, epoch     (N,) int
  loss                 (N,) float64
  grad_norm            (N,) float64  before clipping
  grad_norm_clipped    (N,) float64  after clipping
  clipped              (N,) bool
  param_grad_norms     (N, P) float64, columns = meta.param_names
  hidden_grad_norms    (N, T) float64, |dL/dh_t|; NaN past a shorter window's end
  inputs, targets      (N, T) int64 character indices; -1 past a window's end
  weights_iteration    (K,) int: iterations whose weights were kept
  weights/<name>       (K, ...) float32, one array per parameter
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .config import IterationRecord, TrainConfig

FORMAT = "rnnviz-training"
FORMAT_VERSION = 1


# Weight copies are what makes "open iteration k" exact, and what grows: a long text trains
# 10^4-10^5 iterations. Past this budget every other kept copy is dropped (k % stride == 0 stay).
WEIGHTS_BUDGET_BYTES = 256 * 2**20


class _Grow:
    """A numpy array that grows by doubling: appending is O(1), reading all rows a view."""

    def __init__(self, dtype, width: int | None = None, fill=0):
        self.dtype, self.width, self.fill, self.n = dtype, width, fill, 0
        self.data = np.full((16,) if width is None else (16, width), fill, dtype=dtype)

    def append(self, value) -> None:
        if self.n == len(self.data):
            grown = np.full((2 * len(self.data),) + self.data.shape[1:], self.fill, dtype=self.dtype)
            grown[: self.n] = self.data
            self.data = grown
        if self.width is None:
            self.data[self.n] = value
        else:
            value = np.asarray(value)
            if value.shape[0] > self.data.shape[1]:  # a longer window than any before: widen
                wider = np.full((len(self.data), value.shape[0]), self.fill, dtype=self.dtype)
                wider[:, : self.data.shape[1]] = self.data
                self.data = wider
            self.data[self.n, : value.shape[0]] = value
        self.n += 1

    def values(self) -> np.ndarray:
        return self.data[: self.n]


class TrainingHistory:
    """The records of one run; columns kept as growing arrays so the live panels read them
    at display rate without walking every record."""

    def __init__(self, config, vocab: list[str], param_names: list[str], weights_budget: int = WEIGHTS_BUDGET_BYTES):
        self.config = config
        self.vocab = list(vocab)
        self.param_names = list(param_names)
        self.records = []  # IterationRecord (weights moved out into _weights)
        self._weights: dict[int, dict[str, np.ndarray]] = {}
        self._weights_bytes = 0
        self.weights_budget = weights_budget
        self.weights_stride = 1  # kept copies: iterations k with k % stride == 0
        self._cols = {name: _Grow(dtype) for name, dtype in (("loss", float), ("grad_norm", float),
                      ("grad_norm_clipped", float), ("clipped", bool), ("epoch", int))}
        self._params = _Grow(float, len(self.param_names), np.nan)
        self._image = _Grow(float, 1, np.nan)
        self._epoch_numbers, self._epoch_means, self._epoch_ends, self._current = [], [], [], []

    def append(self, record) -> None:
        weights, record.weights = record.weights, None
        if weights is not None and record.iteration % self.weights_stride == 0:
            self._keep_weights(record.iteration, weights)
        self.records.append(record)
        for name, column in self._cols.items():
            column.append(getattr(record, name))
        self._params.append([record.param_grad_norms.get(n, np.nan) for n in self.param_names])
        self._image.append(record.hidden_grad_norms)
        self._current.append(record.loss)
        if record.epoch_end:
            self._epoch_numbers.append(record.epoch)
            self._epoch_means.append(float(np.mean(self._current)))
            self._epoch_ends.append(record.iteration)
            self._current = []

    def _keep_weights(self, iteration: int, weights: dict) -> None:
        self._weights[iteration] = weights
        self._weights_bytes += sum(w.nbytes for w in weights.values())
        while self._weights_bytes > self.weights_budget and len(self._weights) > 1:
            self.weights_stride *= 2
            for k in [k for k in self._weights if k % self.weights_stride]:
                self._weights_bytes -= sum(w.nbytes for w in self._weights.pop(k).values())

    def __len__(self) -> int:
        return len(self.records)

    # -- arrays for the panels ---------------------------------------------------------
    @property
    def losses(self) -> np.ndarray:
        return self._cols["loss"].values()

    @property
    def grad_norms(self) -> np.ndarray:
        return self._cols["grad_norm"].values()

    @property
    def grad_norms_clipped(self) -> np.ndarray:
        return self._cols["grad_norm_clipped"].values()

    @property
    def clipped(self) -> np.ndarray:
        return self._cols["clipped"].values()

    @property
    def epochs(self) -> np.ndarray:
        return self._cols["epoch"].values()

    def epoch_losses(self) -> tuple[np.ndarray, np.ndarray]:
        """(epoch numbers, mean loss of each epoch's iterations), completed epochs only."""
        return np.array(self._epoch_numbers, dtype=int), np.array(self._epoch_means)

    def epoch_end_iterations(self) -> np.ndarray:
        """The last iteration of each completed epoch (x of the per-epoch loss)."""
        return np.array(self._epoch_ends, dtype=int)

    def param_grad_norm_matrix(self) -> np.ndarray:
        """(N, P) per-parameter gradient norms, columns in `param_names` order."""
        return self._params.values()

    def hidden_grad_image(self) -> np.ndarray:
        """(N, T) |dL/dh_t| per iteration (rows) and timestep (columns); NaN-padded."""
        return self._image.values()

    def nearest_kept(self, iteration: int) -> int | None:
        """The kept iteration closest to `iteration` (weights thinned past the budget)."""
        return min(self._weights, key=lambda k: abs(k - iteration), default=None)

    def weights_at(self, iteration: int) -> dict[str, np.ndarray] | None:
        """The parameters iteration `iteration` started from, or None when not kept."""
        return self._weights.get(iteration)

    def batch_at(self, iteration: int) -> tuple[np.ndarray, np.ndarray]:
        r = self.records[iteration]
        return np.asarray(r.inputs), np.asarray(r.targets)

    # -- files ---------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        from rnnviz.version import __version__

        try:
            import torch

            torch_version = torch.__version__
        except ImportError:  # pragma: no cover - torch is a dependency
            torch_version = None
        n = len(self.records)
        width = max((len(r.inputs) for r in self.records), default=0)
        inputs = np.full((n, width), -1, dtype=np.int64)
        targets = np.full((n, width), -1, dtype=np.int64)
        for i, r in enumerate(self.records):
            inputs[i, : len(r.inputs)] = r.inputs
            targets[i, : len(r.targets)] = r.targets
        kept = sorted(self._weights)
        weight_names = list(self._weights[kept[0]]) if kept else []
        meta = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "config": self.config.to_dict(),
            "vocab": self.vocab, "param_names": self.param_names, "weight_names": weight_names,
            "epoch_end": [bool(r.epoch_end) for r in self.records],
            "samples": {str(r.iteration): r.sample for r in self.records if r.sample is not None},
            "rnnviz_version": __version__, "torch_version": torch_version,
        }
        arrays = {
            "meta": np.array(json.dumps(meta)),
            "iteration": np.array([r.iteration for r in self.records], dtype=np.int64),
            "epoch": self.epochs.astype(np.int64),
            "loss": self.losses, "grad_norm": self.grad_norms, "grad_norm_clipped": self.grad_norms_clipped,
            "clipped": self.clipped, "param_grad_norms": self.param_grad_norm_matrix(),
            "hidden_grad_norms": self.hidden_grad_image(), "inputs": inputs, "targets": targets,
            "weights_iteration": np.array(kept, dtype=np.int64),
        }
        for name in weight_names:
            arrays[f"weights/{name}"] = np.stack([self._weights[k][name] for k in kept]).astype(np.float32)
        from ..engine.atomic import write_atomically

        # a file handle: np.savez would append '.npz' to a bare name
        write_atomically(Path(path), lambda fh: np.savez(fh, **arrays))

    @classmethod
    def load(cls, path: str | Path) -> "TrainingHistory":
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"training history not found: {path}")
        try:
            data = np.load(path, allow_pickle=False)
            meta = json.loads(str(data["meta"]))
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(f"not an rnnviz training history: {path} ({exc})") from None
        if meta.get("format") != FORMAT:
            raise ValueError(f"not an rnnviz training history: {path} (format {meta.get('format')!r})")
        if meta.get("format_version", 0) > FORMAT_VERSION:
            raise ValueError(
                f"{path} is training format version {meta['format_version']}; this rnnviz reads up to "
                f"{FORMAT_VERSION}: upgrade rnnviz"
            )
        history = cls(TrainConfig(**meta["config"]), meta["vocab"], meta["param_names"], weights_budget=2**62)
        kept = {int(k): i for i, k in enumerate(data["weights_iteration"])}
        weights = {name: data[f"weights/{name}"] for name in meta["weight_names"]}
        samples = meta.get("samples", {})
        n = len(data["iteration"])
        for i in range(n):
            length = int((data["inputs"][i] >= 0).sum())
            it = int(data["iteration"][i])
            record = IterationRecord(
                iteration=it, epoch=int(data["epoch"][i]), loss=float(data["loss"][i]),
                grad_norm=float(data["grad_norm"][i]), grad_norm_clipped=float(data["grad_norm_clipped"][i]),
                clipped=bool(data["clipped"][i]),
                param_grad_norms=dict(zip(meta["param_names"], map(float, data["param_grad_norms"][i]))),
                hidden_grad_norms=data["hidden_grad_norms"][i, :length].copy(),
                inputs=data["inputs"][i, :length].copy(), targets=data["targets"][i, :length].copy(),
                weights={name: w[kept[it]] for name, w in weights.items()} if it in kept else None,
                epoch_end=bool(meta["epoch_end"][i]), total_iterations=n, elapsed_s=0.0,
                sample=samples.get(str(it)),
            )
            history.append(record)
        return history
