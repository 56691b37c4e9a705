"""The live plots of the training view, fed a TrainingHistory (numpy in, no computing here).

Each plot item is created once and given new arrays with setData/setImage, as pyqtgraph's
own examples do; the view calls `show_history(history)` at most once per display frame.
"""
from __future__ import annotations

import numpy as np

from .panels.common import TimeCanvas
from .qt import QtCore, QtGui, QtWidgets, pg
from .style import LINE_COLOURS

# Above this many iterations the |dL/dh_t| image shows every k-th row: the panel is a few
# hundred pixels wide, and setImage on 10^5 rows per frame would stall the window.
IMAGE_MAX_ROWS = 2000


def _positive(values: np.ndarray) -> np.ndarray:
    """Log axes cannot show 0: floor at a tiny value so a zero gradient stays visible at the bottom."""
    return np.maximum(np.asarray(values, dtype=float), 1e-12)


class TrainingPanels(TimeCanvas):
    """Loss, gradient norm (before/after clip, clipped steps marked), per-parameter gradient
    norms, the iteration x t image of |dL/dh_t|, and the live text sample. The x axis of every
    plot is the iteration: the shared canvas gives them one cursor, click-to-pick and a hover read-out."""

    iteration_clicked = QtCore.Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.history = None
        self.loss_plot = self._log_plot(0, 0, "Loss", "NLL per character")
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen(LINE_COLOURS[0], width=1), name="per iteration")
        self.epoch_curve = self.loss_plot.plot(pen=pg.mkPen(LINE_COLOURS[1], width=2), symbol="o", symbolSize=5,
                                               symbolBrush=LINE_COLOURS[1], name="per epoch (mean)")

        self.norm_plot = self._log_plot(0, 1, "Gradient norm (all parameters)", "‖g‖₂")
        self.before_curve = self.norm_plot.plot(pen=pg.mkPen(LINE_COLOURS[0], width=2), name="before clipping")
        self.after_curve = self.norm_plot.plot(pen=pg.mkPen(LINE_COLOURS[2], width=2), name="after clipping")
        self.clipped_points = pg.ScatterPlotItem(size=8, symbol="x", pen=pg.mkPen("#d62728", width=2),
                                                 brush=None, name="clipping fired")
        self.norm_plot.addItem(self.clipped_points)  # its name puts it in the legend
        self.clip_line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#d62728", style=QtCore.Qt.PenStyle.DashLine))
        self.clip_line.setVisible(False)
        self.norm_plot.addItem(self.clip_line)

        self.param_plot = self._log_plot(1, 0, "Gradient norm per parameter", "‖dL/dθ‖₂")
        self.param_curves: dict[str, pg.PlotDataItem] = {}

        self.image_plot = self.add_plot(1, 1, "log₁₀ |dL/dh_t| per iteration", "iteration", "timestep t")
        self.image_plot.enableAutoRange()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.image_plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(values=(-3, 0), colorMap=pg.colormap.get("viridis"), interactive=False,
                                        label="log₁₀ |dL/dh_t|")
        self.colorbar.setImageItem(self.image, insert_in=self.image_plot)
        self.image_data = np.zeros((0, 0))  # (N, T): what the image shows, rows = iterations
        self.image_plot.setToolTip("Row t, column k: |dL/dh_t| in iteration k. In the tutorial model the last h_t "
                                   "feeds no output (i2o reads H_{t-1}), so its row is at the bottom colour.")

        self.sample_label = QtWidgets.QLabel("Sample: (train to see the model write)")
        self.sample_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        font = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont)
        font.setPointSize(13)
        self.sample_label.setFont(font)
        self.sample_label.setWordWrap(True)
        self.sample_label.setMaximumHeight(90)  # a long sample must not squeeze the plots
        self.layout().addWidget(self.sample_label)
        # Two equal columns, as when each plot was a widget of its own in a grid.
        for plot in (self.loss_plot, self.norm_plot, self.param_plot, self.image_plot):
            plot.setPreferredWidth(100)
        for column in (0, 1):
            self.graphics.ci.layout.setColumnStretchFactor(column, 1)

        self.add_time_plot(self.loss_plot, lambda x, y: self._series_value(x, "loss", lambda h: h.losses))
        self.add_time_plot(self.norm_plot, lambda x, y: self._series_value(x, "‖g‖₂ before clipping", lambda h: h.grad_norms))
        self.add_time_plot(self.param_plot, self._param_value)
        self.add_time_plot(self.image_plot, self._image_value)
        self.seek.connect(lambda iteration: self.iteration_clicked.emit(max(0, iteration)))

    def _log_plot(self, row: int, col: int, title: str, left: str) -> pg.PlotItem:
        # LogAxis: labels 1, 2, 5 per decade (pyqtgraph's own reads "0.1 0.09 0.08 ..." on top of each other)
        plot = self.add_plot(row, col, title, "iteration", left, log_y=True, decades_once=True)
        plot.enableAutoRange()
        plot.setLogMode(y=True)
        plot.showGrid(x=True, y=True, alpha=0.25)
        plot.setDownsampling(mode="peak")
        plot.setClipToView(True)
        plot.addLegend(offset=(-10, 10))
        plot.getAxis("left").enableAutoSIPrefix(False)  # "(x0.001)" on a log axis only confuses
        return plot

    # -- hover --------------------------------------------------------------------------
    def _iteration(self, x) -> int | None:
        i = int(np.floor(x + 0.5))
        return i if self.history is not None and 0 <= i < len(self.history) else None

    def _series_value(self, x, label: str, column_of):
        i = self._iteration(x)
        return None if i is None else f"iteration {i}: {label} {column_of(self.history)[i]:.4g}"

    def _param_value(self, x, y):
        i = self._iteration(x)
        if i is None:
            return None
        row = self.history.param_grad_norm_matrix()[i]
        return f"iteration {i}: " + ", ".join(f"{n} {v:.3g}" for n, v in zip(self.history.param_names, row))

    def _image_value(self, x, y):
        i, t = self._iteration(x), int(np.floor(y + 0.5))
        if i is None or not 0 <= t < self.image_data.shape[1]:
            return None
        return f"iteration {i}, t={t}: |dL/dh_t| = {self.image_data[i, t]:.3g}"

    def clear(self) -> None:
        for item in (self.loss_curve, self.epoch_curve, self.before_curve, self.after_curve):
            item.setData([], [])
        self.clipped_points.setData([], [])
        for curve in self.param_curves.values():
            self.param_plot.removeItem(curve)
        self.param_curves.clear()
        self.param_plot.legend.clear()
        self.image.clear()
        self.image_data = np.zeros((0, 0))
        self.sample_label.setText("Sample: (train to see the model write)")

    def show_history(self, history, clip: float | None = None) -> None:
        self.history = history
        n = len(history)
        if n == 0:
            return
        x = np.arange(n)
        self.loss_curve.setData(x, _positive(history.losses))
        epochs, epoch_means = history.epoch_losses()
        self.epoch_curve.setData(history.epoch_end_iterations(), _positive(epoch_means))

        before, after, clipped = history.grad_norms, history.grad_norms_clipped, history.clipped
        self.before_curve.setData(x, _positive(before))
        self.after_curve.setData(x, _positive(after))
        # The scatter lives in the log-mode plot but is not a PlotDataItem: give it log10 y.
        self.clipped_points.setData(x[clipped], np.log10(_positive(before[clipped])))
        self.clip_line.setVisible(clip is not None)
        if clip is not None:
            self.clip_line.setValue(np.log10(clip))

        matrix = history.param_grad_norm_matrix()
        for j, name in enumerate(history.param_names):
            curve = self.param_curves.get(name)
            if curve is None:
                pen = pg.mkPen(LINE_COLOURS[len(self.param_curves) % len(LINE_COLOURS)], width=2)
                curve = self.param_curves[name] = self.param_plot.plot(pen=pen, name=name)
            curve.setData(x, _positive(matrix[:, j]))

        self.image_data = history.hidden_grad_image()
        shown = self.image_data
        step = max(1, int(np.ceil(n / IMAGE_MAX_ROWS)))
        shown = shown[::step]
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log10(shown)
        finite = np.isfinite(logs)
        low, high = (float(logs[finite].min()), float(logs[finite].max())) if finite.any() else (-3.0, 0.0)
        if high - low < 1e-6:
            low -= 0.5
            high += 0.5
        # A zero gradient (log = -inf; the tutorial's last h_t feeds no output) and padding
        # past a short window (NaN) show as the bottom colour.
        logs = np.where(finite, logs, low)
        # Image rows = t (y axis), columns = iterations (x axis).
        self.image.setImage(logs.T, levels=(low, high))
        self.image.setRect(QtCore.QRectF(-0.5, -0.5, shown.shape[0] * step, shown.shape[1]))
        self.colorbar.setLevels((low, high))

        last_sample = next((r.sample for r in reversed(history.records) if r.sample is not None), None)
        if last_sample is not None:
            self.sample_label.setText(f"Sample (iteration {self._sample_iteration(history)}): {last_sample!r}")

    @staticmethod
    def _sample_iteration(history) -> int:
        return next(r.iteration for r in reversed(history.records) if r.sample is not None)
