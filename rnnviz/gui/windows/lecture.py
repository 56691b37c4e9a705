"""Lecture mode: View > Presentation (F11). Large fonts, a high-contrast light or dark theme,
the controls folded away, and every step on the keyboard.

Presentation changes only how the window looks: entering saves the layout, stylesheet and
plot styles, leaving restores them. Plots are restyled in place (fonts, pens, backgrounds) so
no panel needs to know about the theme.
"""
from __future__ import annotations

from ..qt import QtCore, QtGui, QtWidgets, pg
from ..style import AXIS_FONT, LABEL_STYLE, TITLE_SIZE

THEMES = {
    # Pure black on white and white on black: the most contrast a projector can give.
    "light": {"bg": "#ffffff", "fg": "#000000", "panel": "#f2f2f2", "accent": "#0b4fd6", "select": "#cfe0ff"},
    "dark": {"bg": "#000000", "fg": "#ffffff", "panel": "#161616", "accent": "#ffd21f", "select": "#3a3a00"},
}
PRESENTATION_POINTS = 16  # widget text; plot ticks and titles scale from it
SMALL_SCREEN_WIDTH = 1500  # below it two plots share ~450 px: plot text a step smaller, or titles collide
FOLDED_DOCKS = ("Network", "Messages", "Breakpoints")  # the controls a class does not need to see


def stylesheet(theme: str, points: int = PRESENTATION_POINTS) -> str:
    c = THEMES[theme]
    return f"""
    QWidget {{ background: {c['bg']}; color: {c['fg']}; font-size: {points}pt; }}
    QMainWindow::separator {{ background: {c['fg']}; width: 2px; height: 2px; }}
    QDockWidget::title {{ background: {c['panel']}; padding: 4px; font-weight: bold; }}
    QToolBar, QMenuBar, QStatusBar {{ background: {c['panel']}; }}
    QTableView, QTableWidget, QPlainTextEdit, QTextBrowser {{ background: {c['bg']}; gridline-color: {c['fg']};
        alternate-background-color: {c['panel']};
        selection-background-color: {c['select']}; selection-color: {c['fg']}; }}
    QHeaderView::section {{ background: {c['panel']}; color: {c['fg']}; border: 1px solid {c['fg']};
        font-weight: bold; }}
    QPushButton, QToolButton, QComboBox, QSpinBox, QDoubleSpinBox, QLineEdit {{ border: 2px solid {c['fg']};
        padding: 3px 8px; background: {c['panel']}; }}
    QPushButton:checked, QToolButton:checked {{ background: {c['accent']}; color: {c['bg']}; }}
    QSlider::groove:horizontal {{ height: 8px; background: {c['panel']}; border: 1px solid {c['fg']}; }}
    QSlider::handle:horizontal {{ background: {c['accent']}; width: 22px; margin: -8px 0; }}
    QProgressBar {{ border: 2px solid {c['fg']}; text-align: center; }}
    QProgressBar::chunk {{ background: {c['accent']}; }}
    QLabel#lessonTitle {{ font-size: {points + 4}pt; font-weight: bold; color: {c['accent']}; }}
    """


def theme_settings(theme: str, points: int = PRESENTATION_POINTS, plot_points: int | None = None) -> dict:
    """What set_title and the cell equation read from a presenting window (style.theme_of)."""
    return {"name": theme, "fg": THEMES[theme]["fg"], "title_size": f"{(plot_points or points) - 2}pt", "points": points}


def plot_points(width: int) -> int:
    """The point size plot text scales from in a presenting window `width` pixels wide."""
    return PRESENTATION_POINTS if width >= SMALL_SCREEN_WIDTH else PRESENTATION_POINTS - 2


def _plot_items(root: QtWidgets.QWidget):
    """Every pyqtgraph PlotItem and view under `root`."""
    views = root.findChildren(pg.GraphicsView)
    for view in views:
        for item in view.scene().items():
            if isinstance(item, pg.PlotItem):
                yield view, item


