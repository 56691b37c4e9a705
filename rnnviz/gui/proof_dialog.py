"""Fused vs stepped, shown: the engine's proof (rnnviz.engine.proof) as a table of max differences
per tensor, and the two curves that say why the fused module's out.grad is not dL/dh_t."""
from __future__ import annotations

import numpy as np

from .panels.common import LogAxis, coloured_title
from .qt import QtCore, QtWidgets, pg
from .style import set_title, style_plot

COLOURS = ["#1f77b4", "#d62728"]
HEADERS = ("tensor", "shape", "max |fused|", "max |fused − stepped|", "equal")


class ProofDialog(QtWidgets.QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Fused vs stepped: the proof that stepping changes nothing")
        self.proof = None
        layout = QtWidgets.QVBoxLayout(self)
        self.verdict = QtWidgets.QLabel("Computing: the module's own fused forward and backward…")
        self.verdict.setWordWrap(True)
        layout.addWidget(self.verdict)
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.table = QtWidgets.QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        split.addWidget(self.table)
        self.plot_widget = pg.PlotWidget(axisItems={"left": LogAxis("left")})
        self.plot = self.plot_widget.getPlotItem()
        style_plot(self.plot, "‖dL/dh_t‖ vs ‖out.grad[t]‖", "timestep t", "norm (top layer, all batch)")
        self.plot.setLogMode(y=True)
        self.total_line = self.plot.plot(pen=pg.mkPen(COLOURS[0], width=3), symbol="o", symbolSize=6,
                                         symbolBrush=COLOURS[0], symbolPen=COLOURS[0])
        self.direct_line = self.plot.plot(pen=pg.mkPen(COLOURS[1], width=2, style=QtCore.Qt.PenStyle.DashLine),
                                          symbol="s", symbolSize=7, symbolBrush=COLOURS[1], symbolPen=COLOURS[1])
        set_title(self.plot, coloured_title("Gradient at the top layer's h_t", ["dL/dh_t (stepped)", "out.grad (fused)"],
                                            COLOURS), size="11pt")
        split.addWidget(self.plot_widget)
        split.setSizes([560, 560])
        layout.addWidget(split, 1)
        self.why = QtWidgets.QLabel("")
        self.why.setWordWrap(True)
        layout.addWidget(self.why)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)

    def show_proof(self, proof) -> None:
        self.proof = proof
        ok = proof.all_equal
        colour = "#206020" if ok else "#c00000"
        worst = max(proof.checks, key=lambda c: c.max_abs_diff)
        self.verdict.setText(
            f"<b style='color:{colour}'>{'✓ Equal' if ok else '✗ NOT equal'}</b>: the module's own fused forward and "
            f"backward against rnnviz's step-by-step run, {len(proof.checks)} tensors in {proof.dtype} "
            f"(tolerance {proof.atol:g} + {proof.rtol:g}·max|fused|). Largest difference: {worst.max_abs_diff:.2e} "
            f"in {worst.name}.")
        self.table.setRowCount(len(proof.checks))
        for row, check in enumerate(proof.checks):
            cells = (check.name, "(" + ", ".join(map(str, check.shape)) + ")", f"{check.fused_absmax:.4g}",
                     f"{check.max_abs_diff:.2e}", "✓" if check.equal else "✗")
            for col, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                if col == 4:
                    item.setForeground(pg.mkColor("#206020" if check.equal else "#c00000"))
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        t = np.arange(len(proof.total_norm))
        positive = lambda v: np.where(v > 0, v, np.nan)  # noqa: E731 - a log axis has no 0
        self.total_line.setData(t, positive(proof.total_norm), connect="finite")
        self.direct_line.setData(t, positive(proof.direct_norm), connect="finite")
        zeros = int((proof.direct_norm == 0).sum())
        zero_text = (f" Here out.grad is exactly 0 at {zeros} of {len(t)} timesteps (loss '{proof.loss_name}' reads "
                     "only the last), so its curve has points only where the loss looks.") if zeros else ""
        self.why.setText(
            "<b>Why out.grad is not dL/dh_t.</b> The fused module's out.grad[t] is ∂L/∂out[t] with every later "
            "state held fixed: only the loss's <i>direct</i> term. The total dL/dh_t also carries what flows back "
            "from h_{t+1} (and from the layer above), (∂h_{t+1}/∂h_t)ᵀ dL/dh_{t+1}, which the fused kernel sums "
            f"inside and never exposes. {worst_gap(proof)}"
            + zero_text)

    def direct_curve(self) -> np.ndarray:
        return np.asarray(self.direct_line.yData if self.direct_line.yData is not None else [])

    def total_curve(self) -> np.ndarray:
        return np.asarray(self.total_line.yData if self.total_line.yData is not None else [])


def worst_gap(proof) -> str:
    """The timestep where out.grad is furthest from dL/dh_t, in words."""
    total, direct = proof.total_norm, proof.direct_norm
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = np.abs(total - direct) / total
    if not np.isfinite(gap).any():
        return ""
    t = int(np.nanargmax(np.where(np.isfinite(gap), gap, np.nan)))
    return f"Furthest apart at t={t}: ‖dL/dh_t‖ = {total[t]:.3g}, ‖out.grad[t]‖ = {direct[t]:.3g}."
