"""Why gradients vanish: W_hh's eigenvalues against the unit circle, sigma_max and Pascanu's
conditions, the per-step Jacobian norms |diag(phi'(a_t)) W_hh| and the |dL/dh_t| profile.

Fed numpy (W_hh, pre-activations, the gradient profile); the maths is rnnviz.analysis.spectral.
"""
from __future__ import annotations

import numpy as np

from rnnviz.analysis import spectral
from rnnviz.engine.window import window_start

from ..qt import QtCore, QtWidgets, pg
from ..style import LINE_COLOURS, style_plot
from .common import LogAxis


class _SpanLogAxis(LogAxis):
    """LogAxis (1, 2, 5 per decade), except that a range inside one decade (Jacobian norms 0.6 … 1)
    keeps pyqtgraph's every-mantissa labels: 1, 2, 5 alone would leave a single tick there."""

    def logTickValues(self, minVal, maxVal, size, stdTicks):  # noqa: N802, N803 - pyqtgraph API
        ticks = LogAxis.logTickValues(self, minVal, maxVal, size, stdTicks)
        shown = {round(v, 6) for _, values in ticks for v in values if minVal <= v <= maxVal}
        if len(shown) >= 2:
            return ticks
        return pg.AxisItem.logTickValues(self, minVal, maxVal, size, stdTicks)


def _log_plot(title: str, left: str) -> pg.PlotWidget:
    widget = pg.PlotWidget(axisItems={"left": _SpanLogAxis("left")})
    style_plot(widget.getPlotItem(), title, "timestep t", left)
    widget.setLogMode(y=True)
    widget.showGrid(x=True, y=True, alpha=0.25)
    axis = widget.getAxis("left")
    axis.enableAutoSIPrefix(False)
    # The rotated label sits left of the widest tick label ("0.0001"): keep room for both.
    axis.setStyle(autoExpandTextSpace=True, tickTextOffset=6)
    axis.setWidth(78)
    return widget


