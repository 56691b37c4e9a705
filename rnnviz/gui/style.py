"""How the plots look: colour maps, fonts, the presentation theme, and the two pyqtgraph subclasses
that patch its behaviour (LogAxis, ClippedTitle)."""
from __future__ import annotations

import numpy as np

from .qt import QtCore, QtGui, QtWidgets, pg

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
    name ("light"/"dark"), fg, title_size, points, as windows/lecture.py sets on that window only."""
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


# -- pyqtgraph, patched: the two subclasses ---------------------------------------------
class LogAxis(pg.AxisItem):
    """An axis whose log mode labels only 1, 2 and 5 x 10^k inside a decade: pyqtgraph's own labels
    every mantissa 1..9 there, and '0.6 0.7 0.8 0.9 1' run into each other."""

    def __init__(self, orientation: str, decades_once: bool = False, **kw):
        """decades_once: leave a decade out of the minor level when the major level labels it (else
        some layouts draw its label twice, bolder)."""
        super().__init__(orientation, **kw)
        self.decades_once = decades_once
        # A log axis spans decades: a shared SI factor ("(x0.001)") beside 5, 10, 50 misreads it, and
        # its label outgrew narrow docks.
        self.enableAutoSIPrefix(False)

    def logTickValues(self, minVal, maxVal, size, stdTicks):  # noqa: N802, N803 - pyqtgraph API
        ticks = super().logTickValues(minVal, maxVal, size, stdTicks)
        major = [v for spacing, values in ticks if spacing is not None for v in values] if self.decades_once else []
        room = max(2, int(size // self.LABEL_PITCH))  # labels a short axis has room for
        for mantissas in ((1.0, 2.0, 5.0), (1.0, 5.0), (1.0,)):  # fewer per decade until they fit
            keep = np.log10(mantissas)
            out = []
            for spacing, values in ticks:
                if spacing is None:  # the minor level: mantissas 1..9 of each decade
                    values = [v for v in values if np.isclose(v - np.floor(v + 1e-9), keep, atol=1e-6).any()
                              and not (major and np.isclose(v, major, atol=1e-6).any())]
                out.append((spacing, values))
            if sum(len(values) for _, values in out) <= room:
                break
        return out

    LABEL_PITCH = 22  # pixels per tick label on a vertical axis: a line of tick text and a gap

    SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")

    def logTickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph API
        """Across many decades every decade reads 10ᵏ (not '0.0001' next to '10⁻⁶'); within a few,
        plain numbers (0.2, 0.5, 1, 2)."""
        low, high = self.range
        if high - low < 3.5:
            return [f"{10 ** v * scale:g}" for v in values]
        out = []
        for v in values:
            k = int(round(v))
            out.append(("1" if k == 0 else "10" if k == 1 else "10" + str(k).translate(self.SUPERSCRIPT))
                       if abs(v - k) < 1e-6 else f"{10 ** v * scale:.0g}")
        return out


class ClippedTitle(pg.LabelItem):
    """A plot title whose minimum width is 0: a long title is clipped instead of widening the plot
    past its dock (pyqtgraph's LabelItem.updateMin makes the text width the minimum). `set_words`
    changes only the words, without re-laying out the plot. A PlotItem's own title label becomes
    one with `adopt` (PlotItem makes its label itself)."""

    _quiet = False

    @classmethod
    def adopt(cls, plot: pg.PlotItem) -> "ClippedTitle":
        """The plot's title label, replaced by a ClippedTitle the first time (PlotItem makes a plain one)."""
        label = plot.titleLabel
        if isinstance(label, cls):
            return label
        title = cls("", size="11pt", parent=plot)
        title.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)
        # Text wider than the plot is cut at the plot's edge, not drawn over the neighbour's title.
        title.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape)
        plot.layout.removeItem(label)
        label.setParentItem(None)
        if label.scene() is not None:
            label.scene().removeItem(label)
        plot.layout.addItem(title, 0, 1)
        plot.titleLabel = title
        return title

    def span(self, plot: pg.PlotItem, columns: int) -> None:
        """Let the title run over `columns` layout columns from the view box's (e.g. over a colour bar)."""
        plot.layout.removeItem(self)
        plot.layout.addItem(self, 0, 1, 1, columns)

    def resizeEvent(self, ev) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(ev)
        if self.item.boundingRect().width() > self.rect().width():  # clipped: keep its start, the words that name it
            self.item.setX(self.rect().left())

    def updateMin(self) -> None:  # noqa: N802 - pyqtgraph API
        height = self.itemRect().height()
        self.setMinimumWidth(0)
        self.setMinimumHeight(height)
        self._sizeHint = {QtCore.Qt.SizeHint.MinimumSize: (0, height), QtCore.Qt.SizeHint.PreferredSize: (0, height),
                          QtCore.Qt.SizeHint.MaximumSize: (-1, -1), QtCore.Qt.SizeHint.MinimumDescent: (0, 0)}
        self.updateGeometry()

    def updateGeometry(self) -> None:  # noqa: N802 - Qt API
        if not self._quiet:
            super().updateGeometry()

    def set_words(self, text: str, **style) -> None:
        """New text in the same row (e.g. the histogram's "t=5"), without setText's row re-sizing and
        geometry updates that re-lay out the whole plot every step; a change of height still does."""
        height = self.itemRect().height()
        self._quiet = True
        try:
            self.setText(text, **style)
        finally:
            self._quiet = False
        if self.itemRect().height() != height:
            self.updateGeometry()


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
    if last is not None and last[1:] == (size, color) and label.isVisible() and isinstance(label, ClippedTitle):
        label.set_words(text, size=size, **({"color": color} if color else {}))
        return
    ClippedTitle.adopt(plot)
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
