"""Export a panel to PNG (QWidget.grab) or SVG (QSvgGenerator rendering the widget)."""
from __future__ import annotations

from pathlib import Path

from .qt import QtCore, QtGui, QtWidgets


def export_widget(widget: QtWidgets.QWidget, path) -> Path:
    """Write `widget` as it is drawn to `path`: .svg gives vector output, anything else a PNG."""
    path = Path(path)
    if path.suffix.lower() == ".svg":
        from PySide6.QtSvg import QSvgGenerator

        size = widget.size()
        generator = QSvgGenerator()
        generator.setFileName(str(path))
        generator.setSize(size)
        generator.setViewBox(QtCore.QRect(0, 0, size.width(), size.height()))
        generator.setTitle(widget.windowTitle() or "rnnviz panel")
        painter = QtGui.QPainter(generator)
        try:
            widget.render(painter, QtCore.QPoint(0, 0))
        finally:
            painter.end()
    else:
        if not path.suffix:
            path = path.with_suffix(".png")
        if not widget.grab().save(str(path)):
            raise OSError(f"could not write {path}")
    return path


def ask_export(widget: QtWidgets.QWidget, name: str, parent=None) -> Path | None:
    """A save dialog, then export_widget; returns the path written, or None when cancelled."""
    path, _ = QtWidgets.QFileDialog.getSaveFileName(
        parent, f"Export {name}", f"{name.lower().replace(' ', '-')}.png", "PNG image (*.png);;SVG vector image (*.svg)")
    if not path:
        return None
    return export_widget(widget, path)
