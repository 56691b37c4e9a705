"""Gradients: |dL/dh_t| vs t per layer, dL/dh_t heatmap, per-parameter gradient norms, dL/dW_hh per t."""
from __future__ import annotations

import numpy as np

from rnnviz.engine.names import parameter_names

from ..frame import Frame, Selection
from ..qt import QtCore, QtGui, QtWidgets, pg
from ..style import DIVERGING, LINE_COLOURS, MAGNITUDE, set_title
from .common import (SliceCopy, TimeCanvas, cache_item, coloured_title, finite_absmax, integer_ticks, set_log_y,
                     set_range, set_series, steady_range)
from .heatmap import Heatmap, draw_time_heatmap


def log_magnitude(values: np.ndarray) -> np.ndarray:
    """log10|values|; zero and NaN (not reached yet) become NaN, drawn blank."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log10(np.abs(np.asarray(values, dtype=np.float64)))
    out[~np.isfinite(out)] = np.nan
    return out


def decade_levels(values: np.ndarray) -> tuple[float, float]:
    """Whole decades around the finite values of log10|x| (at least one decade): the colour bar
    changes only when the gradient crosses a power of ten."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return (-1.0, 0.0)
    lo, hi = float(np.floor(finite.min())), float(np.ceil(finite.max()))
    return (lo, hi if hi > lo else lo + 1.0)


def magnitude_levels(values: np.ndarray) -> tuple[float, float]:
    """decade_levels(log_magnitude(values)), from the smallest and largest finite nonzero |x| alone
    (log10 is monotonic): no log of every element per frame (~6 ms at T=1000, H=512)."""
    magnitude = np.abs(values)
    with np.errstate(invalid="ignore"):
        keep = np.isfinite(magnitude) & (magnitude > 0)
    if not keep.any():
        return decade_levels(np.empty(0))
    kept = magnitude[keep]
    return decade_levels(log_magnitude(np.array([kept.min(), kept.max()])))


EMPTY_HINT = "run the backward pass (B) to fill this"
BAR_LABEL_PITCH = 14  # pixels per parameter name on the bar plot's axis
NAME_MARGIN = 4       # pixels a name's tick label takes beyond its text advance (pyqtgraph's bounding box)
# Once the backward pass is under way the plain hint would be false: say what the plot waits for.
PARAMS_HINT = "the bars fill once the backward pass reaches t=0"
NO_TERMS_HINT = "this recording holds no per-step dL/dW_hh terms"


def _hint_html(text: str) -> str:
    return text.replace(" to fill", "<br>to fill")  # break after "(B)", not before "this"


def _empty_hint(plot: pg.PlotItem) -> QtWidgets.QGraphicsTextItem:
    """Grey text centred in the plot's view box (pixels, not data coordinates: it stays put whatever
    the axis range or log mode); shown while the plot has nothing to draw."""
    item = QtWidgets.QGraphicsTextItem(plot.vb)
    item.setHtml(_hint_html(EMPTY_HINT))
    item.hint_text = EMPTY_HINT
    # Painted directly, never from Qt's item cache: re-laid out to a new width when its dock is
    # resized, its cached pixmap was not redrawn and the hint vanished.
    item.never_cached = True
    item.setDefaultTextColor(QtGui.QColor("#888888"))
    font = item.font()
    font.setPointSizeF(12)
    font.setItalic(True)
    item.setFont(font)
    item.document().setDefaultTextOption(QtGui.QTextOption(QtCore.Qt.AlignmentFlag.AlignCenter))
    item.setZValue(100)

    def place() -> None:
        rect = plot.vb.rect()
        item.setTextWidth(max(60.0, rect.width() - 12))
        box = item.boundingRect()
        item.setPos(rect.center().x() - box.width() / 2, rect.center().y() - box.height() / 2)

    plot.vb.sigResized.connect(place)
    place()
    return item


