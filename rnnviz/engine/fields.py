"""One table row per setting: its type, choices, range, label and the kinds it applies to.

The spec (RNNSpec) and the training settings (TrainConfig) each export a table of Fields; their
validation and the window's forms both read it, so a rule is written once. A value out of its
field's rule raises FieldError (a ValueError) whose `.field` names the field.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


class FieldError(ValueError):
    """A setting that is out of range or of the wrong type; `.field` names it (None: no single field)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _number(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class Field:
    name: str
    type: type                      # int, float, bool or str
    label: str = ""                 # what a form shows ('' = the name)
    choices: tuple = ()             # the allowed values, when a fixed set
    low: float | None = None
    high: float | None = None
    low_open: bool = False          # True: low itself is not allowed
    high_open: bool = False
    optional: bool = False          # None allowed ("off")
    kinds: tuple = ()               # the kinds it applies to; () = every kind
    help: str = ""

    @property
    def title(self) -> str:
        return self.label or self.name

    def applies_to(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds

    def check(self, value, error: type[FieldError] = FieldError) -> None:
        """Raise `error(message, field=name)` when `value` breaks this field's own rule."""
        name = self.name
        if value is None and self.optional:
            return
        if self.choices:
            if value not in self.choices:
                raise error(f"{name} must be one of {', '.join(map(str, self.choices))}, got {value!r}", field=name)
            return
        expected = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}[self.type]
        if self.optional:
            expected += " or null"
        kinds = (int, float) if self.type is float else (self.type,)
        # bool is an int subclass; a checkbox value in a number field is a mistake.
        if (isinstance(value, bool) and self.type is not bool) or not isinstance(value, kinds):
            raise error(f"{name} must be {expected}, got {value!r}", field=name)
        if self.type is int:
            if self.high is not None and not self.low <= value <= self.high:
                raise error(f"{name} must be between {self.low} and {self.high}, got {value}", field=name)
            if self.high is None and self.low is not None and value < self.low:
                raise error(f"{name} must be at least {self.low}, got {value}", field=name)
        elif self.type is float:
            if self.low is None and self.high is None:
                if not math.isfinite(value):
                    raise error(f"{name} must be a finite number, got {value}", field=name)
                return
            parts = []
            ok = math.isfinite(value)
            if self.low is not None:
                parts.append(f"{'>' if self.low_open else '>='} {_number(self.low)}")
                ok = ok and (value > self.low if self.low_open else value >= self.low)
            if self.high is not None:
                parts.append(f"{'<' if self.high_open else '<='} {_number(self.high)}")
                ok = ok and (value < self.high if self.high_open else value <= self.high)
            if not ok:
                raise error(f"{name} must be {' and '.join(parts)}, got {value}", field=name)
