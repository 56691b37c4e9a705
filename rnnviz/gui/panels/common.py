"""Pieces every time-axis panel shares: the time cursor, click-to-seek, hover read-out, slice copies."""
from __future__ import annotations

import math

import numpy as np

from ..qt import QtCore, QtGui, QtWidgets, pg  # noqa: F401 - the panels import these here
from ..style import LogAxis, style_plot  # noqa: F401 - LogAxis: its users import it here


def finite_absmax(values: np.ndarray, default: float = 1.0) -> float:
    """Largest finite |value|, or `default` when there is none (all NaN, or all zero)."""
    if values.size == 0:
        return default
    with np.errstate(invalid="ignore"):
        m = np.nanmax(np.abs(np.where(np.isfinite(values), values, np.nan))) if np.isfinite(values).any() else default
    return float(m) if m and math.isfinite(m) else default


def coloured_title(title: str, names: list[str], colours: list[str]) -> str:
    """A plot title followed by a colour key (in place of a legend that would cover the lines).

    Names that share a first word ('layer 0', 'layer 1') say it once: 'layer ■0 ■1', so the key
    of a three-layer network still fits above a plot a third of a screen wide."""
    prefix = ""
    words = [name.split(" ", 1) for name in names]
    if len(names) > 1 and all(len(w) == 2 for w in words) and len({w[0] for w in words}) == 1:
        prefix, names = words[0][0] + "&nbsp;", [w[1] for w in words]
    gap = "" if prefix else "&nbsp;"
    key = "&nbsp; ".join(f"<span style='color:{colours[i % len(colours)]}'>■{gap}{name}</span>"
                         for i, name in enumerate(names))
    return f"{title}&nbsp;&nbsp;{prefix}{key}" if names else title


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
    # Every other label on a second level: pyqtgraph drops a level whose labels would crowd the
    # axis, so a narrow plot reads "0 10 20 30" instead of "0 51015202535".
    major = [(i, str(i)) for i in range(0, count, 2 * step)]
    minor = [(i, str(i)) for i in range(step, count, 2 * step)]
    axis.setTicks([major, minor] if count > 2 * step else [major, []])


def set_range(plot, x=None, y=None) -> None:
    """setXRange/setYRange without padding, skipped when the range is what it was (no re-layout)."""
    cache = plot.__dict__.setdefault("_rnnviz_range", {})
    if x is not None and cache.get("x") != tuple(x):
        cache["x"] = tuple(x)
        plot.setXRange(*x, padding=0)
    if y is not None and cache.get("y") != tuple(y):
        cache["y"] = tuple(y)
        plot.setYRange(*y, padding=0)


def set_log_y(plot, on: bool = True) -> None:
    """A log (or linear) y axis that stays put: pyqtgraph's setLogMode turns auto-range back on, and
    an auto-ranged view re-fits itself whenever a child moves, so every time-cursor move repainted the
    whole plot (its lines, axes and hint) instead of the cursor's strip."""
    plot.setLogMode(y=on)
    plot.disableAutoRange()
    plot.__dict__.get("_rnnviz_range", {}).pop("y", None)  # decades then, values now (or back): fit anew


def steady_range(plot, axis: str, lo: float, hi: float, min_span: float, pin_low: bool = False) -> None:
    """Fit `axis` ('x' or 'y') to the data's [lo, hi], but keep the range shown while it still holds
    the data and the data fill a third of it or more. A range that follows every new value (a
    backward step's new smallest gradient, a growing dL/dθ) redraws the axis on every step, and
    re-lays out and repaints the whole panel when its tick labels change width. `pin_low`: the
    range starts at `lo` itself (bars from 0)."""
    current = plot.__dict__.get("_rnnviz_range", {}).get(axis)
    span = max(hi - lo, min_span)
    if (current is not None and current[0] <= lo and hi <= current[1] and (not pin_low or current[0] == lo)
            and current[1] - current[0] <= 3 * span):
        return
    pad = 0.25 * span
    set_range(plot, **{axis: (lo if pin_low else lo - pad, hi + pad)})


