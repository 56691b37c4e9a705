"""Issue #4's entries in the main window's View menu: Training, Presentation (F11), themes,
Lessons, Spectral and Compare. main_window.py calls `add_view_actions(window, menu)` once."""
from __future__ import annotations

from .qt import QtCore, QtGui, QtWidgets


def add_view_actions(window, menu: QtWidgets.QMenu) -> None:
    extras = ViewExtras(window)
    window.view_extras = extras
    menu.addSeparator()
    extras.training_action = menu.addAction("&Training…", extras.show_training)
    extras.training_action.setShortcut(QtGui.QKeySequence("Ctrl+T"))
    extras.presentation_action = menu.addAction("&Presentation")
    extras.presentation_action.setCheckable(True)
    extras.presentation_action.setShortcut(QtGui.QKeySequence("F11"))
    extras.presentation_action.toggled.connect(extras.presentation.set_active)
    extras.presentation.toggled.connect(extras._sync_presentation_action)
    theme = menu.addMenu("Presentation &theme")
    group = QtGui.QActionGroup(theme)
    for name, label in (("light", "High-contrast &light"), ("dark", "High-contrast &dark")):
        action = theme.addAction(label, lambda n=name: extras.presentation.set_theme(n))
        action.setCheckable(True)
        action.setChecked(name == extras.presentation.theme)
        group.addAction(action)
    extras.lessons_action = menu.addAction("&Lessons", extras.show_lessons)
    extras.lessons_action.setShortcut(QtGui.QKeySequence("Ctrl+L"))
    menu.addAction("&Spectral: why gradients vanish…", extras.show_spectral)
    menu.addAction("&Compare two configurations…", extras.show_compare)
    # On the window itself, so they work while the menu bar is folded away in presentation.
    for action in (extras.presentation_action,):
        window.addAction(action)
    for keys, delta in (("PgDown", +1), ("PgUp", -1)):
        action = QtGui.QAction(window)
        action.setShortcut(QtGui.QKeySequence(keys))
        action.triggered.connect(lambda *_, d=delta: extras.lesson_step(d))
        window.addAction(action)


class ViewExtras(QtCore.QObject):
    def __init__(self, window):
        super().__init__(window)
        from .windows.lecture import Presentation

        self.window = window
        self.presentation = Presentation(window)
        self.training = None
        self.spectral = None
        self.compare = None
        self.lessons_dock = None

    def _sync_presentation_action(self, on: bool) -> None:
        with QtCore.QSignalBlocker(self.presentation_action):
            self.presentation_action.setChecked(on)
        if on:
            self.show_lessons()
            self._presentation_layout()
            # Again once the full-screen geometry has arrived.
            QtCore.QTimer.singleShot(0, self._presentation_layout)

    def _presentation_layout(self) -> None:
        """The plots get the room: lesson on the right, Shapes short, activations and gradients tall."""
        w, docks = self.window, self.window.docks
        self.presentation.fit_plots()
        width = max(360, int(w.width() * 0.22))
        # With no central widget the left and right areas split the window: size both sides.
        others = [d for d in docks.values() if d.isVisible() and w.dockWidgetArea(d) != w.dockWidgetArea(self.lessons_dock)]
        if others:
            w.resizeDocks([others[0], self.lessons_dock], [w.width() - width, width], QtCore.Qt.Orientation.Horizontal)
        if "Shapes" in docks and "Hidden activations" in docks:
            h = max(600, w.height())
            w.resizeDocks([docks["Shapes"], docks["Hidden activations"]], [35 * h // 100, 65 * h // 100],
                          QtCore.Qt.Orientation.Vertical)

    def show_training(self, config=None):
        from rnnviz.train.training import TrainConfig

        from .windows.training_view import TrainingView

        if self.training is None:
            self.training = TrainingView(config or TrainConfig(epochs=200), main_window=self.window)
            self.training.resize(1500, 950)
        elif config is not None:
            self.training.settings.set_config(config)
        if self.presentation.active:  # the class sees it at presentation size too
            from .windows.lecture import PRESENTATION_POINTS, style_plots, stylesheet, theme_settings

            self.training.rnnviz_theme = theme_settings(self.presentation.theme)  # titles set later follow it
            self.training.setStyleSheet(stylesheet(self.presentation.theme))
            self.training.settings_button.setChecked(False)  # controls folded away
            style_plots(self.training, self.presentation.theme, PRESENTATION_POINTS)
        self.training.show()
        self.training.raise_()
        return self.training

    def show_spectral(self):
        from .panels.spectral import SpectralWindow

        if self.spectral is None:
            self.spectral = SpectralWindow(self.window.session)
            self.spectral.resize(1200, 700)
        self.spectral.show()
        self.spectral.raise_()
        self.spectral.show_frame(self.window.session.frame)
        return self.spectral

    def show_compare(self):
        from .windows.compare import CompareView

        if self.compare is None:
            self.compare = CompareView()
            self.compare.resize(1400, 900)
            self.compare.run()
        self.compare.show()
        self.compare.raise_()
        return self.compare

    def show_lessons(self):
        from .lessons_panel import LessonPanel

        if self.lessons_dock is None:
            panel = LessonPanel()
            panel.open_requested.connect(self.open_lesson)
            dock = QtWidgets.QDockWidget("Lesson", self.window)
            dock.setObjectName("lesson")
            dock.setWidget(panel)
            self.window.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, dock)
            self.lessons_dock = dock
        self.lessons_dock.show()
        self.lessons_dock.raise_()
        return self.lessons_dock.widget()

    def lesson_step(self, delta: int) -> None:
        self.show_lessons().move(delta, open_it=True)

    def open_lesson(self, lesson) -> None:
        """Build the lesson's preset in the debugger, or open the training view for lesson 7."""
        from rnnviz.teaching.presets import get_preset

        spec = get_preset(lesson.preset)
        if lesson.view == "training":
            from rnnviz.train.training import TrainConfig

            self.show_training(TrainConfig(text=spec.text, hidden_size=spec.hidden_size, seq_length=spec.seq_len,
                                           epochs=200))
            return
        self.window.form.set_spec(spec)
        self.window.session.build(spec)
        self.window.log(f"lesson {lesson.number}: {lesson.title}")
