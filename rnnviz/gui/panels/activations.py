"""Hidden activations: heatmap units x time, chosen units over time, histogram of h_t with saturation."""
from __future__ import annotations

import numpy as np

from rnnviz.engine.window import time_axis, window_start

from ..frame import Frame, Selection
from ..qt import QtWidgets, pg
from ..style import LINE_COLOURS, set_title
from .common import (SliceCopy, TimeCanvas, cache_item, coloured_title, finite_absmax, integer_ticks, set_range,
                     set_series)
from .heatmap import Heatmap, draw_time_heatmap

HIST_BINS = 40
MAX_LINES = 8


def parse_units(text: str, hidden: int) -> list[int]:
    """'0, 3, 5-7' -> [0, 3, 5, 6, 7], clipped to range(hidden); empty -> the first few units."""
    units: list[int] = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        try:
            if "-" in part[1:]:
                lo, hi = part.split("-", 1)
                units.extend(range(int(lo), int(hi) + 1))
            else:
                units.append(int(part))
        except ValueError:
            continue
    units = [u for u in dict.fromkeys(units) if 0 <= u < hidden]
    return units[:MAX_LINES] or list(range(min(hidden, 4)))


class ActivationsPanel(TimeCanvas):
    """Fed `update(frame, selection)`; reads trace.hidden[l, d, :, b, :] and trace.saturation."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.units_edit = QtWidgets.QLineEdit()
        self.units_edit.setPlaceholderText("e.g. 0,1,5-7")
        self.units_edit.setMaximumWidth(180)
        self.units_edit.setToolTip("Hidden units drawn in the line plot (at most 8)")
        self.units_edit.editingFinished.connect(self._redraw)
        self.toolbar.addWidget(QtWidgets.QLabel("Units in line plot:"))
        self.toolbar.addWidget(self.units_edit)
        self.toolbar.addStretch(1)

        self.heat_plot = self.add_plot(0, 0, "Hidden state h_t", "timestep t", "hidden unit", colspan=2)
        self.heatmap = Heatmap(self.heat_plot, "h_t value")
        self.add_time_plot(self.heat_plot, self._heat_value)

        self.line_plot = self.add_plot(1, 0, "Units", "timestep t", "h_t value")
        self.line_plot.setClipToView(True)
        self.line_plot.setDownsampling(auto=True, mode="peak")
        self.add_time_plot(self.line_plot, self._line_value)
        self.lines: list[pg.PlotDataItem] = []

        self.hist_plot = self.add_plot(1, 1, "Histogram of h_t", "h_t (all units and batch elements)", "count")
        # The count axis only widens: a narrower label (Reset, another t) does not re-lay out and repaint the panel.
        self.hist_plot.getAxis("left").setStyle(autoReduceTextSpace=False)
        # An opaque fill (#1f77b4 at 60% over white, as it was drawn): a translucent one is blended pixel by
        # pixel, 2 ms of every histogram paint against 0.4.
        self.hist = pg.PlotDataItem(stepMode="center", fillLevel=0, brush=pg.mkBrush(130, 178, 211),
                                    pen=pg.mkPen("#1f77b4"))
        self.hist_plot.addItem(self.hist)
        self.graphics.ci.layout.setRowStretchFactor(0, 3)
        self.graphics.ci.layout.setRowStretchFactor(1, 2)

        self.frame: Frame | None = None
        self.selection = Selection()
        self._hidden = np.full((1, 1), np.nan)  # (T, H) of the selected slice (W, H: a window)
        self._slice = SliceCopy()   # keeps _hidden up to date one forward cell at a time
        self._times, self._series = np.zeros(1, dtype=int), np.full((1, 1), np.nan)  # what the line plot draws
        self._levels = (-1.0, 1.0)
        self._key = None
        self._hist_key, self._hist_top = None, 1
        self._shown = None   # (run_id, position, t, selection, total) of the frame drawn last

    # -- data in ------------------------------------------------------------------------
    def show_frame(self, frame: Frame, selection: Selection) -> None:
        """Draw `frame`'s hidden states for `selection`, unless nothing this panel shows changed."""
        unchanged = self._unchanged(frame, selection)
        self._shown = (frame.run_id, frame.position, frame.t, selection, frame.total)
        self.frame, self.selection = frame, selection
        if not unchanged:
            self._redraw()

    def _unchanged(self, frame: Frame, selection: Selection) -> bool:
        """Same run, selection and time cursor, and no forward cell of the selected layer and direction
        done or undone in between: with 2+ layers, every other forward step is another layer's cell."""
        last = self._shown
        if last is None or (last[0], last[2:]) != (frame.run_id, (frame.t, selection, frame.total)):
            return False
        lo, hi = sorted((last[1], frame.position))
        if hi - lo > 256 or not frame.schedule:
            return False
        return not any(cell.phase == "forward" and cell.layer == selection.layer and cell.direction == selection.direction
                       for cell in frame.schedule[lo:hi])

    def _redraw(self) -> None:
        frame, sel = self.frame, self.selection
        if frame is None:
            return
        trace = frame.trace
        hidden = np.asarray(trace.hidden)
        layer, direction = min(sel.layer, hidden.shape[0] - 1), min(sel.direction, hidden.shape[1] - 1)
        batch = min(sel.batch, hidden.shape[3] - 1)
        # The panel's own copy, one forward cell at a time (a window's arrays are new every frame,
        # so a run recorded to disk copies its W timesteps whole: engine/window.py).
        changed = self._slice.update(hidden, frame, (layer, direction, batch), "forward")
        self._hidden = self._slice.values  # (W, H), W = T unless a window
        self._times, self._series = time_axis(trace, "hidden", layer, direction, batch)
        T, H = trace.seq_len, self._hidden.shape[1]
        relu = trace.nonlinearity == "relu"  # what makes H_t: relu only for relu RNNs
        key = (T, H, relu, layer, direction)
        if relu:  # unbounded: levels follow the largest |h| so far and never shrink mid-run
            m = finite_absmax(hidden[layer, direction])
            self._levels = (-max(m, self._levels[1]) if key == self._key else -m, max(m, self._levels[1]) if key == self._key else m)
        else:
            self._levels = (-1.0, 1.0)
        self._key = key
        where = f"layer {layer}" + (f", direction {direction}" if hidden.shape[1] > 1 else "") + f", batch element {batch}"
        set_title(self.heat_plot, f"Hidden state h_t, units x time  ({where})", size="11pt")
        draw_time_heatmap(self.heatmap, trace, "hidden", layer, direction, batch, self._levels,
                          values=self._hidden, columns=changed)

        units = parse_units(self.units_edit.text(), H)
        while len(self.lines) < len(units):
            i = len(self.lines)
            colour = LINE_COLOURS[i % len(LINE_COLOURS)]  # symbols too: 40 dots a line would hide its colour
            # QPen/QBrush objects, not colour strings: pyqtgraph parses a string anew on every setData
            # (0.3 ms a line, a third of a step's redraw).
            item = cache_item(self.line_plot.plot(pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=5,
                                                  symbolBrush=pg.mkBrush(colour), symbolPen=pg.mkPen(colour),
                                                  connect="finite"))
            self.lines.append(item)
        for i, item in enumerate(self.lines):
            if i < len(units):
                set_series(item, self._times, self._series[:, units[i]])
                item.setSymbol("o" if T <= 100 else None)
                item.show()
            else:
                item.hide()
        set_title(self.line_plot, coloured_title("Units", [str(u) for u in units], LINE_COLOURS), size="11pt")
        span = 0.05 * (self._levels[1] - self._levels[0])
        set_range(self.line_plot, (-0.5, T - 0.5), (self._levels[0] - span, self._levels[1] + span))
        integer_ticks(self.line_plot.getAxis("bottom"), T)

        self._draw_histogram(frame, layer, direction)
        self.set_cursor(frame.t)

    def _draw_histogram(self, frame: Frame, layer: int, direction: int) -> None:
        t = frame.t
        trace = frame.trace
        if t is None:
            values = np.empty(0)
        else:
            values = np.asarray(trace.hidden[layer, direction, t - window_start(trace)]).ravel()  # all batch elements, all units
            values = values[np.isfinite(values)]
        lo, hi = self._levels
        bins = HIST_BINS if values.size >= 200 else 20
        counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
        self.hist.setData(edges, counts)
        top = max(1, int(counts.max()) if counts.size else 1)
        top = 2 ** int(np.ceil(np.log2(top)))  # steps of powers of two: the axis is not redrawn every frame
        key = (self._key, lo, hi)
        if key == self._hist_key:  # never lower for one network and selection, Reset included: no axis redraw
            top = max(top, self._hist_top)  # and re-layout back and forth, and none on the first step after Reset
        self._hist_key, self._hist_top = key, top
        set_range(self.hist_plot, (lo - 0.02 * (hi - lo), hi + 0.02 * (hi - lo)), (0, top * 1.05))
        sat = np.nan
        if t is not None and trace.saturation is not None:
            sat = float(np.asarray(trace.saturation)[layer, direction, t])
        sat_text = "" if not np.isfinite(sat) else f": {sat:.0%} saturated"
        # In the title, not over the bars; the clipped title label never re-lays out the plots.
        set_title(self.hist_plot, f"Histogram, t={t}{sat_text}" if t is not None else "Histogram of h_t", size="11pt")

    # -- hover --------------------------------------------------------------------------
    def _heat_value(self, x, y):
        return self.heatmap.hover_text("h_t", x, y)

    def _line_value(self, x, y):
        t = int(np.floor(x + 0.5))
        found = np.flatnonzero(self._times == t)
        if not found.size:
            return None
        units = parse_units(self.units_edit.text(), self._series.shape[1])
        vals = ", ".join(f"unit {u}: {self._series[found[0], u]:.4g}" for u in units)
        return f"t={t}: {vals}"

    def column(self, t: int) -> np.ndarray:
        """The heatmap's column for timestep t as drawn (units of the selected batch element): for tests."""
        return self.heatmap.data[:, t - self.heatmap.x0]