def set_series(item: pg.PlotDataItem, x: np.ndarray, y: np.ndarray) -> None:
    """setData, but an all-NaN series becomes empty (pyqtgraph warns on all-NaN symbol bounds), and a
    series equal to the one drawn is left alone: a step changes one or two of a panel's lines, and
    pyqtgraph rebuilds a line's curve and every symbol on each setData (half a Backward step's paint
    at seed-rnn)."""
    x, y = np.asarray(x), np.asarray(y)
    last = item.__dict__.get("_rnnviz_series")
    if (last is not None and last[0].shape == x.shape and last[1].shape == y.shape and np.array_equal(last[0], x)
            and np.array_equal(last[1], y, equal_nan=y.dtype.kind == "f")):
        return
    item._rnnviz_series = (x.copy(), y.copy())
    if np.isfinite(y).any():
        item.setData(x, y)
    else:
        item.setData([], [])


class SliceCopy:
    """A panel's own copy of one (T, H) slice `[layer, direction, :, batch, :]` of a trace array,
    brought up to date one timestep per changed cell.

    Within a run a frame differs from the one before by the cells done or undone in between
    (`frame.schedule[lo:hi]`), and only cells of `phase` of the selected layer and direction touch
    this slice: their rows are copied, not the whole (T, H) slice (2 MB at T=1000, H=512). Anything
    else (another array, run or selection, an edit, a Reset, more than MAX_CELLS cells, or a version
    that moved other than one per cell) copies everything again."""

    MAX_CELLS = 4096  # past this many cells, scanning them costs more than a whole copy

    def __init__(self):
        self.values = np.full((1, 1), np.nan)
        self._source = None
        self._key = None

    def update(self, source: np.ndarray, frame, where: tuple[int, int, int], phase: str) -> list[int] | None:
        """Bring `values` up to `frame`; returns the timesteps copied, or None when it copied everything."""
        layer, direction, batch = where
        key = (frame.run_id, where, frame.version, frame.position)
        last, self._key = self._key, key
        changed = None
        if last is not None and self._source is source and last[:2] == key[:2] and frame.schedule:
            moved = abs(frame.position - last[3])
            if frame.version - last[2] == moved <= self.MAX_CELLS:  # one version per cell done or undone
                lo, hi = sorted((last[3], frame.position))
                changed = sorted({cell.t for cell in frame.schedule[lo:hi] if cell.phase == phase
                                  and cell.layer == layer and cell.direction == direction})
        self._source = source
        if changed is None:
            # A copy: the panel keeps it after this call, while a run goes on writing the trace's arrays.
            self.values = np.array(source[layer, direction, :, batch, :])
        elif changed:
            self.values[changed] = source[layer, direction, changed, batch, :]
        return changed


CACHED_ITEMS = (pg.AxisItem, QtWidgets.QGraphicsTextItem, pg.PlotCurveItem, pg.ScatterPlotItem, pg.BarGraphItem,
                pg.ImageItem)
PIXMAP_CACHE_KB = 64 * 1024  # Qt's default 10 MB holds the pixmaps of about one panel's items


def cache_items(scene) -> None:
    """Every axis, text and data item of `scene` painted from a pixmap Qt keeps in device coordinates
    and redraws (the changed part) only when the item changes.

    A step repaints strips of a plot: the time cursor moving, a heatmap's new column. Each strip
    over an axis or a title replayed the axis's ticks and laid out the title's rich text, and each
    strip over a line plot stroked every line again, all its points (1.6 ms for a 5-pixel strip over
    four lines of 1000 points); from the pixmaps a strip is a copy."""
    cached = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
    if QtGui.QPixmapCache.cacheLimit() < PIXMAP_CACHE_KB:
        QtGui.QPixmapCache.setCacheLimit(PIXMAP_CACHE_KB)
    for item in scene.items():
        if isinstance(item, CACHED_ITEMS) and item.cacheMode() != cached and not getattr(item, "never_cached", False):
            item.setCacheMode(cached)


def cache_item(item: pg.GraphicsObject) -> pg.GraphicsObject:
    """cache_items for one item added after its panel was shown (a PlotDataItem: its line and symbols)."""
    cached = QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
    for part in (item.curve, item.scatter) if isinstance(item, pg.PlotDataItem) else (item,):
        part.setCacheMode(cached)
    return item


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

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        cache_items(self.graphics.scene())  # the plots exist by now (panels that add items later cache them too)

    def add_plot(self, row: int, col: int, title: str, bottom: str, left: str, log_y: bool = False,
                 decades_once: bool = False, **kw) -> pg.PlotItem:
        if log_y:
            kw.setdefault("axisItems", {})["left"] = LogAxis("left", decades_once=decades_once)
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

    def cursor_values(self) -> list[float]:
        return [cursor.value() for _, _, cursor in self._plots]

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
