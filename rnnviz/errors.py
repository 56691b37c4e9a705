"""One-line, user-facing messages for errors from specs, files and torch."""
from __future__ import annotations

import re

_REQUEST = re.compile(r"allocate (\d+) bytes")


def _allocator_request(text: str) -> str:
    """'tried to allocate 4.0 GiB' from torch's CPU allocator text, without its '[enforce fail at ...]'."""
    match = _REQUEST.search(text)
    if match is None:
        return "a tensor did not fit in memory; try a smaller hidden size, batch or sequence"
    size = int(match.group(1))
    return f"tried to allocate {size / 2**30:.1f} GiB; try a smaller hidden size, batch or sequence"


def user_message(exc: BaseException) -> str:
    """A single readable line for `exc`: no traceback, no internal frames."""
    text = str(exc).strip() or type(exc).__name__
    first = text.splitlines()[0]
    lowered = text.lower()
    if isinstance(exc, MemoryError) or "alloc_cpu" in lowered or "defaultcpuallocator" in lowered:
        return "out of memory: " + _allocator_request(text)
    if "out of memory" in lowered:
        return "out of memory: " + first
    if "can't allocate memory" in lowered:  # the CPU allocator's words when the estimate was too low
        return ("the machine ran out of memory (the estimate was too low for it): reduce seq_len, batch or "
                "hidden size, or lower --memory-budget / RNNVIZ_MEMORY_BUDGET to what the machine has")
    if isinstance(exc, (ValueError, FileNotFoundError, OSError, KeyError, RuntimeError, TypeError)):
        return first
    return f"{type(exc).__name__}: {first}"


class NonFiniteWarning(RuntimeWarning):
    """A run produced NaN or Inf. Filter it (warnings.simplefilter("ignore", NonFiniteWarning)) or
    turn it into an error (warnings.simplefilter("error", NonFiniteWarning); pytest -W error::...)."""


class Cancelled(Exception):
    """Long work stopped at the user's request (Cancel in the window): not a failure."""
