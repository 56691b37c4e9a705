"""Small widgets that change text many times a second without re-laying out the window."""
from __future__ import annotations

from .qt import QtCore, QtGui, QtWidgets


class StaticText(QtWidgets.QWidget):
    """A one-line label whose size never depends on its text.

    A QLabel asks its parent layout to recompute on every setText; inside a QMainWindow that
    re-lays out and repaints every dock, once per frame. This only repaints itself.
    """

    def __init__(self, text: str = "", width: int | str | None = None, bold: bool = False, parent=None):
        """width: pixels, or a sample text (the longest expected) whose width is kept when the font
        changes (presentation mode's larger text); None: as wide as the layout gives."""
        super().__init__(parent)
        self._text = text
        self._width = width
        font = QtGui.QFont(self.font())
        font.setBold(bold)
        self._bold = bold
        self.setFont(font)
        if width is None:
            self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)
        self._fit()
        self.alignment = QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter

    def _fit(self) -> None:
        metrics = QtGui.QFontMetrics(self.font())
        height = metrics.height() + 6
        if self._width is None:
            self.setFixedHeight(height)
        elif isinstance(self._width, str):
            self.setFixedSize(metrics.horizontalAdvance(self._width) + 10, height)
        else:
            self.setFixedSize(self._width, height)

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.FontChange:  # a stylesheet's font-size arrives here
            if self._bold and not self.font().bold():
                font = QtGui.QFont(self.font())
                font.setBold(True)
                self.setFont(font)
                return
            self._fit()

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
