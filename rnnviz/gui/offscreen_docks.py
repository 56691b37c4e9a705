"""Which fed panels sit in a dock that is off screen, and redrawing them when they come back.

A dock tabbed away behind another (the debugger's Gates, What-if and Truncated BPTT, by default)
still says isVisible(): Qt only moves it out of the window. Feeding it every frame costs its whole
update for nothing. The window asks `on_screen(dock)` before it feeds a panel; a panel it skips is
marked stale here and redrawn with the current frame as soon as its dock is on screen again (moved
back by a tab switch, shown, or given room by a splitter), before it paints, whatever signal Qt did
or did not send."""
from __future__ import annotations

from .qt import QtCore, QtWidgets

_BACK_ON_SCREEN = (QtCore.QEvent.Type.Move, QtCore.QEvent.Type.Resize, QtCore.QEvent.Type.Show)


def on_screen(dock: QtWidgets.QDockWidget) -> bool:
    """Some of the dock can be seen: shown, and neither tabbed away nor squeezed to nothing."""
    return dock.isVisible() and not dock.visibleRegion().isEmpty()


class OffscreenDocks(QtCore.QObject):
    """Stale panels by dock; `redraw(panel)` draws one with the window's current frame, and returns
    False when it cannot now (the worker holds the arrays): it is tried again after this event."""

    def __init__(self, redraw, parent=None):
        super().__init__(parent)
        self._redraw = redraw
        self._stale: dict[int, QtWidgets.QDockWidget] = {}
        self._watched: set[int] = set()

    def skipped(self, dock: QtWidgets.QDockWidget) -> None:
        """The dock's panel missed a frame: redraw it once the dock is on screen."""
        self._stale[id(dock)] = dock
        if id(dock) not in self._watched:
            self._watched.add(id(dock))
            dock.installEventFilter(self)

    def drawn(self, dock: QtWidgets.QDockWidget) -> None:
        self._stale.pop(id(dock), None)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt API
        if event.type() in _BACK_ON_SCREEN and id(watched) in self._stale:
            if not on_screen(watched):
                # Maybe not yet: the layout may still be moving the dock it replaces out of the way.
                # A queued call looks again, still before the paint (update requests come last).
                QtCore.QTimer.singleShot(0, self, lambda dock=watched: on_screen(dock) and self._back(dock))
            else:
                self._back(watched)
        return False

    def _back(self, dock) -> None:
        """Redraw a stale dock's panel, now on screen; again shortly while the worker holds the arrays."""
        if id(dock) in self._stale and not self._redraw(dock.widget()):
            QtCore.QTimer.singleShot(1, self, lambda: self._back(dock))
