"""Transport: Reset, Step back, Step, Play/Pause with speed, Stop, Run to end, Backward step,
Run backward to t=0, and a scrubber over the whole schedule. Emits intentions only."""
from __future__ import annotations

from .qt import QtCore, QtWidgets
from .widgets import StaticText

SPEEDS = (1, 2, 5, 10, 20, 30, 60, 120, 240)


class Transport(QtWidgets.QWidget):
    reset = QtCore.Signal()
    back = QtCore.Signal()
    step = QtCore.Signal()
    play = QtCore.Signal(bool)          # True = start playing, False = pause
    stop = QtCore.Signal()
    run_end = QtCore.Signal()
    back_step = QtCore.Signal()
    run_backward = QtCore.Signal()
    seek = QtCore.Signal(int)           # a schedule position 0..total
    speed_changed = QtCore.Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        self.buttons: dict[str, QtWidgets.QToolButton] = {}

        style = self.style()
        SP = QtWidgets.QStyle.StandardPixmap
        icons = {"reset": SP.SP_MediaSkipBackward, "back": SP.SP_ArrowLeft, "step": SP.SP_ArrowRight,
                 "stop": SP.SP_MediaStop, "run_end": SP.SP_MediaSkipForward, "back_step": SP.SP_ArrowBack,
                 "run_backward": SP.SP_MediaSeekBackward}

        def button(name, text, tip, signal):
            b = QtWidgets.QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.setIcon(style.standardIcon(icons[name]))
            b.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            b.clicked.connect(lambda *_: signal.emit())
            self.buttons[name] = b
            layout.addWidget(b)
            return b

        button("reset", "Reset", "Back to before the first cell (Home)", self.reset)
        button("back", "Back", "Undo the last cell (Left)", self.back)
        button("step", "Step", "Compute the next cell (Right)", self.step)
        self.play_button = QtWidgets.QToolButton()
        self.play_button.setText("Play")
        self.play_button.setIcon(style.standardIcon(SP.SP_MediaPlay))
        self.play_button.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play / pause: one cell per tick at the chosen speed (Space)")
        self.play_button.toggled.connect(self._play_toggled)
        self.buttons["play"] = self.play_button
        layout.addWidget(self.play_button)
        self.speed = QtWidgets.QComboBox()
        for s in SPEEDS:
            self.speed.addItem(f"{s} steps/s", float(s))
        self.speed.setCurrentIndex(SPEEDS.index(10))
        self.speed.setToolTip("Play speed")
        self.speed.currentIndexChanged.connect(lambda *_: self.speed_changed.emit(self.speed_value()))
        layout.addWidget(self.speed)
        button("stop", "Stop", "Stop a play or a run at once (Esc)", self.stop)
        button("run_end", "Run to end", "Run the forward pass to its end; in the backward pass, run it to t=0 (End)",
               self.run_end)
        sep = QtWidgets.QFrame()
        sep.setFrameShape(QtWidgets.QFrame.Shape.VLine)
        layout.addWidget(sep)
        button("back_step", "Backward step", "One BPTT cell: dL/dh_t of the next timestep back (B)", self.back_step)
        button("run_backward", "Backward to t=0", "Run backpropagation through time down to t=0", self.run_backward)
        self.scrubber = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.scrubber.setToolTip("Every cell of the schedule: forward cells, then backward cells")
        self.scrubber.setMinimumWidth(80)
        self.scrubber.setTracking(True)
        self.scrubber.valueChanged.connect(self._scrubbed)
        layout.addWidget(self.scrubber, 1)
        self.position_label = StaticText("0 / 0", width="00000 / 00000 (backward)")
        layout.addWidget(self.position_label)

    COMPACT_TEXT = {"reset": "|◀", "back": "◀", "step": "▶", "stop": "■", "run_end": "▶|", "back_step": "◁",
                    "run_backward": "|◁"}

    def set_compact(self, on: bool) -> None:
        """Short glyphs instead of icon and name (lecture mode at 16pt: with their names the buttons
        alone are wider than a 1280-pixel screen, and the style's icons are black on the dark theme);
        the names stay in the tooltips and the Run menu."""
        full = self.__dict__.setdefault("_full_text", {n: b.text() for n, b in self.buttons.items()})
        for name, button in self.buttons.items():
            if name in self.COMPACT_TEXT:
                button.setText(self.COMPACT_TEXT[name] if on else full[name])
            button.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextOnly if on
                                      else QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)

    def speed_value(self) -> float:
        return float(self.speed.currentData())

    def _play_toggled(self, on: bool) -> None:
        self._show_play(on)
        self.play.emit(on)

    def _show_play(self, on: bool) -> None:
        if getattr(self, "_playing_shown", None) == on:
            return  # every job's end says "not playing": a new icon each time re-laid out the window
        self._playing_shown = on
        SP = QtWidgets.QStyle.StandardPixmap
        self.play_button.setText("Pause" if on else "Play")
        self.play_button.setIcon(self.style().standardIcon(SP.SP_MediaPause if on else SP.SP_MediaPlay))

    def set_playing(self, on: bool) -> None:
        """Show the play state without emitting (when a play ends by itself)."""
        with QtCore.QSignalBlocker(self.play_button):
            self.play_button.setChecked(on)
        self._show_play(on)

    def _scrubbed(self, value: int) -> None:
        if not self.scrubber.signalsBlocked():
            self.seek.emit(value)

    def set_position(self, position: int, total: int, num_forward: int) -> None:
        with QtCore.QSignalBlocker(self.scrubber):
            if self.scrubber.maximum() != total or self.scrubber.minimum() != 0:
                self.scrubber.setRange(0, total)
            self.scrubber.setValue(position)
        phase = "forward" if position <= num_forward else "backward"
        self.position_label.setText(f"{position} / {total} ({phase})")

    def set_read_only(self, read_only: bool) -> None:
        """Browsing a loaded trace: moving the cursor only; nothing is computed."""
        for name in ("back_step", "run_backward"):
            self.buttons[name].setEnabled(not read_only)
