"""One-line, user-facing messages for errors from specs, files and torch."""
from __future__ import annotations


def user_message(exc: BaseException) -> str:
    """A single readable line for `exc`: no traceback, no internal frames."""
    text = str(exc).strip() or type(exc).__name__
    first = text.splitlines()[0]
    lowered = text.lower()
    if "out of memory" in lowered:
        return "the device ran out of memory: " + first
    if isinstance(exc, (ValueError, FileNotFoundError, OSError, KeyError, RuntimeError, TypeError)):
        return first
    return f"{type(exc).__name__}: {first}"


class NonFiniteWarning(RuntimeWarning):
    """A run produced NaN or Inf. Filter it (warnings.simplefilter("ignore", NonFiniteWarning)) or
    turn it into an error (warnings.simplefilter("error", NonFiniteWarning); pytest -W error::...)."""
