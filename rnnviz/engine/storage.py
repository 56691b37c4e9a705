"""Where a Trace's large (L, D, T, B, H) arrays live when the run did not fit the memory budget.

A spooled trace's hidden, hidden_grad, cell and gates are read-only memory maps of the files of
its Spool (engine/spool.py): any reader that slices them reads only what it touches. What the
panels draw of the whole time axis without touching the disk is kept here in memory: the
overview, every `overview_step`-th timestep of each large array exactly (at `overview_times`),
and where any entry was NaN or Inf (the trace's own per-timestep norms are exact and in memory).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .memory import MemoryEstimate
from .spool import Spool


@dataclass
class SpooledStorage:
    spool: Spool | None             # None: the overview of a trace held in memory (window.in_memory_overview)
    chunk: int                      # timesteps in memory at once while recording
    overview_step: int              # R: the overview keeps t = 0, R, 2R, ...
    overview_times: np.ndarray      # (T_o,) those t
    overview: dict                  # hidden, hidden_grad, cell: (L, D, T_o, B, H); gates: name -> (L, D, T_o, B, H)
    bad: dict = field(default_factory=dict)   # hidden, hidden_grad, cell: (L, D, T) True where a NaN/Inf is
    estimate: MemoryEstimate | None = None    # what the recording kept in memory

    @property
    def disk_bytes(self) -> int:
        return 0 if self.spool is None else self.spool.nbytes

    def close(self) -> None:
        """Delete the files now (the trace's memory maps stay readable until dropped)."""
        if self.spool is not None:
            self.spool.close()
