"""argparse types that check ranges, so a bad value is refused by name instead of silently replaced.

argparse prefixes the message with the option ("argument --hidden-size: must be an integer from
1 to 65536, got '0'"), so each message says only what is allowed and what was given.
"""
from __future__ import annotations

import argparse
import math


def int_in(low: int, high: int | None = None):
    """An int in [low, high] (no upper bound when `high` is None)."""
    allowed = f"an integer from {low} to {high}" if high is not None else f"an integer >= {low}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {value}")
        return value

    parse.__name__ = "integer"  # argparse names the type in its own fallback message
    return parse


def float_in(low: float, high: float | None = None, *, low_inclusive: bool = False):
    """A finite float above `low` (or equal, with low_inclusive) and at most `high`."""
    above = f">= {low:g}" if low_inclusive else f"> {low:g}"
    allowed = f"a number {above}" + (f" and <= {high:g}" if high is not None else "")

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}") from None
        ok = math.isfinite(value) and (value >= low if low_inclusive else value > low) and (high is None or value <= high)
        if not ok:
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


def window_size(text: str) -> tuple[int, int]:
    """'WIDTHxHEIGHT', each from 200 to 10000."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be WIDTHxHEIGHT, e.g. 1600x1000, got {text!r}") from None
    if not (200 <= width <= 10000 and 200 <= height <= 10000):
        raise argparse.ArgumentTypeError(f"must be between 200x200 and 10000x10000, got {text!r}")
    return width, height


def schedule_point(text: str) -> str:
    """'end', 'forward:T' or 'backward:T' with T an integer >= 0 (checked against the run's length later)."""
    if text == "end":
        return text
    phase, colon, value = text.partition(":")
    if phase not in ("forward", "backward") or not colon or not value.isdigit():
        raise argparse.ArgumentTypeError(f"must be end, forward:T or backward:T with T an integer >= 0, got {text!r}")
    return f"{phase}:{int(value)}"
