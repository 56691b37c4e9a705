"""Pieces every time-axis panel shares: the time cursor, click-to-seek, hover read-out, heatmaps."""
from __future__ import annotations

import math

import numpy as np

from rnnviz.engine.window import overview_slice, window_start

from ..qt import QtCore, QtGui, QtWidgets, pg  # noqa: F401 - the panels import these here
from ..style import DIVERGING, LABEL_STYLE, ClippedTitle, LogAxis, style_plot  # noqa: F401 - LogAxis: its users import it here


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


class Heatmap:
    """An ImageItem of (rows, time) with a fixed colour bar; column t is centred on x = t, NaN blank.

    Fast path (issue #3): the image is an RGBA uint8 buffer coloured here, column by column: a
    step changes one column of the data, so only the columns that differ from what is drawn are
    re-coloured, and pyqtgraph paints the buffer as it is (no float rescale, NaN scan or LUT pass
    per paint). Levels or colour-map changes re-colour everything."""

    def __init__(self, plot: pg.PlotItem, label: str, levels=(-1.0, 1.0)):
        self.plot = plot
        self.image = pg.ImageItem(axisOrder="row-major")
        plot.addItem(self.image)
        plot.invertY(False)
        self.levels = tuple(levels)
        self.data = np.full((1, 1), np.nan, dtype=np.float32)
        self.bar = pg.ColorBarItem(values=levels, colorMap=DIVERGING, interactive=False, width=14, label=label)
        self.bar.getAxis("right").setTickFont(plot.getAxis("left").style.get("tickFont") or plot.font())
        self.bar.getAxis("left").setLabel(label, **LABEL_STYLE)
        # In the plot's layout as setImageItem(insert_in=plot) puts it, but not linked to the image:
        # the bar would push levels and a LUT onto it, and the image here is already coloured.
        self.bar.img_list = []
        plot.layout.addItem(self.bar, 2, 5)
        ClippedTitle.adopt(plot).span(plot, 5)  # the title may use the width over the colour bar too
        plot.layout.setColumnFixedWidth(4, 5)
        self._lut = DIVERGING.getLookupTable(nPts=256, alpha=True)
        self._shape = None
        self._drawn = None   # the (downsampled, raw) values the RGBA buffer shows
        self._rgba = None    # (rows, cols, 4) uint8
        self.x0, self._place = 0, None   # the image's first timestep, (x0, length of the time axis)
        self.overview = pg.ImageItem(axisOrder="row-major")   # added to the plot by set_overview
        self._overview = None             # (values (rows, T_o), step) drawn under the image
        # Where full resolution begins and ends over an overview: without them the two read alike.
        self.window_edges = [pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#555555", width=1,
                                                                                  style=QtCore.Qt.PenStyle.DashLine))
                             for _ in range(2)]
        for edge in self.window_edges:
            edge.setZValue(40)
            edge.hide()
            plot.addItem(edge, ignoreBounds=True)
        self.transform = None  # a function of the data for the image only (log10|x|): `data` stays raw

    def set_colormap(self, colormap, label: str, transform=None) -> None:
        """Another colour map, colour-bar label and image transform (e.g. log magnitude)."""
        self.transform = transform
        self._lut = colormap.getLookupTable(nPts=256, alpha=True)
        self._drawn = None  # re-colour everything on the next set
        self.bar.setColorMap(colormap)
        self.bar.getAxis("left").setLabel(label, **LABEL_STYLE)  # ColorBarItem keeps its label there

    MAX_COLS, MAX_ROWS = 800, 400  # more than the plot has pixels: draw every k-th column/row

    def _colour(self, block: np.ndarray) -> np.ndarray:
        """RGBA uint8 of a (rows, k) block of raw values: transform, levels, LUT; NaN transparent.

        Columns of NaN alone (timesteps not reached yet) are left blank without the transform and the
        LUT: a new colour range early in a run re-coloured the whole image (~9 ms for a log10 of a
        512 x 500 image), though only the reached columns had a colour."""
        block = np.asarray(block)
        if block.ndim == 2 and block.shape[1] > 1:
            filled = ~np.isnan(block).all(axis=0)
            if not filled.all():
                rgba = np.zeros(block.shape + (4,), dtype=np.uint8)
                if filled.any():
                    rgba[:, filled] = self._colour_values(block[:, filled])
                return rgba
        return self._colour_values(block)

    def _colour_values(self, block: np.ndarray) -> np.ndarray:
        if self.transform is not None:
            block = self.transform(block)
        lo, hi = self.levels
        scale = 256.0 / (hi - lo) if hi > lo else 0.0
        with np.errstate(invalid="ignore", over="ignore"):
            index = (np.asarray(block, dtype=np.float32) - np.float32(lo)) * np.float32(scale)
            np.clip(index, 0, 255, out=index)
        blank = np.isnan(index)
        index[blank] = 0
        rgba = self._lut[index.astype(np.uint8)]
        rgba[blank] = 0
        return rgba

    def set(self, data: np.ndarray, levels=None, columns: list[int] | None = None, x0: int = 0,
            span: int | None = None) -> None:
        """data: (rows, T) float, may be a strided view; NaN entries are drawn blank. columns: the
        only columns that may differ from the data drawn last (a panel's SliceCopy knows), or None:
        compare them all. Column 0 is timestep `x0` of a time axis `span` long (a window of a run
        recorded to disk; see set_overview).

        Past MAX_COLS x MAX_ROWS the image drawn takes every k-th column/row (the plot has fewer
        pixels than that anyway); hover and `data` keep every value."""
        if levels is not None and tuple(levels) != tuple(self.levels):
            self.levels = tuple(levels)
            self.bar.setLevels(self.levels)
            self._drawn = None
            if self._overview is not None:
                self.overview.setImage(self._colour(self._overview[0]), levels=None, autoLevels=False)
        self.data = data
        span = data.shape[1] if span is None else span
        if (x0, span) != self._place:
            self._place, self._shape = (x0, span), None   # re-placed below
        self.x0 = x0
        rows, cols = data.shape
        step_c, step_r = -(-cols // self.MAX_COLS), -(-rows // self.MAX_ROWS)
        shown = data[::step_r, ::step_c]
        drawn = self._drawn
        if drawn is None or drawn.shape != shown.shape:
            self._drawn = np.array(shown, dtype=np.float32)
            self._rgba = np.ascontiguousarray(self._colour(self._drawn))
        elif columns is not None and data.shape == self._shape:
            picked = [t // step_c for t in columns if t % step_c == 0]  # the columns the image shows
            if not picked:
                return
            block = shown[:, picked]
            drawn[:, picked] = block
            self._rgba[:, picked] = self._colour(block)
            painted = getattr(self.image.qimage, "data", None)  # the array a pyqtgraph QImage keeps
            if (isinstance(painted, np.ndarray) and painted.shape == self._rgba.shape
                    and painted.ctypes.data == self._rgba.ctypes.data):
                # The QImage pyqtgraph paints wraps this very buffer (uint8 RGBA, no levels): repaint
                # the changed columns' strip, not the whole plot as setImage would.
                lo, hi = min(picked), max(picked)
                self.image.update(QtCore.QRectF(lo, 0, hi - lo + 1, self._rgba.shape[0]))
                return
        else:
            with np.errstate(invalid="ignore"):
                same = shown == drawn
                same |= np.isnan(shown) & np.isnan(drawn)
            changed = np.flatnonzero(~same.all(axis=0))
            if not changed.size and data.shape == self._shape:
                return  # nothing to re-colour or repaint
            if changed.size > cols // (2 * step_c):
                drawn[...] = shown
                self._rgba[...] = self._colour(drawn)
            else:
                block = shown[:, changed]
                drawn[:, changed] = block
                self._rgba[:, changed] = self._colour(block)
        self.image.setImage(self._rgba, levels=None, autoLevels=False)
        if data.shape != self._shape:
            self._shape = data.shape
            self.image.setRect(QtCore.QRectF(x0 - 0.5, -0.5, cols, rows))
            set_range(self.plot, (-0.5, span - 0.5), (-0.5, rows - 0.5))
            integer_ticks(self.plot.getAxis("bottom"), span)
            integer_ticks(self.plot.getAxis("left"), rows)

    def set_overview(self, data: np.ndarray | None, step: int = 1) -> None:
        """Under the image: (rows, T_o) values of every `step`-th timestep of the whole axis, each
        column drawn `step` wide (a run recorded to disk: engine/window.py); None removes it."""
        if data is None:
            if self._overview is not None:
                self.plot.removeItem(self.overview)
                self._overview = None
                for edge in self.window_edges:
                    edge.hide()
            return
        for edge, x in zip(self.window_edges, (self.x0 - 0.5, self.x0 + self.data.shape[1] - 0.5)):
            if edge.value() != x or not edge.isVisible():
                edge.setValue(x)
                edge.show()
        if self._overview is None:
            self.plot.addItem(self.overview)
            self.overview.setZValue(self.image.zValue() - 1)
        elif (self._overview[1] == step and self._overview[0].shape == data.shape
              and np.array_equal(self._overview[0], data, equal_nan=True)):
            return   # most steps change no overview column: no re-colouring, no repaint
        self._overview = (np.array(data, dtype=np.float32), step)
        self.overview.setImage(self._colour(self._overview[0]), levels=None, autoLevels=False)
        self.overview.setRect(QtCore.QRectF(-0.5, -0.5, data.shape[1] * step, data.shape[0]))

    def value(self, x: float, y: float):
        """(t, row, value) under (x, y): the image's, else the overview's timestep there, else None."""
        t, row = int(math.floor(x + 0.5)), int(math.floor(y + 0.5))
        rows, cols = self.data.shape
        if 0 <= t - self.x0 < cols and 0 <= row < rows:
            return t, row, float(self.data[row, t - self.x0])
        if self._overview is not None and 0 <= row < rows:
            values, step = self._overview
            column = int(math.floor((x + 0.5) / step))
            if 0 <= column < values.shape[1]:
                return column * step, row, float(values[row, column])
        return None

    def hover_text(self, name: str, x: float, y: float, missing: str = "not computed yet") -> str | None:
        """'name[t=.., unit=..] = value' under (x, y), or None off the image."""
        hit = self.value(x, y)
        if hit is None:
            return None
        t, unit, v = hit
        return f"{name}[t={t}, unit={unit}] = {missing if math.isnan(v) else f'{v:.4g}'}"


def draw_time_heatmap(heatmap: Heatmap, trace, name: str | None, layer: int, direction: int, batch: int, levels,
                      gate: str | None = None, values: np.ndarray | None = None,
                      columns: list[int] | None = None) -> np.ndarray:
    """Draw trace.<name> (or gate `gate`) of one layer, direction and batch element as units x time,
    placed on the whole time axis: a window of a run recorded to disk over its overview
    (engine/window.py). Returns the (T_w, H) values drawn at full resolution, a copy. `values`: the
    panel's own copy of that slice (a SliceCopy's), with `columns` the timesteps it changed."""
    if values is None:
        source = trace.gates[gate] if gate is not None else getattr(trace, name)
        values = np.array(source[layer, direction, :, batch, :])
    heatmap.set(values.T, levels=levels, columns=columns, x0=window_start(trace), span=trace.seq_len)
    overview, step = overview_slice(trace, name, layer, direction, batch, gate)
    heatmap.set_overview(None if overview is None else overview.T, step)
    return values