def _show_hint(plot: pg.PlotItem, hint: QtWidgets.QGraphicsTextItem, empty: bool, hide_y_values: bool = False,
               text: str = EMPTY_HINT) -> None:
    if empty and text != hint.hint_text:
        hint.hint_text = text
        hint.setHtml(_hint_html(text))
        plot.vb.sigResized.emit(plot.vb)  # re-centre the new text
    hint.setVisible(empty)
    axis = plot.getAxis("left")
    if hide_y_values and getattr(axis, "_rnnviz_blank", None) != empty:
        # An empty log axis shows arbitrary ticks ("2, 5"): none while empty. An empty tick list, not
        # showValues=False, so the axis keeps its width (it only widens): neither Reset nor the first
        # gradients re-lay out and repaint the whole panel.
        axis._rnnviz_blank = empty
        axis.setTicks([[], []] if empty else None)


def _series_name(layer: int, direction: int, directions: int) -> str:
    return f"layer {layer}" + (f" {'fwd' if direction == 0 else 'rev'}" if directions > 1 else "")


class GradientsPanel(TimeCanvas):
    """Fed `update(frame, selection)`; reads trace.grad_norm, hidden_grad, param_grad_norms, whh_grad_contrib_norm."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.log_box = QtWidgets.QCheckBox("Log scale")
        self.log_box.setChecked(True)
        self.log_box.setToolTip("Logarithmic y axis for the gradient-norm plots (a vanishing gradient is a straight "
                                "line) and log10|dL/dh_t| in the heatmap; off: the signed dL/dh_t")
        self.log_box.toggled.connect(self._set_log)
        self.toolbar.addWidget(self.log_box)
        self.toolbar.addStretch(1)

        self.norm_plot = self.add_plot(0, 0, "‖dL/dh_t‖ per layer", "timestep t", "‖dL/dh_t‖", log_y=True)
        self.add_time_plot(self.norm_plot, self._norm_value)
        self.heat_plot = self.add_plot(0, 1, "dL/dh_t", "timestep t", "hidden unit")
        self.heatmap = Heatmap(self.heat_plot, "dL/dh_t", levels=(-1.0, 1.0))
        self.add_time_plot(self.heat_plot, self._heat_value)
        self.param_plot = self.add_plot(1, 0, "‖dL/dθ‖ per parameter", "‖dL/dθ‖", "")
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[], brush="#1f77b4")
        self.param_plot.addItem(self.bars)
        # The names axis only widens: clearing the names (Reset) does not re-lay out and repaint the panel twice.
        self.param_plot.getAxis("left").setStyle(autoReduceTextSpace=False)
        self.contrib_plot = self.add_plot(1, 1, "Term t of dL/dW_hh", "timestep t", "‖term t‖", log_y=True)
        self.add_time_plot(self.contrib_plot, self._contrib_value)
        for col in (0, 1):
            self.graphics.ci.layout.setColumnStretchFactor(col, 1)
        self.hints = {id(plot): _empty_hint(plot)
                      for plot in (self.norm_plot, self.heat_plot, self.param_plot, self.contrib_plot)}
        for plot in (self.norm_plot, self.contrib_plot):
            # Only widens, as the names axis: a backward step's new decade ("10⁻³" after "0.01") re-laid out
            # and repainted the whole panel (15 ms + a 45 ms paint at seed-rnn).
            axis = plot.getAxis("left")
            axis.setStyle(autoReduceTextSpace=False)
            # Room from the start for the usual labels (0.0005, 10⁻¹⁰): the first gradients do not widen it.
            axis.textWidth = QtGui.QFontMetrics(axis.style["tickFont"] or axis.font()).horizontalAdvance("0.0005")
            axis._updateWidth()
        self.heatmap.bar.getAxis("right").setStyle(autoReduceTextSpace=False)
        self.norm_lines: list[pg.PlotDataItem] = []
        self.contrib_lines: list[pg.PlotDataItem] = []
        self.frame: Frame | None = None
        self.selection = Selection()
        self._grad = np.full((1, 1), np.nan)
        self._slice = SliceCopy()   # keeps _grad up to date one backward cell at a time
        self._extremes = None       # (T,) smallest and largest finite nonzero |dL/dh_t| per timestep
        self._param_names: list[str] = []
        self._bar_names: list[str] | None = None
        self._names_reserved = None   # (layers, directions, is_cell, names) the names axis was widened for
        self._bar_step = 0  # every k-th bar named: as many names as the plot's height has room for
        self.param_plot.vb.sigResized.connect(lambda *_: self._label_bars())
        self._norms = self._contrib = None   # what the hover reads: copies of the drawn values
        self._shown = None   # (run_id, backward cells done, total, selection) drawn last
        self._set_log(True)

    def _set_log(self, on: bool) -> None:
        for plot in (self.norm_plot, self.contrib_plot):
            set_log_y(plot, on)
        if on:  # magnitude in decades: the early, vanishing steps get colours too
            self.heatmap.set_colormap(MAGNITUDE, "log10 |dL/dh_t|", log_magnitude)
        else:
            self.heatmap.set_colormap(DIVERGING, "dL/dh_t")
        if self.frame is not None:
            self._draw(self.frame, self.selection)

    def _lines(self, plot: pg.PlotItem, store: list, count: int, names: list[str]) -> list[pg.PlotDataItem]:
        while len(store) < count:
            colour = LINE_COLOURS[len(store) % len(LINE_COLOURS)]
            # QPen/QBrush objects (pyqtgraph's default symbol pen made once): a colour string or tuple
            # is parsed anew on every setData.
            store.append(cache_item(plot.plot(pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=5,
                                              symbolBrush=pg.mkBrush(colour), symbolPen=pg.mkPen((200, 200, 200)),
                                              connect="finite")))
        for i, item in enumerate(store):
            item.setVisible(i < count)
        return store[:count]

    def _fit_log_y(self, plot, values: np.ndarray) -> None:
        """Fit the y range to the finite positive values (log or linear axis)."""
        positive = values[np.isfinite(values) & (values > 0)]
        if not positive.size:
            return
        lo, hi = float(positive.min()), float(positive.max())
        if self.log_box.isChecked():  # in decades, at least one shown
            steady_range(plot, "y", float(np.log10(lo)), float(np.log10(hi)), 1.0)
        else:
            steady_range(plot, "y", 0.0, hi, hi or 1.0, pin_low=True)

    @staticmethod
    def _positive(values: np.ndarray) -> np.ndarray:
        """Zero and NaN become NaN so the log axis shows a gap, not -inf."""
        out = np.array(values, dtype=np.float64)
        out[~(out > 0)] = np.nan
        return out

    def show_frame(self, frame: Frame, selection: Selection) -> None:
        """Draw `frame`'s gradients; a step that changes none (a forward step, the same selection) only
        moves the time cursor."""
        shown = (frame.run_id, max(0, frame.position - frame.num_forward), frame.total, selection)
        unchanged, self._shown = shown == self._shown, shown
        if unchanged:
            self.frame = frame
            self.set_cursor(frame.t)
        else:
            self._draw(frame, selection)

    def _draw(self, frame: Frame, selection: Selection) -> None:
        self.frame, self.selection = frame, selection
        trace = frame.trace
        # Copies: the plots keep them after this call, while a run goes on writing the trace's arrays.
        grad_norm = np.array(trace.grad_norm)  # (L, D, T)
        L, D, T = grad_norm.shape
        names = [_series_name(l, d, D) for l in range(L) for d in range(D)]
        t_axis = np.arange(T)
        symbols = "o" if T <= 100 else None
        for item, series in zip(self._lines(self.norm_plot, self.norm_lines, L * D, names), grad_norm.reshape(L * D, T)):
            set_series(item, t_axis, self._positive(series))
            item.setSymbol(symbols)
        self._norms = grad_norm
        self._contrib = None if trace.whh_grad_contrib_norm is None else np.array(trace.whh_grad_contrib_norm)
        contrib = np.full((L, D, T), np.nan) if self._contrib is None else self._contrib
        for item, series in zip(self._lines(self.contrib_plot, self.contrib_lines, L * D, names), contrib.reshape(L * D, T)):
            set_series(item, t_axis, self._positive(series))
            item.setSymbol(symbols)
        waiting = "" if np.isfinite(grad_norm).any() else "  (press B)"
        _show_hint(self.norm_plot, self.hints[id(self.norm_plot)], not (grad_norm > 0).any(), hide_y_values=True)
        backward_begun = frame.position > frame.num_forward
        _show_hint(self.contrib_plot, self.hints[id(self.contrib_plot)], not (contrib > 0).any(), hide_y_values=True,
                   text=NO_TERMS_HINT if backward_begun and np.isfinite(grad_norm).any() else EMPTY_HINT)
        set_title(self.norm_plot, coloured_title("‖dL/dh_t‖" + waiting, names, LINE_COLOURS), size="11pt")
        set_title(self.contrib_plot, coloured_title("dL/dW_hh term t", names if L * D > 1 else [], LINE_COLOURS), size="11pt")
        for plot in (self.norm_plot, self.contrib_plot):
            set_range(plot, x=(-0.5, T - 0.5))
            integer_ticks(plot.getAxis("bottom"), T)
            self._fit_log_y(plot, grad_norm if plot is self.norm_plot else contrib)

        hidden_grad = np.asarray(trace.hidden_grad)
        layer, direction = min(selection.layer, L - 1), min(selection.direction, D - 1)
        batch = min(selection.batch, hidden_grad.shape[3] - 1)
        # (T, H), the panel's own copy; (W, H) for a window (engine/window.py), whose arrays are new
        # every frame and so copied whole
        changed = self._slice.update(hidden_grad, frame, (layer, direction, batch), "backward")
        self._grad = self._slice.values
        lowest, highest, reached = self._update_extremes(changed)
        _show_hint(self.heat_plot, self.hints[id(self.heat_plot)], not reached.any())
        if self.log_box.isChecked():
            levels = decade_levels(log_magnitude(np.array([np.fmin.reduce(lowest), np.fmax.reduce(highest)])))
        else:
            m = finite_absmax(self._grad)
            levels = (-m, m)
        draw_time_heatmap(self.heatmap, trace, "hidden_grad", layer, direction, batch, levels,
                          values=self._grad, columns=changed)
        set_title(self.heat_plot, ("|dL/dh_t|" if self.log_box.isChecked() else "dL/dh_t") + f" (layer {layer}"
                  + (f" dir {direction}" if D > 1 else "") + f", batch {batch})", size="11pt")

        norms = trace.param_grad_norms
        self._param_names = list(norms)
        self._reserve_name_width(L, D, trace.is_cell, self._param_names)
        values = np.array([norms[n] for n in self._param_names], dtype=np.float64)
        values = np.where(np.isfinite(values), values, 0.0)
        _show_hint(self.param_plot, self.hints[id(self.param_plot)], not (values > 0).any(),
                   text=PARAMS_HINT if frame.position > frame.num_forward else EMPTY_HINT)
        y = np.arange(len(values))
        self.bars.setOpts(x0=np.zeros(len(values)), y=y, width=values, height=0.7)
        if self._param_names != self._bar_names:
            self._bar_names = list(self._param_names)
            self._label_bars()
        if len(values):
            top = float(values.max()) or 1.0
            steady_range(self.param_plot, "x", 0.0, top, top, pin_low=True)
            set_range(self.param_plot, y=(-0.6, len(values) - 0.4))
        self.set_cursor(frame.t)

    def _update_extremes(self, changed: list[int] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per timestep of the copy: the smallest and largest finite nonzero |dL/dh_t| (NaN: none) and
        whether any value is finite. The colour levels (as magnitude_levels would find them) and the
        hint then read (T,) rows, not every element, per frame; only the changed rows are redone."""
        grad = self._grad
        T = len(grad)
        if changed is None or self._extremes is None or len(self._extremes[0]) != T:
            rows = np.arange(T)
            self._extremes = (np.full(T, np.nan, dtype=grad.dtype), np.full(T, np.nan, dtype=grad.dtype),
                              np.zeros(T, dtype=bool))
        else:
            rows = np.asarray(changed, dtype=np.intp)
        if rows.size:
            magnitude = np.abs(grad[rows])
            finite = np.isfinite(magnitude)
            with np.errstate(invalid="ignore"):
                magnitude[~(finite & (magnitude > 0))] = np.nan
            self._extremes[0][rows] = np.fmin.reduce(magnitude, axis=1)
            self._extremes[1][rows] = np.fmax.reduce(magnitude, axis=1)
            self._extremes[2][rows] = finite.any(axis=1)
        return self._extremes

    # -- hover --------------------------------------------------------------------------
    def _norm_value(self, x, y):
        return None if self._norms is None else self._series_value(x, self._norms, "‖dL/dh_t‖")

    def _contrib_value(self, x, y):
        return None if self._contrib is None else self._series_value(x, self._contrib, "‖term of dL/dW_hh‖")

    def _series_value(self, x, values, label):
        t = int(np.floor(x + 0.5))
        L, D, T = values.shape
        if not 0 <= t < T:
            return None
        parts = [f"{_series_name(l, d, D)}: {values[l, d, t]:.3g}" for l in range(L) for d in range(D)]
        return f"{label} at t={t}: " + ", ".join(parts)

    def _heat_value(self, x, y):
        hit = self.heatmap.value(x, y)
        if hit is None:
            return None
        t, unit, v = hit
        if np.isnan(v):
            return f"dL/dh_t[t={t}, unit={unit}] = not reached yet"
        log = f"  (log10|dL/dh_t| = {np.log10(abs(v)):.2f})" if self.log_box.isChecked() and v else ""
        return f"dL/dh_t[t={t}, unit={unit}] = {v:.4g}{log}"

    def _reserve_name_width(self, layers: int, directions: int, is_cell: bool, names: list[str]) -> None:
        """Widen the bar plot's names axis, before the backward pass names any bar, to the names its
        parameters will have (torch's, for this many layers and directions): the first backward step
        then does not re-lay out the whole panel (and repaint every plot in it) to make room."""
        key = (layers, directions, is_cell, tuple(names))
        if key == self._names_reserved:
            return
        self._names_reserved = key
        expected = [name for l in range(layers) for d in range(directions)
                    for name in parameter_names(l, d, is_cell).values()] + names
        axis = self.param_plot.getAxis("left")
        metrics = QtGui.QFontMetrics(axis.style["tickFont"] or axis.font())
        width = max(metrics.horizontalAdvance(name) for name in expected) + NAME_MARGIN
        if width > axis.textWidth:  # only widens, as the axis does itself
            axis.textWidth = width
            axis._updateWidth()

    def _label_bars(self) -> None:
        """Name every bar the axis has room for (a line of text each), every k-th when it has not:
        ten names in a plot 120 px high would print over each other."""
        names = self._bar_names or []
        room = max(1, int(self.param_plot.vb.height() // BAR_LABEL_PITCH))
        step = max(1, -(-len(names) // room))
        if step == self._bar_step and getattr(self, "_labelled", None) == names:
            return
        self._bar_step, self._labelled = step, list(names)
        self.param_plot.getAxis("left").setTicks([[(i, n) for i, n in enumerate(names) if i % step == 0]])
