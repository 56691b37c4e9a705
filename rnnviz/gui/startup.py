"""The window's start-up: the first Build (which imports torch, in the worker) waits until the
window has painted, so a user sees the window before torch has loaded.
"""
from __future__ import annotations

from .qt import QtCore


class _OnFirstPaint(QtCore.QObject):
    def __init__(self, widget, callback):
        super().__init__(widget)
        self._callback = callback
        widget.installEventFilter(self)

    def eventFilter(self, obj, event):  # noqa: N802 - Qt's name
        if event.type() == QtCore.QEvent.Type.Paint:
            obj.removeEventFilter(self)
            QtCore.QTimer.singleShot(0, self._callback)  # after this paint has reached the screen
        return False


def after_first_paint(widget, callback, fallback_ms: int = 1000) -> None:
    """Call `callback` once, after `widget` first painted: at once if it is not shown by the next turn
    of the event loop, and after `fallback_ms` at the latest. The callback must tolerate a second call."""
    _OnFirstPaint(widget, callback)

    def unless_shown():
        if not widget.isVisible():
            callback()

    QtCore.QTimer.singleShot(0, unless_shown)
    QtCore.QTimer.singleShot(fallback_ms, callback)
