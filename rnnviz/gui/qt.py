"""One place that imports Qt and configures pyqtgraph (PySide6 first, then pyqtgraph)."""
from __future__ import annotations

import sys

import PySide6  # noqa: F401  - must be imported before pyqtgraph picks a binding
from PySide6 import QtCore, QtGui, QtWidgets  # noqa: F401
import pyqtgraph as pg

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False, background="w", foreground="k")

DIVERGING = pg.colormap.get("CET-D1")          # blue - white - red, for values around 0
AXIS_FONT = QtGui.QFont()
AXIS_FONT.setPointSize(10)
LABEL_STYLE = {"font-size": "11pt"}
TITLE_SIZE = "11pt"
# A palette that stays distinguishable on a projector: one colour per layer / direction.
LINE_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
MAGNITUDE = pg.colormap.get("viridis")         # dark (small) to yellow (large): log10 of a magnitude



def theme_of(obj) -> dict:
    """The presentation look of the window holding `obj` (a widget or a plot): {} normally, else
    name ("light"/"dark"), fg, title_size, points, as lecture.py sets on that window only."""
    try:
        if isinstance(obj, QtWidgets.QWidget):
            window = obj.window()
        else:
            scene = obj.scene()
            views = scene.views() if scene is not None else []
            window = views[0].window() if views else None
    except RuntimeError:  # deleted underneath
        return {}
    return getattr(window, "rnnviz_theme", None) or {}


_QUIET = ("This plugin does not support propagateSizeHints()",)  # offscreen platform noise, once per window


def _message_handler(mode, context, message) -> None:
    if message not in _QUIET:
        print(message, file=sys.stderr)


def app() -> QtWidgets.QApplication:
    """The running QApplication, created when there is none."""
    instance = QtWidgets.QApplication.instance()
    if instance is None:
        from .process import tune_process

        tune_process()
        QtCore.qInstallMessageHandler(_message_handler)
        instance = QtWidgets.QApplication(["rnnviz"])
        instance.setApplicationName("rnnviz")
        instance.setOrganizationName("rnnviz")
    return instance


def _clip_title(label) -> None:
    """A plot title whose minimum width is 0: a long title is clipped instead of widening the plot
    past its dock (pyqtgraph's LabelItem.updateMin makes the text width the minimum)."""

    def update_min(self=label):
        height = self.itemRect().height()
        self.setMinimumWidth(0)
        self.setMinimumHeight(height)
        self._sizeHint = {QtCore.Qt.SizeHint.MinimumSize: (0, height), QtCore.Qt.SizeHint.PreferredSize: (0, height),
                          QtCore.Qt.SizeHint.MaximumSize: (-1, -1), QtCore.Qt.SizeHint.MinimumDescent: (0, 0)}
        self.updateGeometry()

    label.updateMin = update_min
    label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)


def _no_relayout() -> None:
    """Stands in for LabelItem.updateGeometry while set_title changes only a title's words."""


def set_title(plot: pg.PlotItem, text: str, size: str = TITLE_SIZE) -> None:
    """Set a plot title that never widens the layout (a long title is clipped, not the plots)."""
    theme = theme_of(plot)
    size = theme.get("title_size", size)  # presentation mode: its size and colour win
    color = theme.get("fg")
    last = getattr(plot, "_rnnviz_title", None)
    if last == (text, size, color):
        return  # setTitle re-lays out the HTML: skip when nothing changed
    plot._rnnviz_title = (text, size, color)
    label = plot.titleLabel
    if last is not None and last[1:] == (size, color) and label.isVisible() and hasattr(label, "_rnnviz_clipped"):
        # Only the words changed (e.g. the histogram's "t=5"): new text in the same row, without
        # setTitle's row re-sizing and geometry updates that re-lay out the whole plot every step.
        height = label.itemRect().height()
        label.updateGeometry = _no_relayout
        try:
            label.setText(text, size=size, **({"color": color} if color else {}))
        finally:
            del label.updateGeometry
        if label.itemRect().height() != height:
            label.updateGeometry()
        return
    if not hasattr(plot.titleLabel, "_rnnviz_clipped"):
        _clip_title(plot.titleLabel)
        plot.titleLabel._rnnviz_clipped = True
    plot.setTitle(text, size=size, **({"color": color} if color else {}))


def style_plot(plot: pg.PlotItem, title: str, bottom: str, left: str) -> None:
    """Title and label both axes, with fonts that read on a projector."""
    set_title(plot, title)
    for name, text in (("bottom", bottom), ("left", left)):
        axis = plot.getAxis(name)
        axis.setLabel(text, **LABEL_STYLE)
        axis.setTickFont(AXIS_FONT)
    # A tick label at the very edge (t=0 of a long sequence) may overflow a little rather than vanish.
    plot.getAxis("bottom").setStyle(hideOverlappingLabels=18)
    plot.setMenuEnabled(False)
