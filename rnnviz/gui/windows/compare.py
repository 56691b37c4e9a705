"""Compare: two configurations side by side on the same input and seed, synchronised by t.

Both specs run through rnnviz.record (forward and backward) in a worker thread; the top plot
overlays their |dL/dh_t| on one log axis, and below each gets its hidden-state heatmap. One
t slider (or a click on any plot) moves the cursor in all of them.
"""
from __future__ import annotations

import numpy as np
from superqt.utils import GeneratorWorker

from rnnviz.teaching.presets import get_preset, preset_names

from ..jobs import Failed, guarded
from ..panels.common import LogAxis, TimeCanvas, coloured_title, finite_absmax
from ..panels.heatmap import Heatmap
from ..qt import QtCore, QtWidgets, pg
from ..style import LINE_COLOURS, set_title, style_plot

OVERLAY_TITLE = "‖dL/dh_t‖ of the top layer"

PAIRS = {
    "tanh vs relu": lambda: (get_preset("vanishing-tanh"), get_preset("vanishing-tanh").replace(nonlinearity="relu")),
    "RNN vs LSTM": lambda: (get_preset("vanishing-tanh"), get_preset("lstm-memory")),
    "vanishing vs exploding": lambda: (get_preset("vanishing-tanh"), get_preset("exploding-relu")),
}
SAME_INPUT_FIELDS = ("seed", "input_size", "seq_len", "batch_size", "input_source", "text", "batch_first")


def label_of(spec) -> str:
    extra = f", {spec.nonlinearity}" if spec.base_kind == "rnn" else ""
    scale = f", W_hh radius {spec.whh_scale:g}" if spec.whh_scale else ""
    return f"{spec.kind}{extra}{scale}"


def same_input(a, b):
    """b with a's input fields (seed, sizes, source), so both see the very same sequence."""
    return b.replace(**{f: getattr(a, f) for f in SAME_INPUT_FIELDS})


@guarded
def _record_both(a, b):
    from rnnviz.engine.record import record

    yield record(a), record(b)


