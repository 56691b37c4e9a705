"""Issue 11's debugger tools in the main window: the Gates dock, the Breakpoints dock and the Debug
menu. app.py calls `install_docks(window)` before its menus are made and `install_menu(window)` after."""
from __future__ import annotations

from .frame import Selection
from .qt import QtCore


class DebuggerTools(QtCore.QObject):
    """Feeds the debugger's docks the window's frames and keeps its dialogs."""

    def __init__(self, window):
        super().__init__(window)
        from .panels.gates import GatesPanel

        self.window = window
        self.gates = GatesPanel()
        window._add_dock("Gates", self.gates)
        window.tabifyDockWidget(window.docks["Hidden activations"], window.docks["Gates"])
        window.docks["Hidden activations"].raise_()
        window.docks["Gates"].visibilityChanged.connect(lambda on: on and self._show_gates())
        self.gates.seek.connect(window.seek_time)
        # Connected before the window's own apply_frame: so take the frame handed over, not window.frame.
        self.frame = None
        window.session.frame_ready.connect(self._frame_ready)
        for box in (window.layer_box, window.batch_box):
            box.valueChanged.connect(lambda *_: self._show_gates())
        window.direction_box.currentIndexChanged.connect(lambda *_: self._show_gates())

    def _frame_ready(self, frame) -> None:
        self.frame = frame
        self._show_gates()

    def selection(self) -> Selection:
        """What the selection bar says now (panels clip it to the network's own sizes)."""
        w = self.window
        return Selection(w.layer_box.value(), w.direction_box.currentData() or 0, w.batch_box.value())

    def _show_gates(self) -> None:
        w = self.window
        if self.frame is None or not (w.docks["Gates"].isVisible() or not w.isVisible()):
            return
        self.gates.show_frame(self.frame, self.selection())


def install_docks(window) -> DebuggerTools:
    window.debugger = DebuggerTools(window)
    return window.debugger


def install_menu(window) -> None:
    """The Debug menu (after File, Run and View)."""