class SpectralPanel(QtWidgets.QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.plane = pg.PlotWidget()
        style_plot(self.plane.getPlotItem(), "Eigenvalues of W_hh", "real", "imaginary")
        self.plane.setAspectLocked(True)
        self.plane.showGrid(x=True, y=True, alpha=0.25)
        x, y = spectral.unit_circle()
        self.plane.plot(x, y, pen=pg.mkPen("#000", width=2))
        self.sigma_circle = self.plane.plot([], [], pen=pg.mkPen("#d62728", width=2, style=QtCore.Qt.PenStyle.DashLine))
        self.eigen_points = pg.ScatterPlotItem(size=9, pen=pg.mkPen(LINE_COLOURS[0]), brush=LINE_COLOURS[0])
        self.plane.addItem(self.eigen_points)

        self.jacobian_plot = _log_plot("Per-step Jacobian norm (log scale)", "‖diag(φ′(a_t)) W_hh‖₂")
        self.jacobian_curve = self.jacobian_plot.plot(pen=pg.mkPen(LINE_COLOURS[0], width=2), symbol="o",
                                                      symbolSize=5, symbolBrush=LINE_COLOURS[0])
        self.one_line = pg.InfiniteLine(angle=0, pos=0.0, pen=pg.mkPen("#888", style=QtCore.Qt.PenStyle.DashLine))
        self.jacobian_plot.addItem(self.one_line)  # log10(1) = 0: above it a step can grow the gradient

        self.gradient_plot = _log_plot("Gradient reaching h_t (top layer)", "‖dL/dh_t‖ (log scale)")
        self.gradient_curve = self.gradient_plot.plot(pen=pg.mkPen(LINE_COLOURS[1], width=2), symbol="o",
                                                      symbolSize=5, symbolBrush=LINE_COLOURS[1])

        self.summary = QtWidgets.QLabel("Build an nn.RNN or RNNCell to see its spectrum.")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        grid = QtWidgets.QGridLayout(self)
        grid.addWidget(self.plane, 0, 0, 2, 1)
        grid.addWidget(self.jacobian_plot, 0, 1)
        grid.addWidget(self.gradient_plot, 1, 1)
        grid.addWidget(self.summary, 2, 0, 1, 2)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        self.eigenvalues = np.zeros(0, dtype=complex)
        self.jacobian_norms = np.zeros(0)
        self.bounds: spectral.PascanuBounds | None = None
        self.t0 = 0

    def set_data(self, w_hh, nonlinearity: str = "tanh", preactivations=None, gradient=None, t0: int = 0) -> None:
        """w_hh (H, H); preactivations (T, H) of one batch element (NaN where not computed yet);
        gradient (T,) |dL/dh_t| (NaN where not computed yet); both from timestep t0 on (a window of
        a run recorded to disk)."""
        self.t0 = t0
        w = np.asarray(w_hh, dtype=np.float64)
        self.eigenvalues = spectral.eigenvalues(w)
        self.eigen_points.setData(self.eigenvalues.real, self.eigenvalues.imag)
        self.bounds = spectral.pascanu_bounds(w, nonlinearity)
        x, y = spectral.unit_circle()
        self.sigma_circle.setData(self.bounds.sigma_max * x, self.bounds.sigma_max * y)
        self.jacobian_norms = np.full(0, np.nan)
        if preactivations is not None:
            a = np.asarray(preactivations, dtype=np.float64)
            done = np.isfinite(a).all(axis=-1)
            norms = np.full(a.shape[0], np.nan)
            if done.any():
                norms[done] = spectral.jacobian_norms(w, nonlinearity, preactivations=a[done])
            self.jacobian_norms = norms
        t = t0 + np.arange(len(self.jacobian_norms))
        keep = np.isfinite(self.jacobian_norms) & (self.jacobian_norms > 0)
        self.jacobian_curve.setData(t[keep], self.jacobian_norms[keep])
        if gradient is not None:
            g = np.asarray(gradient, dtype=np.float64)
            tg = t0 + np.arange(len(g))
            keep = np.isfinite(g) & (g > 0)
            self.gradient_curve.setData(tg[keep], g[keep])
        else:
            self.gradient_curve.setData([], [])
        self.summary.setText(self._summary(nonlinearity))

    def _summary(self, nonlinearity: str) -> str:
        b = self.bounds
        text = (f"σ_max(W_hh) = {b.sigma_max:.3g} (red dashed circle), spectral radius = {b.spectral_radius:.3g}, "
                f"γ = {b.gamma:g} for {nonlinearity} (|φ′| ≤ γ).  {b.verdict()}.")
        finite = self.jacobian_norms[np.isfinite(self.jacobian_norms)]
        if finite.size:
            text += (f"  Jacobian norms along this run: {finite.min():.3g} … {finite.max():.3g}; their product "
                     f"bounds how much the gradient can grow from t={self.t0 + len(self.jacobian_norms) - 1} back to {self.t0}.")
        return text

    def show_unsupported(self, kind: str) -> None:
        self.summary.setText(f"The spectral view explains nn.RNN / RNNCell (H_t = φ(X_t W_ih + H_(t-1) W_hh + b)); "
                             f"{kind} has gates, whose Jacobian is not diag(φ′) W_hh.")
        for item in (self.eigen_points, self.sigma_circle, self.jacobian_curve, self.gradient_curve):
            item.setData([], [])


class SpectralWindow(QtWidgets.QWidget):
    """A window that follows a Session: every frame it shows, and every selection, for the selected layer."""

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.setWindowTitle("rnnviz — why gradients vanish")
        self.session = session
        self.panel = SpectralPanel()
        self._shown = None   # (run_id, version, selection) drawn last: W_hh's eigenvalues are not cheap
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.panel)
        session.frame_ready.connect(self.show_frame)
        session.selection_changed.connect(lambda selection: self.show_frame(self.session.frame, selection))
        if session.frame is not None:
            self.show_frame(session.frame, session.selection)

    def show_frame(self, frame, selection=None) -> None:
        if frame is None:
            return
        sel = selection or self.session.selection
        shown = (frame.run_id, frame.version, sel)
        if shown == self._shown:
            return
        self._shown = shown
        trace = frame.trace
        w = frame.recurrent_weights.get((sel.layer, sel.direction))
        if trace.kind != "rnn" or "A" not in trace.gates or w is None:
            self.panel.show_unsupported(trace.kind)
            return
        with self.session.arrays:  # copies: the worker may step on once this returns
            pre = np.array(trace.gates["A"][sel.layer, sel.direction, :, sel.batch])  # (T, H), or a window's (W, H)
            start = window_start(trace)
            grad = np.array(trace.grad_norm[trace.num_layers - 1, sel.direction, start:start + pre.shape[0]])
        self.panel.set_data(w, trace.nonlinearity, pre, grad, t0=start)