class CompareView(QtWidgets.QWidget):
    computed = QtCore.Signal()

    def __init__(self, pair: str = "RNN vs LSTM", parent=None):
        super().__init__(parent)
        self.setWindowTitle("rnnviz — compare")
        self.specs = (None, None)
        self.traces = (None, None)
        self.worker = None
        self.pair = QtWidgets.QComboBox()
        self.pair.addItems(list(PAIRS) + ["(choose presets)"])
        self.preset_a, self.preset_b = QtWidgets.QComboBox(), QtWidgets.QComboBox()
        for box in (self.preset_a, self.preset_b):
            box.addItems(preset_names())
        self.run_button = QtWidgets.QPushButton("Run both")
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.t_label = QtWidgets.QLabel("t = 0")
        self.message = QtWidgets.QLabel()
        self.message.setWordWrap(True)
        top = QtWidgets.QHBoxLayout()
        for w in (QtWidgets.QLabel("Compare"), self.pair, QtWidgets.QLabel("A"), self.preset_a,
                  QtWidgets.QLabel("B"), self.preset_b, self.run_button):
            top.addWidget(w)
        top.addStretch(1)
        slider_row = QtWidgets.QHBoxLayout()
        slider_row.addWidget(self.t_label)
        slider_row.addWidget(self.slider, 1)

        # The shared time-axis canvas: one cursor per plot, click-to-seek and the hover read-out.
        self.canvas = TimeCanvas()
        self.graphics = self.canvas.graphics
        self.overlay = self.graphics.addPlot(row=0, col=0, colspan=2, axisItems={"left": LogAxis("left")})
        style_plot(self.overlay, OVERLAY_TITLE, "timestep t", "‖dL/dh_t‖ (log scale)")
        self.overlay.setLogMode(y=True)
        self.overlay.getAxis("left").enableAutoSIPrefix(False)
        self.overlay.showGrid(x=True, y=True, alpha=0.25)
        self.curves = [self.overlay.plot(pen=pg.mkPen(LINE_COLOURS[i], width=3), symbol="o", symbolSize=6,
                                         symbolBrush=LINE_COLOURS[i]) for i in range(2)]
        # The key is in the title (as in the main window): a legend would sit on the curves.
        self.heat_plots = [self.graphics.addPlot(row=1, col=i) for i in range(2)]
        self.heatmaps = []
        for i, plot in enumerate(self.heat_plots):
            style_plot(plot, f"{'AB'[i]}: hidden state h_t (batch element 0)", "timestep t", "hidden unit")
            self.heatmaps.append(Heatmap(plot, "h_t value"))
        self.canvas.add_time_plot(self.overlay, self._overlay_value)
        for i, plot in enumerate(self.heat_plots):
            self.canvas.add_time_plot(plot, lambda x, y, i=i: self._heat_value(i, x, y))
        self.canvas.seek.connect(self._clicked)

        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(slider_row)
        layout.addWidget(self.message)
        self.pair.currentTextChanged.connect(self._pair_chosen)
        self.run_button.clicked.connect(self.run)
        self.slider.valueChanged.connect(self.set_t)
        self.pair.setCurrentText(pair)
        self._pair_chosen(pair)

    def _pair_chosen(self, name: str) -> None:
        custom = name not in PAIRS
        self.preset_a.setEnabled(custom)
        self.preset_b.setEnabled(custom)
        if not custom:
            a, b = PAIRS[name]()
            self.preset_a.setCurrentText(_name_of(a) or self.preset_a.currentText())
            self.preset_b.setCurrentText(_name_of(b) or self.preset_b.currentText())

    def chosen_specs(self):
        name = self.pair.currentText()
        if name in PAIRS:
            a, b = PAIRS[name]()
        else:
            a, b = get_preset(self.preset_a.currentText()), get_preset(self.preset_b.currentText())
        return a, same_input(a, b)

    def run(self, specs=None) -> None:
        """Record both configurations off the GUI thread; `computed` when both are shown."""
        from rnnviz.engine.spec import SpecError

        try:
            a, b = specs or self.chosen_specs()
        except SpecError as exc:
            self.message.setText(f"These two cannot share an input: {exc}")
            return
        self.specs = (a, b)
        self.message.setText("running…")
        worker = GeneratorWorker(_record_both, a, b)
        worker.yielded.connect(self._done)
        worker.finished.connect(lambda: setattr(self, "worker", None))
        self.worker = worker
        worker.start()

    def _done(self, item) -> None:
        if isinstance(item, Failed):
            from rnnviz.errors import user_message

            self.message.setText(user_message(item.exc))
            return
        ta, tb = item
        self.traces = (ta, tb)
        T = ta.hidden.shape[2]
        for i, (spec, trace) in enumerate(zip(self.specs, self.traces)):
            grad = trace.grad_norm[-1, 0]
            keep = np.isfinite(grad) & (grad > 0)
            self.curves[i].setData(np.arange(T)[keep], grad[keep])
            hidden = trace.hidden[-1, 0, :, 0].T  # (H, T)
            # tanh, GRU and LSTM keep h_t in (-1, 1): fixed levels, as in the main window, so the two
            # heatmaps compare colour for colour; relu is unbounded: its largest |h_t|.
            relu = spec.base_kind == "rnn" and spec.nonlinearity == "relu"
            m = finite_absmax(hidden) if relu else 1.0
            self.heatmaps[i].set(hidden.astype(np.float32), levels=(-m, m))
            self.heat_plots[i].setRange(xRange=(-0.5, T - 0.5), yRange=(-0.5, hidden.shape[0] - 0.5), padding=0)
            set_title(self.heat_plots[i], f"{'AB'[i]}: {label_of(spec)}: h_t, top layer, batch element 0")
        keys = [f"{'AB'[i]}: {label_of(s)}" for i, s in enumerate(self.specs)]
        set_title(self.overlay, coloured_title(OVERLAY_TITLE, keys, LINE_COLOURS))
        self.overlay.setXRange(-0.5, T - 0.5, padding=0.02)
        ga, gb = (t.grad_norm[-1, 0, 0] for t in self.traces)
        self.message.setText(f"dL/dh_0: A {ga:.3g}, B {gb:.3g} (B/A = {gb / ga:.3g}); same input and seed "
                             f"({self.specs[0].seq_len} steps, seed {self.specs[0].seed}).")
        self.slider.setRange(0, T - 1)
        self.set_t(self.slider.value())
        self.computed.emit()

    def set_t(self, t: int) -> None:
        """Move every plot's cursor to timestep t."""
        with QtCore.QSignalBlocker(self.slider):
            self.slider.setValue(t)
        self.canvas.set_cursor(t)
        self.t_label.setText(f"t = {t}")

    def cursor_positions(self) -> list[float]:
        return self.canvas.cursor_values()

    def _clicked(self, t: int) -> None:
        self.set_t(int(np.clip(t, self.slider.minimum(), self.slider.maximum())))

    # -- hover --------------------------------------------------------------------------
    def _overlay_value(self, x, y):
        if self.traces[0] is None:
            return None
        t = int(np.floor(x + 0.5))
        values = [trace.grad_norm[-1, 0, t] for trace in self.traces if 0 <= t < trace.grad_norm.shape[-1]]
        if len(values) != 2:
            return None
        return f"‖dL/dh_t‖ at t={t}: A {values[0]:.3g}, B {values[1]:.3g}"

    def _heat_value(self, i: int, x, y):
        text = self.heatmaps[i].hover_text("h_t", x, y)
        return None if text is None else f"{'AB'[i]}: {text}"


def _name_of(spec) -> str:
    for name in preset_names():
        if get_preset(name) == spec:
            return name
    return ""
