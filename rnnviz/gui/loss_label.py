"""The loss label's text: the loss once the forward pass has formed it, and where a NaN/Inf first
appeared when the run produced one (a NaN loss is not "after the forward pass")."""
from __future__ import annotations

import math
from dataclasses import dataclass

from rnnviz.engine import nonfinite


@dataclass
class _Located:
    """A trace's loss and size with a first-non-finite location found here (nonfinite_message reads these)."""

    trace: object
    first_nonfinite: dict

    @property
    def loss(self) -> float:
        return self.trace.loss

    @property
    def num_directions(self) -> int:
        return self.trace.hidden.shape[1]


class LossReport:
    """Text for the label, and each new non-finite report once (for the status bar and Messages)."""

    def __init__(self):
        self.reported: str | None = None
        self._scan: tuple = (None, None)

    def reset(self) -> None:
        """A new model: its first NaN is news again."""
        self.reported = None

    def text(self, frame) -> tuple[str, str | None]:
        """(label text, a message not reported before or None)."""
        trace = frame.trace
        loss = trace.loss
        name = f"loss ({trace.loss_name}): "
        finished = frame.position >= frame.total
        if not frame.position >= frame.num_forward > 0:
            return name + "after the forward pass  ", None
        if math.isfinite(loss) and not finished:
            return name + f"{loss:.5g}  ", None
        message = self._message(frame, trace, loss, finished)
        if message is None:
            return name + f"{loss:.5g}  ", None
        news = message if message != self.reported else None
        self.reported = message
        return name + message + "  ", news

    def _message(self, frame, trace, loss: float, finished: bool) -> str | None:
        if trace.first_nonfinite:
            return nonfinite.nonfinite_message(trace)
        # One scan per state of the arrays: re-applying the same frame (a selection change) reuses it.
        key = (id(trace.hidden), id(trace.hidden_grad), frame.position, frame.total, loss)
        if self._scan[0] != key:
            where = nonfinite.first_nonfinite(trace.hidden, trace.hidden_grad if finished else None,
                                              trace.cell, loss)
            self._scan = (key, None if where is None else nonfinite.nonfinite_message(_Located(trace, where)))
        return self._scan[1]
