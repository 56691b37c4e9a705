"""One-line, user-facing messages for errors from specs, files and torch."""
from __future__ import annotations


def user_message(exc: BaseException) -> str:
    """A single readable line for `exc`: no traceback, no internal frames."""
    text = str(exc).strip() or type(exc).__name__
    first = text.splitlines()[0]
    lowered = text.lower()
    if "out of memory" in lowered:
        return "the device ran out of memory: " + first
    if "can't allocate memory" in lowered or isinstance(exc, MemoryError):  # the CPU allocator's words
        return ("the machine ran out of memory (the estimate was too low for it): reduce seq_len, batch or "
                "hidden size, or lower --memory-budget / RNNVIZ_MEMORY_BUDGET to what the machine has")
    if isinstance(exc, (ValueError, FileNotFoundError, OSError, KeyError, RuntimeError, TypeError)):
        return first
    return f"{type(exc).__name__}: {first}"
