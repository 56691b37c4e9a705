"""The main window: transport and selection toolbars, dockable panels, menus, status bar, messages.

Made in two stages so that `rnnviz` paints at once: the frame (form, toolbars, dock frames, menu
titles, saved layout; QtWidgets only) and then the panels, the Session and the menus, which import
pyqtgraph and numpy (about half a second). `MainWindow(spec)` makes both at once; the launcher passes
`staged=True`, which makes the second after the window's first paint."""
from __future__ import annotations

from rnnviz.teaching.presets import DEFAULT_PRESET, get_preset

from .export import ask_export
from .frame import Frame
from .frame_feed import FrameFeed
from .network_dock import NetworkDock
from .offscreen_docks import OffscreenDocks
from .qt import QtCore, QtWidgets
from .settings import settings as open_settings
from .spec_form import SpecForm
from .startup import after_first_paint
from .transport import Transport
from .widgets import StaticText

LAYOUT_VERSION = 1
PANEL_DOCKS = ("Shapes", "Hidden activations", "Gradients")  # frames first, panels once painted


class MainWindow(FrameFeed, QtWidgets.QMainWindow):
    ready = QtCore.Signal()  # the panels, the Session and the menus are made (at once unless staged)

    def __init__(self, spec=None, trace=None, build: bool = True, staged: bool = False):
        """staged: make the panels, the Session and the menus after the first paint (see the module
        docstring); until then `session` is None, the transport is disabled and Build is queued."""
        super().__init__()
        if staged and trace is not None:
            raise ValueError("a window opened on a trace is made at once, not staged")
        self.session = None
        self.frame: Frame | None = None
        self.panels: list = []
        self._panel_queue: list = []
        self._immediate = False
        self._closed = False
        self._first_build = None  # the spec built once the panels have painted
        self._make_frame(spec)
        if build and trace is None:
            # torch is first imported by this build (in the worker, holding the GIL for about a
            # second): started after the panels have painted, the user sees them at once.
            self._first_build = self.form.spec()
        if staged:
            after_first_paint(self, self._make_rest)
        else:
            self._make_rest()
            if trace is not None:
                self.open_trace(trace)

    def _make_frame(self, spec) -> None:
        """What the first paint shows: QtWidgets only, no pyqtgraph, numpy or torch."""
        self.setWindowTitle("rnnviz — RNN debugger")
        self.setDockNestingEnabled(True)
        self.form = SpecForm(spec or get_preset(DEFAULT_PRESET))
        self.network = NetworkDock(self.form)  # the form, or a recorded part's configuration, read-only
        self.transport = Transport()
        self.messages = QtWidgets.QPlainTextEdit()
        self.messages.setReadOnly(True)
        self.messages.setPlaceholderText("Messages and errors appear here.")

        bar = self.addToolBar("Transport")
        bar.setObjectName("transport")
        bar.setMovable(False)
        bar.addWidget(self.transport)
        self.addToolBarBreak()
        self._make_selection_bar()
        for widget in (self.transport, self.layer_box, self.direction_box, self.batch_box):
            widget.setEnabled(False)  # until the Session exists

        self.docks: dict[str, QtWidgets.QDockWidget] = {}
        for name, widget in (("Network", self.network), ("Shapes", None), ("Hidden activations", None),
                             ("Gradients", None), ("Messages", self.messages)):
            self._add_dock(name, widget)
        self._default_layout()
        from .debugger import place_dock_frames

        place_dock_frames(self)
        self.menus = {title: self.menuBar().addMenu(title) for title in ("&File", "&Run", "&View")}
        self.status_text = StaticText()  # one widget, one paint per frame
        self.status_text.setMinimumWidth(700)
        self.statusBar().addPermanentWidget(self.status_text, 1)
        self.status_text.setText("loading the panels…")
        self.form.build_requested.connect(self._build_requested)
        self._settings = open_settings()
        self._default_state = self.saveState(LAYOUT_VERSION)
        if self._settings is not None:
            geometry = self._settings.value("geometry")
            state = self._settings.value("state")
            if geometry is not None:
                self.restoreGeometry(geometry)
            if state is not None:
                self.restoreState(state, LAYOUT_VERSION)

    def _make_rest(self) -> None:
        """The panels, the Session, the menus and their connections; then the first Build, once
        the panels have painted. Called once (a second call, from after_first_paint, returns)."""
        if self.session is not None or self._closed:
            return
        from .debugger import install_docks, install_menu
        from .main_menus import fill_menus
        from .loss_label import LossReport
        from .panels.activations import ActivationsPanel
        from .panels.gradients import GradientsPanel
        from .panels.shapes import ShapesPanel
        from .session import Session

        self.session = Session(self)
        self._offscreen = OffscreenDocks(self._redraw_stale, self)
        self.loss_report = LossReport()
        self.shapes = ShapesPanel()
        self.activations = ActivationsPanel()
        self.gradients = GradientsPanel()
        for name, panel in zip(PANEL_DOCKS, (self.shapes, self.activations, self.gradients)):
            self.set_dock_widget(name, panel)
        # Every panel fed frames: (dock, panel), each with show_frame(frame, selection). A new panel
        # is one more pair here.
        self.panels = [(self.docks[name], panel) for name, panel in
                       zip(PANEL_DOCKS, (self.shapes, self.activations, self.gradients))]
        install_docks(self)  # issue 11: debugger docks, Input tab, Debug menu
        fill_menus(self)
        install_menu(self)
        self._make_job_progress()
        self._connect()
        for widget in (self.transport, self.layer_box, self.direction_box, self.batch_box):
            widget.setEnabled(True)
        self.status_text.setText("")
        self.ready.emit()
        if self._first_build is not None:
            # After the panels' first paint; the window's own when they are made before it is shown.
            shown = [panel for dock, panel in self.panels if dock.isVisible()]
            after_first_paint(shown[0] if shown else self, self._start_first_build)

    def _build_requested(self, spec) -> None:
        if self.session is None:
            self._first_build = spec  # Build before the panels exist: built once they have painted
        else:
            self.session.build(spec)

    def _start_first_build(self) -> None:
        spec, self._first_build = self._first_build, None
        # Closed before its panels painted: after_first_paint calls back at once on a hidden window,
        # and a build started now would outlive the window's Session.
        if spec is not None and not self._closed and self.session.runner is None and self.session.is_idle():
            self.session.build(spec)

    # -- construction -------------------------------------------------------------------
    def _make_selection_bar(self) -> None:
        bar = self.addToolBar("Selection")
        bar.setObjectName("selection")
        bar.setMovable(False)
        self.layer_box, self.direction_box, self.batch_box = QtWidgets.QSpinBox(), QtWidgets.QComboBox(), QtWidgets.QSpinBox()
        self.direction_box.addItem("0 (forward)", 0)
        bar.addWidget(QtWidgets.QLabel(" Show layer "))
        bar.addWidget(self.layer_box)
        bar.addWidget(QtWidgets.QLabel("  direction "))
        bar.addWidget(self.direction_box)
        bar.addWidget(QtWidgets.QLabel("  batch element "))
        bar.addWidget(self.batch_box)
        self.layer_box.setToolTip("Layer shown in the heatmaps and the histogram")
        self.batch_box.setToolTip("Batch element shown in the heatmaps and the line plot")
        self.loss_label = StaticText(width="loss (mean): after the forward pass  ")
        self.loss_label.alignment = QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
        spacer = QtWidgets.QWidget()
        spacer.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        bar.addWidget(self.loss_label)

    def _add_dock(self, name: str, widget: QtWidgets.QWidget | None = None) -> None:
        """A dock named `name` holding `widget`, or an empty frame until set_dock_widget fills it."""
        dock = QtWidgets.QDockWidget(name, self)
        dock.setObjectName(name.lower().replace(" ", "_"))
        dock.setWidget(widget if widget is not None else QtWidgets.QWidget())
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        dock.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.CustomContextMenu)
        dock.customContextMenuRequested.connect(lambda pos, d=dock: self._dock_menu(d, pos))
        # A hidden panel is not redrawn (saves the paint); when it comes back it shows the current frame.
        # A dock reopened into a tab group does not always say visibilityChanged (Qt 6.11): its View
        # menu action does.
        dock.visibilityChanged.connect(lambda visible, d=dock: visible and self._redraw_panel(d.widget()))
        dock.toggleViewAction().toggled.connect(lambda visible, d=dock: visible and self._redraw_panel(d.widget()))
        self.docks[name] = dock
        self.addDockWidget(QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, dock)

    def set_dock_widget(self, name: str, widget: QtWidgets.QWidget) -> None:
        """Put `widget` in the frame _add_dock made, where the layout has already placed it."""
        dock = self.docks[name]
        frame = dock.widget()
        dock.setWidget(widget)
        frame.deleteLater()
        if dock.isVisible():
            widget.show()  # a widget put in a visible dock stays hidden until shown (QDockWidget.setWidget)

    def _default_layout(self) -> None:
        d = self.docks
        for dock in d.values():
            dock.setFloating(False)
            dock.show()
        self.splitDockWidget(d["Network"], d["Shapes"], QtCore.Qt.Orientation.Horizontal)
        self.splitDockWidget(d["Shapes"], d["Hidden activations"], QtCore.Qt.Orientation.Vertical)
        self.splitDockWidget(d["Hidden activations"], d["Gradients"], QtCore.Qt.Orientation.Horizontal)
        self.splitDockWidget(d["Network"], d["Messages"], QtCore.Qt.Orientation.Vertical)
        self.resizeDocks([d["Network"], d["Shapes"]], [330, 1270], QtCore.Qt.Orientation.Horizontal)
        # Made with the panels' frames still empty (see _make_frame), so no size hint of theirs takes part:
        # 330:350 gives the split the panels' hints used to give (the tensor table's rows all shown).
        self.resizeDocks([d["Shapes"], d["Hidden activations"]], [330, 350], QtCore.Qt.Orientation.Vertical)
        self.resizeDocks([d["Network"], d["Messages"]], [780, 150], QtCore.Qt.Orientation.Vertical)
        self.resizeDocks([d["Hidden activations"], d["Gradients"]], [630, 640], QtCore.Qt.Orientation.Horizontal)

    def _make_job_progress(self) -> None:
        from .progress import JobProgress

        self.job_progress = JobProgress(self.session, self._notice)
        self.statusBar().addPermanentWidget(self.job_progress)

    def _connect(self) -> None:
        t, s = self.transport, self.session
        t.reset.connect(s.reset)
        t.back.connect(s.back)
        t.step.connect(s.step)
        t.play.connect(self._play)
        t.stop.connect(self.stop_playing)
        t.run_end.connect(s.run_to_end)
        t.back_step.connect(s.backward_step)
        t.run_backward.connect(s.run_backward)
        t.seek.connect(s.seek)
        t.speed_changed.connect(lambda v: setattr(s, "speed", v))
        self.layer_box.valueChanged.connect(self._selection_changed)
        self.batch_box.valueChanged.connect(self._selection_changed)
        self.direction_box.currentIndexChanged.connect(self._selection_changed)
        s.speed = t.speed_value()
        s.frame_ready.connect(self.apply_frame)
        s.selection_changed.connect(self._show_selection)
        s.wait_for_draw = True
        s.error.connect(self.show_error)
        s.built.connect(self._built)
        s.devices_found.connect(self.form.set_devices)
        s.playing_changed.connect(lambda on: t.set_playing(on))
        s.memory_budget = self.form.memory_budget()
        self.form.memory.budget_changed.connect(lambda size: setattr(s, "memory_budget", size))
        self.activations.seek.connect(self.seek_time)
        self.gradients.seek.connect(self.seek_time)
        for name, widget in (("Hidden activations", self.activations), ("Gradients", self.gradients)):
            button = QtWidgets.QToolButton()
            button.setText("Export…")
            button.setToolTip(f"Save the {name} panel as PNG or SVG")
            button.clicked.connect(lambda *_, n=name, w=widget: self.export_panel(n, w))
            widget.toolbar.addWidget(button)

    # -- behaviour ----------------------------------------------------------------------
    def _play(self, on: bool) -> None:
        self.session.play(on)

    def stop_playing(self) -> None:
        self.session.stop()
        self.transport.set_playing(False)

    def _built(self, spec) -> None:
        if self.network.session_built(self):  # the user's model or a trace file: its own title and configuration
            self.transport.set_read_only(self.session.read_only)
            return
        if spec is not None:
            self.setWindowTitle(f"rnnviz — {self.form.preset.currentData() or spec.kind}"
                                + ("  (read-only trace)" if self.session.read_only else ""))
        self.transport.set_read_only(self.session.read_only)
        self.loss_report.reset()
        self.log(f"built {spec.kind if spec else 'trace'}" + (f": {spec.description}" if spec and spec.description else ""))

    def open_trace(self, trace, source: str = "") -> None:
        if trace.spec is not None:
            self.form.set_spec(trace.spec)
        self.network.trace_source = source
        self.session.open_trace(trace)

    def open_model(self, model, *args, loss_fn=None, **kwargs) -> None:
        """Record the user's own `model(*args, **kwargs)` and its `loss_fn` off the GUI thread, then step
        through its recurrent parts (see own_model.py)."""
        from .own_model import open_model

        open_model(self, model, args, kwargs, loss_fn)

    def is_idle(self) -> bool:
        """Nothing queued, computing, or waiting to be drawn."""
        return (self.session is not None and self.session.is_idle() and not self._panel_queue
                and self._first_build is None)

    def show_error(self, message: str) -> None:
        self.statusBar().showMessage(f"Error: {message}", 15000)
        self.log(f"ERROR: {message}")
        self.docks["Messages"].show()
        self.docks["Messages"].raise_()
        self.transport.set_playing(False)

    def _notice(self, text: str) -> None:
        self.statusBar().showMessage(text, 15000)
        self.log(text)

    def log(self, text: str) -> None:
        self.messages.appendPlainText(text)

    def export_panel(self, name: str, widget) -> None:
        try:
            path = ask_export(widget, name, self)
        except OSError as exc:
            self.show_error(str(exc))
            return
        if path:
            self.log(f"exported {name} to {path}")

    def _dock_menu(self, dock, pos) -> None:
        menu = QtWidgets.QMenu(self)
        menu.addAction(f"Export {dock.windowTitle()}…", lambda: self.export_panel(dock.windowTitle(), dock.widget()))
        menu.addAction("Close", dock.close)
        menu.exec(dock.mapToGlobal(pos))

    def restore_default_layout(self) -> None:
        self.restoreState(self._default_state, LAYOUT_VERSION)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._closed = True
        if self.session is not None:
            self.session.shutdown()
        if self._settings is not None:
            self._settings.setValue("geometry", self.saveGeometry())
            self._settings.setValue("state", self.saveState(LAYOUT_VERSION))
            self._settings.sync()
        super().closeEvent(event)


def debugger_window() -> MainWindow:
    """A debugger window for training iterations when the training view runs on its own."""
    window = MainWindow(get_preset("char-hello"))
    window.resize(1400, 900)
    return window