def style_plots(root: QtWidgets.QWidget, theme: str | None, points: int | None) -> None:
    """Restyle all plots under `root`: theme None and points None restore the normal look."""
    fg = THEMES[theme]["fg"] if theme else pg.getConfigOption("foreground")
    bg = THEMES[theme]["bg"] if theme else pg.getConfigOption("background")
    tick = QtGui.QFont(AXIS_FONT)
    # Plots scale less than the text around them: the panels hold several plots side by side,
    # and a plot cannot shrink below its axes; 12pt ticks still read at the back of a room.
    if points:
        tick.setPointSize(points - 4)
    label_size = f"{points - 2}pt" if points else LABEL_STYLE["font-size"]
    title_size = f"{points - 2}pt" if points else TITLE_SIZE  # several plots share a row: titles must fit
    for view in root.findChildren(pg.GraphicsView):
        view.setBackground(bg)
    for _, plot in _plot_items(root):
        for name in ("left", "bottom", "right", "top"):
            axis = plot.getAxis(name)
            axis.setPen(pg.mkPen(fg, width=2 if theme else 1))
            axis.setTextPen(fg)
            axis.setTickFont(tick)
            if axis.labelText:
                axis.setLabel(axis.labelText, units=axis.labelUnits or None, **{"font-size": label_size, "color": fg})
        for item in plot.listDataItems():
            if isinstance(item, pg.PlotDataItem):  # lines only; bars and images keep their look
                _thicken(item, 3 if theme else None)
        title = plot.titleLabel.text
        if title:
            plot.setTitle(title, size=title_size, color=fg)
        if plot.legend is not None:
            # New labels take the legend's style; existing ones are re-set to take it now.
            plot.legend.opts["labelTextColor"] = pg.mkColor(fg)
            plot.legend.opts["labelTextSize"] = label_size
            for _, label in plot.legend.items:
                label.setText(label.text, color=fg, size=label_size)
            plot.legend.updateSize()


def _thicken(item, width: int | None) -> None:
    """Lines at least `width` px for the back of the room; None restores the item's own pen."""
    original = getattr(item, "_rnnviz_pen", None)
    if width is None:
        if original is not None:
            item.setPen(original)
            item._rnnviz_pen = None
        return
    pen = original or pg.mkPen(item.opts.get("pen"))
    if original is None:
        item._rnnviz_pen = pen
    if pen.style() == QtCore.Qt.PenStyle.NoPen:
        return
    thick = QtGui.QPen(pen)
    thick.setWidthF(max(pen.widthF(), width))
    item.setPen(thick)


class Presentation(QtCore.QObject):
    """Presentation mode of one MainWindow."""

    toggled = QtCore.Signal(bool)

    def __init__(self, window: QtWidgets.QMainWindow, theme: str = "light"):
        super().__init__(window)
        self.window = window
        self.theme = theme
        self.active = False
        self._saved = None
        self._plot_points = None

    def toggle(self) -> None:
        self.set_active(not self.active)

    def set_theme(self, theme: str) -> None:
        if theme not in THEMES:
            raise ValueError(f"theme must be one of {', '.join(THEMES)}, got {theme!r}")
        self.theme = theme
        if self.active:
            self._apply()

    def set_active(self, on: bool, full_screen: bool = True) -> None:
        if on == self.active:
            return
        w = self.window
        if on:
            self._saved = {"state": w.saveState(), "sheet": w.styleSheet(), "full": w.isFullScreen(),
                           "toolbars": {bar: bar.isVisible() for bar in w.findChildren(QtWidgets.QToolBar)}}
            self.active = True
            self._keys_on_window()
            self._apply()
            if full_screen:
                w.showFullScreen()
        else:
            saved, self._saved = self._saved, None
            self.active = False
            w.rnnviz_theme = {}  # before the stylesheet: panels re-render (the equation) on the style change
            w.setStyleSheet(saved["sheet"])
            style_plots(w, None, None)
            w.restoreState(saved["state"])
            if hasattr(w, "transport"):
                w.transport.set_compact(False)
            for bar, visible in saved["toolbars"].items():
                bar.setVisible(visible)
            if not saved["full"]:
                w.showNormal()
        self.toggled.emit(self.active)

    def fit_plots(self) -> None:
        """Plot text for the window's present width (a laptop screen gets it a step smaller)."""
        w = self.window
        points = plot_points(w.width())
        if self.active and points != self._plot_points:
            self._plot_points = points
            w.rnnviz_theme = theme_settings(self.theme, plot_points=points)  # this window only (style.theme_of)
            style_plots(w, self.theme, points)

    def _apply(self) -> None:
        w = self.window
        self._plot_points = plot_points(w.width())
        w.rnnviz_theme = theme_settings(self.theme, plot_points=self._plot_points)  # this window only (style.theme_of)
        w.setStyleSheet(stylesheet(self.theme))
        style_plots(w, self.theme, self._plot_points)
        docks = w.docks
        for name in FOLDED_DOCKS:
            if name in docks:
                docks[name].hide()
        if hasattr(w, "transport"):
            w.transport.set_compact(True)
        # The selection bar folds away; the transport stays as a read-out of where we are.
        for bar in w.findChildren(QtWidgets.QToolBar):
            if bar.objectName() == "selection":
                bar.hide()

    def _keys_on_window(self) -> None:
        """Step by keyboard alone: the Run menu's shortcuts also live on the window itself, so
        they work with the menus, toolbars and docks folded away."""
        for action in self.window.actions_by_key.values():
            if action not in self.window.actions():
                self.window.addAction(action)
