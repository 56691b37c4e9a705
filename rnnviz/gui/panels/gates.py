"""Gates over time: a units x time heatmap per gate (GRU r/z/n, LSTM i/f/g/o) and the LSTM's cell
state c_t, under the same time cursor as the other panels, and the saturated fraction of each gate."""
from __future__ import annotations

import numpy as np

from rnnviz.engine.gates import gates_of
from rnnviz.engine.window import saturated_fraction_axis

from ..frame import Frame, Selection
from ..qt import QtWidgets, pg
from ..style import LINE_COLOURS, set_title
from .common import TimeCanvas, cache_items, coloured_title, finite_absmax, integer_ticks, set_range, set_series
from .heatmap import Heatmap, draw_time_heatmap


class GatesPanel(TimeCanvas):
    """Fed `show_frame(frame, selection)`; reads trace.gates[k][l, d, :, b, :] and trace.cell."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.note = QtWidgets.QLabel("")
        self.note.setWordWrap(True)
        self.toolbar.addWidget(self.note)
        self.toolbar.addStretch(1)
        self.frame: Frame | None = None
        self.selection = Selection()
        self.kind: str | None = None
        self.heatmaps: dict[str, Heatmap] = {}   # gate key (or 'C' for c_t) -> heatmap
        self.fraction_plot = None
        self.fraction_lines: dict[str, pg.PlotDataItem] = {}
        self.fractions: dict[str, np.ndarray] = {}  # gate key -> (T,) saturated fraction of the selection
        self._fraction_times = np.zeros(0, dtype=int)   # the timesteps of those (a run on disk: not every one)

    # -- layout per kind ----------------------------------------------------------------
    def _make_plots(self, kind: str) -> None:
        self.graphics.clear()
        self._plots.clear()
        self.heatmaps, self.fraction_lines = {}, {}
        self.kind = kind
        gates = gates_of(kind)
        if not gates:
            self.fraction_plot = None
            self.note.setText("This network has no gates (a plain RNN): build a GRU or an LSTM, or their cells, to see them here.")
            return
        self.note.setText("Gates of the selected layer, direction and batch element; click a plot to move there.")
        panels = [(g.key, g.label, g.levels) for g in gates] + ([("C", "c_t  cell state", None)] if kind == "lstm" else [])
        last_row = len(panels) // 2  # the saturated-fraction plot's row, or the last heatmaps' row
        for i, (key, label, levels) in enumerate(panels):
            plot = self.add_plot(i // 2, i % 2, label, "timestep t", "unit")
            heatmap = Heatmap(plot, "value", levels=levels or (-1.0, 1.0))
            # Five heatmaps share one dock: axis names once (the bottom row), the colour bar bare.
            heatmap.bar.getAxis("left").showLabel(False)
            if i // 2 < last_row - (0 if len(panels) % 2 else 1):
                plot.getAxis("bottom").showLabel(False)
            self.heatmaps[key] = heatmap
            self.add_time_plot(plot, lambda x, y, k=key, n=label: self._heat_value(k, n, x, y))
        row = (len(panels) + 1) // 2
        if len(panels) % 2:  # an odd count leaves a cell free next to the last heatmap: use it
            row, col, span = row - 1, 1, 1
        else:
            col, span = 0, 2
        self.fraction_plot = self.add_plot(row, col, "Saturated fraction", "timestep t", "fraction", colspan=span)
        self.add_time_plot(self.fraction_plot, self._fraction_value)
        for i, gate in enumerate(gates):
            colour = LINE_COLOURS[i % len(LINE_COLOURS)]
            self.fraction_lines[gate.key] = self.fraction_plot.plot(
                pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=4, symbolBrush=colour, symbolPen=colour,
                connect="finite")
        set_title(self.fraction_plot, coloured_title("Saturated", [g.key.lower() for g in gates], LINE_COLOURS),
                  size="11pt")
        self.fraction_plot.getAxis("left").setTicks([[(0.0, "0"), (0.5, ".5"), (1.0, "1")], []])
        cache_items(self.graphics.scene())

    # -- data in ------------------------------------------------------------------------
    def show_frame(self, frame: Frame, selection: Selection) -> None:
        self.frame, self.selection = frame, selection
        trace = frame.trace
        kind = trace.kind
        if kind != self.kind:
            self._make_plots(kind)
        if not self.heatmaps:
            return
        gates = gates_of(kind)
        some = np.asarray(trace.gates[gates[0].key])
        L, D, _, B, H = some.shape
        T = trace.seq_len   # the gates hold a window of it for a run recorded to disk (engine/window.py)
        layer, direction, batch = min(selection.layer, L - 1), min(selection.direction, D - 1), min(selection.batch, B - 1)
        where = f"layer {layer}" + (f", direction {direction}" if D > 1 else "") + f", batch element {batch}"
        self.note.setText(f"Gates of {where} (the selection above); click a plot to move there.")
        for gate in gates:
            draw_time_heatmap(self.heatmaps[gate.key], trace, None, layer, direction, batch, gate.levels, gate=gate.key)
            set_title(self.heatmaps[gate.key].plot, gate.label, size="11pt")
            _end_ticks(self.heatmaps[gate.key], H)
        if "C" in self.heatmaps and trace.cell is not None:
            m = finite_absmax(np.asarray(trace.cell)[layer, direction])
            draw_time_heatmap(self.heatmaps["C"], trace, "cell", layer, direction, batch, (-m, m))
            set_title(self.heatmaps["C"].plot, "c_t  cell state", size="11pt")
            _end_ticks(self.heatmaps["C"], H)
        # the selected layer and direction only: this runs on every frame
        # (a run recorded to disk: the overview's timesteps and the window's, engine/window.py)
        t_axis = None
        self.fractions = {}
        for g in gates:
            t_axis, self.fractions[g.key] = saturated_fraction_axis(trace, g.key, g.squash, layer, direction)
        self._fraction_times = t_axis
        for key, line in self.fraction_lines.items():
            set_series(line, t_axis, self.fractions[key])
            line.setSymbol("o" if T <= 100 else None)
        set_range(self.fraction_plot, (-0.5, T - 0.5), (-0.03, 1.03))
        integer_ticks(self.fraction_plot.getAxis("bottom"), T)
        self.set_cursor(frame.t)

    # -- read-outs ----------------------------------------------------------------------
    def gate_values(self, key: str) -> np.ndarray:
        """The heatmap of gate `key` ('C' for c_t) as drawn, (units, T) (from timestep heatmap.x0): for tests."""
        return self.heatmaps[key].data

    def _heat_value(self, key, label, x, y):
        return self.heatmaps[key].hover_text(label.split()[0], x, y)

    def _fraction_value(self, x, y):
        found = np.flatnonzero(self._fraction_times == int(np.floor(x + 0.5)))
        if not found.size:
            return None
        t, i = int(self._fraction_times[found[0]]), int(found[0])
        parts = [f"{k.lower()}: {v[i]:.0%}" for k, v in self.fractions.items() if np.isfinite(v[i])]
        return f"saturated at t={t}: " + ", ".join(parts) if parts else None


def _end_ticks(heatmap: Heatmap, units: int) -> None:
    """Label only the ends of the unit axis and the colour bar: a heatmap a few rows of text high
    has room for two labels, and pyqtgraph's own choice overlaps there."""
    lo, hi = heatmap.levels
    wanted = (units, lo, hi)
    if getattr(heatmap, "_rnnviz_end_ticks", None) == wanted:
        return  # setTicks redraws the axis: only when something changed
    heatmap._rnnviz_end_ticks = wanted
    heatmap.plot.getAxis("left").setTicks([[(0, "0"), (units - 1, str(units - 1))], []])
    heatmap.bar.getAxis("right").setTicks([[(lo, f"{lo:.2g}"), (hi, f"{hi:.2g}")], []])
