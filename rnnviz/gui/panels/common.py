"""Pieces every time-axis panel shares: the time cursor, click-to-seek, hover read-out, heatmaps."""
from __future__ import annotations

import math

import numpy as np

from ..qt import DIVERGING, QtCore, QtWidgets, pg, style_plot


def finite_absmax(values: np.ndarray, default: float = 1.0) -> float:
    """Largest finite |value|, or `default` when there is none (all NaN, or all zero)."""
    if values.size == 0:
        return default
    with np.errstate(invalid="ignore"):
        m = np.nanmax(np.abs(np.where(np.isfinite(values), values, np.nan))) if np.isfinite(values).any() else default
    return float(m) if m and math.isfinite(m) else default


def coloured_title(title: str, names: list[str], colours: list[str]) -> str:
    """A plot title followed by a colour key (in place of a legend that would cover the lines)."""
    key = " ".join(f"<span style='color:{colours[i % len(colours)]}'>■&nbsp;{name}</span>" for i, name in enumerate(names))
    return f"{title}&nbsp;&nbsp;{key}" if names else title


def integer_ticks(axis, count: int, max_labels: int = 12) -> None:
    """Ticks only at whole numbers 0..count-1 (timesteps, units); pyqtgraph's own past a few hundred."""
    if getattr(axis, "_rnnviz_count", None) == count:
        return  # setTicks regenerates the axis picture: only when the count changes
    axis._rnnviz_count = count
    if count > 400:
        axis.setTicks(None)
        return
    step = max(1, int(np.ceil(count / max_labels)))
    for nice in (1, 2, 5, 10, 20, 25, 50, 100):
        if nice >= step:
            step = nice
            break
    axis.setTicks([[(i, str(i)) for i in range(0, count, step)], []])


def set_range(plot, x=None, y=None) -> None:
    """setXRange/setYRange without padding, skipped when the range is what it was (no re-layout)."""
    cache = plot.__dict__.setdefault("_rnnviz_range", {})
    if x is not None and cache.get("x") != tuple(x):
        cache["x"] = tuple(x)
        plot.setXRange(*x, padding=0)
    if y is not None and cache.get("y") != tuple(y):
        cache["y"] = tuple(y)
        plot.setYRange(*y, padding=0)


def set_series(item: pg.PlotDataItem, x: np.ndarray, y: np.ndarray) -> None:
    """setData, but an all-NaN series becomes empty (pyqtgraph warns on all-NaN symbol bounds)."""
    if np.isfinite(y).any():
        item.setData(x, y)
    else:
        item.setData([], [])


class TimeCanvas(QtWidgets.QWidget):
    """A GraphicsLayoutWidget whose time-axis plots share a cursor, click-to-seek and a hover read-out.

    Register plots with `add_time_plot(plot, value_at)`: `value_at(x, y)` returns the text shown
    when the mouse is at view coordinates (x, y), or None. Clicking a plot emits `seek(t)`.
    """

    seek = QtCore.Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.ci.setSpacing(6)
        self.hover = QtWidgets.QLabel(" ")
        self.hover.setObjectName("hover")
        self.hover.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        self.toolbar = QtWidgets.QHBoxLayout()
        layout.addLayout(self.toolbar)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.hover)
        self._plots: list[tuple[pg.PlotItem, object, pg.InfiniteLine]] = []
        scene = self.graphics.scene()
        scene.sigMouseClicked.connect(self._clicked)
        scene.sigMouseMoved.connect(self._moved)

    def add_plot(self, row: int, col: int, title: str, bottom: str, left: str, **kw) -> pg.PlotItem:
        plot = self.graphics.addPlot(row=row, col=col, **kw)
        style_plot(plot, title, bottom, left)
        plot.disableAutoRange()
        return plot

    def add_time_plot(self, plot: pg.PlotItem, value_at) -> None:
        cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#ff8c00", width=3))
        cursor.setZValue(50)
        cursor.hide()
        plot.addItem(cursor, ignoreBounds=True)
        self._plots.append((plot, value_at, cursor))

    def set_cursor(self, t: int | None) -> None:
        """Mark timestep t (None hides the cursor) in every time-axis plot."""
        for _, _, cursor in self._plots:
            if t is None:
                cursor.hide()
            else:
                cursor.setValue(t)
                cursor.show()

    def _plot_at(self, scene_pos):
        for plot, value_at, _ in self._plots:
            if plot.vb.sceneBoundingRect().contains(scene_pos):
                return plot, value_at
        return None, None

    def _clicked(self, event) -> None:
        plot, _ = self._plot_at(event.scenePos())
        if plot is None or event.button() != QtCore.Qt.MouseButton.LeftButton:
            return
        point = plot.vb.mapSceneToView(event.scenePos())
        self.seek.emit(int(math.floor(point.x() + 0.5)))

    def _moved(self, scene_pos) -> None:
        plot, value_at = self._plot_at(scene_pos)
        if plot is None:
            return
        point = plot.vb.mapSceneToView(scene_pos)
        text = value_at(point.x(), point.y())
        if text:
            self.hover.setText(text)


class Heatmap:
    """An ImageItem of (rows, time) with a fixed colour bar; column t is centred on x = t, NaN blank."""

    def __init__(self, plot: pg.PlotItem, label: str, levels=(-1.0, 1.0)):
        self.plot = plot
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(DIVERGING)
        plot.addItem(self.image)
        plot.invertY(False)
        self.levels = levels
        self.data = np.full((1, 1), np.nan, dtype=np.float32)
        self.bar = pg.ColorBarItem(values=levels, colorMap=DIVERGING, interactive=False, width=14, label=label)
        self.bar.getAxis("right").setTickFont(plot.getAxis("left").style.get("tickFont") or plot.font())
        self.bar.setImageItem(self.image, insert_in=plot)
        self._shape = None

    MAX_COLS, MAX_ROWS = 800, 400  # more than the plot has pixels: draw every k-th column/row

    def set(self, data: np.ndarray, levels=None) -> None:
        """data: (rows, T) float, may be a strided view; NaN entries are drawn blank.

        Past MAX_COLS x MAX_ROWS the image drawn takes every k-th column/row (the plot has fewer
        pixels than that anyway); hover and `data` keep every value."""
        if levels is not None and tuple(levels) != tuple(self.levels):
            self.levels = tuple(levels)
            self.bar.setLevels(self.levels)
        self.data = data
        rows, cols = data.shape
        step_c, step_r = -(-cols // self.MAX_COLS), -(-rows // self.MAX_ROWS)
        shown = np.ascontiguousarray(data[::step_r, ::step_c], dtype=np.float32)
        self.image.setImage(shown, levels=self.levels, autoLevels=False)
        if data.shape != self._shape:
            self._shape = data.shape
            self.image.setRect(QtCore.QRectF(-0.5, -0.5, cols, rows))
            set_range(self.plot, (-0.5, cols - 0.5), (-0.5, rows - 0.5))
            integer_ticks(self.plot.getAxis("bottom"), cols)
            integer_ticks(self.plot.getAxis("left"), rows)

    def value(self, x: float, y: float):
        t, row = int(math.floor(x + 0.5)), int(math.floor(y + 0.5))
        rows, cols = self.data.shape
        if 0 <= t < cols and 0 <= row < rows:
            return t, row, float(self.data[row, t])
        return None
