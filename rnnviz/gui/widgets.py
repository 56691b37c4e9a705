"""Small widgets that change text many times a second without re-laying out the window."""
from __future__ import annotations

from .qt import QtCore, QtGui, QtWidgets


class StaticText(QtWidgets.QWidget):
    """A one-line label whose size never depends on its text.

    A QLabel asks its parent layout to recompute on every setText; inside a QMainWindow that
    re-lays out and repaints every dock, once per frame. This only repaints itself.
    """

    def __init__(self, text: str = "", width: int | None = None, bold: bool = False, parent=None):
        super().__init__(parent)
        self._text = text
        font = QtGui.QFont(self.font())
        font.setBold(bold)
        self.setFont(font)
        height = QtGui.QFontMetrics(font).height() + 6
        if width is None:
            self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)
            self.setFixedHeight(height)
        else:
            self.setFixedSize(width, height)
        self.alignment = QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802 - QLabel's name, so callers need not care
        if text != self._text:
            self._text = text
            self.update()

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802
        return QtCore.QSize(QtGui.QFontMetrics(self.font()).horizontalAdvance(self._text) + 8, self.height())

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QtGui.QPainter(self)
        painter.drawText(self.rect().adjusted(3, 0, -3, 0), self.alignment, self._text)
        painter.end()
