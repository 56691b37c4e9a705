"""A row of controls that scrolls sideways instead of widening its dock: lecture mode's 16pt text
made the What-if and Truncated BPTT controls wider than a 1280-pixel screen leaves them."""
from __future__ import annotations

from .qt import QtCore, QtWidgets


class ControlStrip(QtWidgets.QScrollArea):
    """Holds `layout` at its natural height; narrower than that, it scrolls horizontally."""

    def __init__(self, layout: QtWidgets.QLayout, parent=None):
        super().__init__(parent)
        holder = QtWidgets.QWidget()
        holder.setLayout(layout)
        self.setWidget(holder)
        self.setWidgetResizable(True)
        self.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)

    def _height(self) -> int:
        bar = self.horizontalScrollBar().sizeHint().height()
        return self.widget().sizeHint().height() + bar

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt API
        return QtCore.QSize(self.widget().sizeHint().width(), self._height())

    def minimumSizeHint(self) -> QtCore.QSize:  # noqa: N802 - Qt API
        return QtCore.QSize(80, self._height())
