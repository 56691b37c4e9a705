"""How many threads torch may use in an interactive session."""
from __future__ import annotations

import os


def limit_torch_threads() -> None:
    """One intra-op thread (RNNVIZ_TORCH_THREADS overrides): a cell is a few small matmuls, and on a
    small machine torch's spinning OpenMP threads starve the GUI thread (measured on 2 cores: forward
    cell 0.6 ms with 1 thread, 3.9 ms with 2, and event-loop stalls of 200-300 ms).

    torch is imported here, on first use, so that a window showing a saved trace never loads it."""
    import torch

    torch.set_num_threads(int(os.environ.get("RNNVIZ_TORCH_THREADS", "1")))


def preload_backward_imports() -> None:
    """torch.autograd.grad imports torch.fx.experimental.symbolic_shapes (and with it sympy) on its
    first call with grad_outputs: 300-700 ms measured on 2 cores, which fell on the user's first
    Backward step. An interactive session imports it once, in the worker, after its first build."""
    import torch.fx.experimental.symbolic_shapes  # noqa: F401
