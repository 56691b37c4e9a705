"""A (rows, time) heatmap coloured column by column, and drawing a trace's slice on one."""
from __future__ import annotations

import math

import numpy as np

from rnnviz.engine.window import overview_slice, window_start

from ..qt import QtCore, pg
from ..style import DIVERGING, LABEL_STYLE, ClippedTitle
from .common import integer_ticks, set_range


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
