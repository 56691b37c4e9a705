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

FORMAT = "rnnviz-training"
FORMAT_VERSION = 1


class TrainingHistory:
    def __init__(self, config, vocab: list[str], param_names: list[str]):
        self.config = config
        self.vocab = list(vocab)
        self.param_names = list(param_names)
        self.records = []  # IterationRecord, or light stand-ins after load()
        self._weights: dict[int, dict[str, np.ndarray]] = {}

    def append(self, record) -> None:
        if record.weights is not None:
            self._weights[record.iteration] = record.weights
        self.records.append(record)

    def __len__(self) -> int:
        return len(self.records)

    # -- arrays for the panels ---------------------------------------------------------
    def _column(self, name: str, dtype=float) -> np.ndarray:
        return np.array([getattr(r, name) for r in self.records], dtype=dtype)

    @property
    def losses(self) -> np.ndarray:
        return self._column("loss")

    @property
    def grad_norms(self) -> np.ndarray:
        return self._column("grad_norm")

    @property
    def grad_norms_clipped(self) -> np.ndarray:
        return self._column("grad_norm_clipped")

    @property
    def clipped(self) -> np.ndarray:
        return self._column("clipped", bool)

    @property
    def epochs(self) -> np.ndarray:
        return self._column("epoch", int)

    def epoch_losses(self) -> tuple[np.ndarray, np.ndarray]:
        """(epoch numbers, mean loss of each epoch's iterations), completed epochs only."""
        numbers, means, current = [], [], []
        for r in self.records:
            current.append(r.loss)
            if r.epoch_end:
                numbers.append(r.epoch)
                means.append(float(np.mean(current)))
                current = []
        return np.array(numbers, dtype=int), np.array(means)

    def param_grad_norm_matrix(self) -> np.ndarray:
        """(N, P) per-parameter gradient norms, columns in `param_names` order."""
        return np.array([[r.param_grad_norms.get(n, np.nan) for n in self.param_names] for r in self.records]).reshape(
            len(self.records), len(self.param_names)
        )

    def hidden_grad_image(self) -> np.ndarray:
        """(N, T) |dL/dh_t| per iteration (rows) and timestep (columns); NaN-padded."""
        width = max((len(r.hidden_grad_norms) for r in self.records), default=0)
        image = np.full((len(self.records), width), np.nan)
        for i, r in enumerate(self.records):
            image[i, : len(r.hidden_grad_norms)] = r.hidden_grad_norms
        return image

    def weights_at(self, iteration: int) -> dict[str, np.ndarray] | None:
        """The parameters iteration `iteration` started from, or None when not kept."""
        return self._weights.get(iteration)

    def batch_at(self, iteration: int) -> tuple[np.ndarray, np.ndarray]:
        r = self.records[iteration]
        return np.asarray(r.inputs), np.asarray(r.targets)

    # -- files ---------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        import rnnviz

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
            "rnnviz_version": getattr(rnnviz, "__version__", None), "torch_version": torch_version,
        }
        arrays = {
            "meta": np.array(json.dumps(meta)),
            "iteration": self._column("iteration", np.int64), "epoch": self._column("epoch", np.int64),
            "loss": self.losses, "grad_norm": self.grad_norms, "grad_norm_clipped": self.grad_norms_clipped,
            "clipped": self.clipped, "param_grad_norms": self.param_grad_norm_matrix(),
            "hidden_grad_norms": self.hidden_grad_image(), "inputs": inputs, "targets": targets,
            "weights_iteration": np.array(kept, dtype=np.int64),
        }
        for name in weight_names:
            arrays[f"weights/{name}"] = np.stack([self._weights[k][name] for k in kept]).astype(np.float32)
        with open(path, "wb") as fh:  # a file handle: np.savez would append '.npz' to a bare name
            np.savez(fh, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> "TrainingHistory":
        from .training import IterationRecord, TrainConfig

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
        history = cls(TrainConfig(**meta["config"]), meta["vocab"], meta["param_names"])
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
