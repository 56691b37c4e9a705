"""The memory line under the spec form: what the spec would need before Build, and the budget it
must fit, settable in GiB. A spec too large to step is recorded and replayed (in memory, or on disk
when the recording is over the budget too: session.make_runner), which the line says; one that
does not fit even so is shown red and cannot be built, so the engine's refusal is seen while
editing rather than after pressing Build."""
from __future__ import annotations

from rnnviz.engine.memory import (DEFAULT_BUDGET, ENV_VAR, MemoryBudgetError, estimate_spec, format_bytes, memory_budget,
                                  plan_spool)

from .qt import QtCore, QtWidgets

GIB = 1 << 30


def window_estimate(spec):
    """The larger of the two checks a Build makes: building (recording) the spec, then stepping through it."""
    return max(estimate_spec(spec), estimate_spec(spec, stepping=True), key=lambda e: e.peak)


def replay_plan(spec, budget: int) -> str | None:
    """How a spec too large to step is recorded for replay within `budget` (session.make_runner), or
    None when it cannot be: cells, or a recording that does not fit even on disk."""
    if spec.is_cell:
        return None
    recording = estimate_spec(spec)
    if recording.peak <= budget:
        return f"in memory, {format_bytes(recording.peak)}"
    try:
        plan = plan_spool(spec.base_kind, spec.num_layers, spec.num_directions, spec.seq_len, spec.batch_size,
                          spec.input_size, spec.hidden_size, itemsize=8 if spec.dtype == "float64" else 4,
                          bias=spec.bias, head_features=spec.output_size, budget=budget)
    except MemoryBudgetError:
        return None
    return f"on disk, {format_bytes(plan.disk)}, {format_bytes(plan.needed.peak)} in memory"


def starting_budget() -> int:
    """$RNNVIZ_MEMORY_BUDGET (or --memory-budget) if it is a valid size, else the engine's default."""
    try:
        return memory_budget()
    except ValueError:
        return DEFAULT_BUDGET


class MemoryRow(QtWidgets.QWidget):
    """`show_spec(spec)` -> whether it fits; `budget_changed(bytes)` when the user sets the budget."""

    budget_changed = QtCore.Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.estimate = QtWidgets.QLabel()
        self.estimate.setObjectName("memory_estimate")
        self.estimate.setWordWrap(True)
        self.budget = QtWidgets.QDoubleSpinBox()
        self.budget.setObjectName("memory_budget")
        self.budget.setDecimals(2)
        self.budget.setRange(0.01, 4096.0)
        self.budget.setSingleStep(0.5)
        self.budget.setSuffix(" GiB")
        self.budget.setKeyboardTracking(False)
        self.budget.setValue(starting_budget() / GIB)
        self.budget.setToolTip(f"The most memory a run may use; a larger run is refused before it starts "
                               f"(the default comes from {ENV_VAR} or --memory-budget)")
        self.budget.valueChanged.connect(lambda _value: self.budget_changed.emit(self.budget_bytes()))
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.estimate, 1)
        layout.addWidget(QtWidgets.QLabel("budget"))
        layout.addWidget(self.budget)

    def budget_bytes(self) -> int:
        return int(round(self.budget.value() * GIB))

    def show_spec(self, spec) -> bool:
        needed = window_estimate(spec)
        budget = self.budget_bytes()
        fits = needed.peak <= budget
        replay = None if fits else replay_plan(spec, budget)
        if fits:
            self.estimate.setText(f"memory: {needed.describe()}")
            self.estimate.setStyleSheet("color:#444")
        elif replay is not None:
            self.estimate.setText(f"memory: {needed.describe()} to step, over the budget of {format_bytes(budget)}: "
                                  f"Build records it and replays it ({replay})")
            self.estimate.setStyleSheet("color:#8a5a00")
            return True
        else:
            self.estimate.setText(f"memory: {needed.describe()}, over the budget of {format_bytes(budget)}: "
                                  f"reduce seq_len, batch or hidden size, or raise the budget")
            self.estimate.setStyleSheet("color:#c00000; font-weight:bold")
        return fits

    def clear(self) -> None:
        self.estimate.setText("")
