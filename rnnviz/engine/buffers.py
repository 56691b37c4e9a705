"""Large CPU buffers for whole-run recording, recycled from one run to the next.

A page of fresh memory costs a fault the first time it is written, and on this project's
machines that is about 0.4 ms per MiB (16 MiB: 7 ms filled fresh, 0.4 ms filled again), so a
recording that writes 100 MiB of states, gates and gradients into new memory spent a tenth of
its time in the kernel; torch's own module writes little new memory. The arrays a Trace keeps
must still be the trace's own, so a buffer is handed out again only once nothing refers to it:
each block is a numpy array whose memory every tensor and array made from it keeps alive
(torch.from_numpy holds a reference to it), so a block whose reference count is back to the
pool's own is free. The pool holds at most POOL_BYTES, in use or free; free blocks stay for
the next run until a new block needs their room or `release()` returns them to the system.
"""
from __future__ import annotations

import sys
import threading

import numpy as np
import torch

MIN_BYTES = 1 << 20          # smaller buffers come from the C heap, which already reuses its memory
POOL_BYTES = 512 << 20       # the pool's blocks, in use or free, total at most this; beyond it plain torch.empty

_lock = threading.Lock()
_blocks: list[np.ndarray] = []   # uint8 arrays; free when only this list refers to them


def _is_free(index: int) -> bool:
    # references: the list's entry and getrefcount's argument
    return sys.getrefcount(_blocks[index]) == 2


def empty(*shape: int, dtype: torch.dtype, device: torch.device | str = "cpu") -> torch.Tensor:
    """torch.empty(shape, dtype=dtype, device=device), recycling a free block of the pool when it
    is large and on the CPU. The pool as a whole stays under POOL_BYTES: a new block first
    returns the least recently used free ones to the system, as many as it takes; a request
    larger than that gets plain torch.empty."""
    if torch.device(device).type != "cpu":
        return torch.empty(*shape, dtype=dtype, device=device)
    count = 1
    for size in shape:
        count *= size
    nbytes = count * dtype.itemsize
    if nbytes < MIN_BYTES:
        return torch.empty(*shape, dtype=dtype)
    with _lock:
        best = None
        for index in range(len(_blocks)):
            size = _blocks[index].nbytes
            # a block up to twice as large will do; the smallest such one
            if nbytes <= size <= 2 * nbytes and _is_free(index) and (best is None or size < _blocks[best].nbytes):
                best = index
        if best is None:
            _trim(keep=POOL_BYTES - nbytes)
            if sum(block.nbytes for block in _blocks) + nbytes > POOL_BYTES:
                return torch.empty(*shape, dtype=dtype)
            _blocks.append(np.empty(nbytes, dtype=np.uint8))
        else:
            _blocks.append(_blocks.pop(best))   # the list runs from least to most recently used
        return torch.from_numpy(_blocks[-1][:nbytes]).view(dtype).view(*shape)


def empty_like(tensor: torch.Tensor) -> torch.Tensor:
    """empty() with the shape, dtype and device of `tensor` (always contiguous)."""
    return empty(*tensor.shape, dtype=tensor.dtype, device=tensor.device)


def _trim(keep: int) -> None:
    """Drop free blocks, least recently used first, until all blocks total at most `keep` bytes."""
    total = sum(block.nbytes for block in _blocks)
    index = 0
    while total > keep and index < len(_blocks):
        if _is_free(index):
            total -= _blocks.pop(index).nbytes
        else:
            index += 1


def release() -> None:
    """Return every free block to the system (blocks still in use stay until the next call)."""
    with _lock:
        _trim(keep=0)


def held_bytes() -> tuple[int, int]:
    """(bytes in blocks still referred to, bytes in free blocks kept for the next run)."""
    with _lock:
        free = [_is_free(i) for i in range(len(_blocks))]
        used = sum(b.nbytes for b, f in zip(_blocks, free) if not f)
        return used, sum(b.nbytes for b, f in zip(_blocks, free) if f)
