"""A run's large arrays on disk: .npy files in a private temporary directory.

Rows are written and read with plain positional file I/O (os.pwrite / os.preadv), never through
a writable memory map, so what passes through them sits in the kernel's page cache and not in the
process's resident memory. A finished recording hands its readers read-only np.load(mmap_mode='r')
views of the same files: slicing one reads only the pages it touches. The directory is deleted when
the Spool is closed or garbage collected, and at interpreter exit (weakref.finalize), so nothing is
left behind in the temporary directory. Its place: $RNNVIZ_SPOOL_DIR, else the system's temp dir.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from math import prod

import numpy as np

SPOOL_DIR_ENV = "RNNVIZ_SPOOL_DIR"
DISK_MARGIN = 256 << 20   # left free on the disk beyond what the spool needs


class SpoolSpaceError(ValueError):
    """Not enough free disk space for a run's spool; the message names both sizes."""


def spool_base() -> str:
    return os.environ.get(SPOOL_DIR_ENV) or tempfile.gettempdir()


class SpoolArray:
    """One C-ordered .npy file of `shape`, written and read in runs of rows along axis `time_axis`."""

    def __init__(self, path: str, shape: tuple, dtype, time_axis: int):
        self.path, self.shape, self.dtype, self.time_axis = path, tuple(shape), np.dtype(dtype), time_axis
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": self.shape}
        with open(path, "wb") as handle:
            np.lib.format.write_array_header_2_0(handle, header)
            self.offset = handle.tell()
            handle.truncate(self.offset + self.nbytes)   # sparse until written
        self._fd = os.open(path, os.O_RDWR)
        self.row_bytes = prod(self.shape[time_axis + 1:]) * self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return prod(self.shape) * self.dtype.itemsize

    def _position(self, lead: tuple, start: int) -> int:
        index = 0
        for size, i in zip(self.shape[:self.time_axis], lead):
            index = index * size + i
        return self.offset + (index * self.shape[self.time_axis] + start) * self.row_bytes

    def write(self, lead: tuple, start: int, values: np.ndarray) -> None:
        """Rows start.. of the block `lead` (indices of the axes before time) from `values`."""
        data = memoryview(np.ascontiguousarray(values, dtype=self.dtype)).cast("B")
        position = self._position(lead, start)
        while data:
            written = os.pwrite(self._fd, data, position)
            data, position = data[written:], position + written

    def read(self, lead: tuple, start: int, out: np.ndarray) -> np.ndarray:
        """Rows start..start+len(out) of the block `lead` into `out` (contiguous, this dtype)."""
        view = memoryview(out).cast("B")
        position = self._position(lead, start)
        while view:
            got = os.preadv(self._fd, [view], position)
            if got <= 0:
                raise OSError(f"short read from {self.path}")
            view, position = view[got:], position + got
        return out

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def load(self) -> np.ndarray:
        """The whole array as a read-only memory map of the file."""
        return np.load(self.path, mmap_mode="r", allow_pickle=False)


def _remove(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


class Spool:
    """The directory of one recording's SpoolArrays; `close()` (or garbage collection, or exit) deletes it."""

    def __init__(self, needed_bytes: int, what: str = "this run"):
        base = spool_base()
        os.makedirs(base, exist_ok=True)
        free = shutil.disk_usage(base).free
        if needed_bytes + DISK_MARGIN > free:
            from .memory import format_bytes

            raise SpoolSpaceError(
                f"{what} would keep {format_bytes(needed_bytes)} on disk in {base}, which has only "
                f"{format_bytes(free)} free: free space there, set {SPOOL_DIR_ENV} to a larger disk, "
                f"or reduce seq_len, batch or hidden size")
        self.path = tempfile.mkdtemp(prefix="rnnviz-spool-", dir=base)
        self.arrays: dict[str, SpoolArray] = {}
        self._finalizer = weakref.finalize(self, _remove, self.path)

    def create(self, name: str, shape: tuple, dtype, time_axis: int) -> SpoolArray:
        array = SpoolArray(os.path.join(self.path, f"{name}.npy"), shape, dtype, time_axis)
        self.arrays[name] = array
        return array

    def finish(self) -> dict[str, np.ndarray]:
        """Close the writers; read-only memory maps of every array, by name."""
        for array in self.arrays.values():
            array.close()
        return {name: array.load() for name, array in self.arrays.items()}

    @property
    def nbytes(self) -> int:
        return sum(array.nbytes for array in self.arrays.values())

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        """Delete the files now (memory maps already open stay readable until dropped, on POSIX)."""
        for array in self.arrays.values():
            array.close()
        self._finalizer()
