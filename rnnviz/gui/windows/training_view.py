"""The training window: settings, Train/Pause/Stop, progress with ETA, live panels, and
'open iteration k in the debugger'.

Training runs in a superqt GeneratorWorker over `Trainer.iterations()`, which yields one record
per step: pause, resume and abort happen between steps, and the GUI thread only appends records
and redraws at most once per display frame.
"""
from __future__ import annotations

import time

from superqt.utils import GeneratorWorker

from rnnviz.train.config import TRAIN_FIELDS, TrainConfig, TrainConfigError
from rnnviz.train.training import TextFileError, Trainer, iteration_run, load_text
from rnnviz.train.history import TrainingHistory

from ..jobs import Failed, guarded
from ..qt import QtCore, QtWidgets
from ..training_panels import TrainingPanels

REDRAW_MS = 33  # the panels redraw at most ~30 times a second, however fast training yields


@guarded
def _iterations(trainer):
    yield from trainer.iterations()


def _format_eta(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}:{seconds % 60:02d}"


class TrainingSettings(QtWidgets.QWidget):
    """The form: model, text (typed or from a .txt), optimizer, lr, epochs, seq_length, clip, seed."""

    def __init__(self, config: TrainConfig, parent=None):
        super().__init__(parent)
        form = QtWidgets.QFormLayout(self)
        self.model = QtWidgets.QComboBox()
        labels = {"tutorial": "tutorial (i2h / i2o)", "rnn": "nn.RNN + Linear", "gru": "nn.GRU + Linear",
                  "lstm": "nn.LSTM + Linear"}
        rules = {f.name: f for f in TRAIN_FIELDS}
        for kind in rules["model"].choices:
            self.model.addItem(labels[kind], kind)
        self.text = QtWidgets.QPlainTextEdit()
        self.text.setMaximumHeight(90)
        self.load_button = QtWidgets.QPushButton("Load .txt…")
        self.load_button.clicked.connect(self._load_file)
        self.optimizer = QtWidgets.QComboBox()
        self.optimizer.addItems(list(rules["optimizer"].choices))
        self.lr = QtWidgets.QDoubleSpinBox(decimals=4, minimum=0.0, maximum=10.0, singleStep=0.01)
        self.lr.setSpecialValueText("default")
        # Lower bounds from the settings' table; the upper ones are what a form sensibly offers.
        self.epochs = QtWidgets.QSpinBox(minimum=rules["epochs"].low, maximum=100000)
        self.seq_length = QtWidgets.QSpinBox(minimum=rules["seq_length"].low, maximum=10000)
        self.hidden = QtWidgets.QSpinBox(minimum=rules["hidden_size"].low, maximum=4096)
        self.clip_on = QtWidgets.QCheckBox("clip gradient norm to")
        self.clip = QtWidgets.QDoubleSpinBox(decimals=3, minimum=0.001, maximum=1e6, value=1.0)
        self.seed = QtWidgets.QSpinBox(minimum=rules["seed"].low, maximum=2**31 - 1)
        self.prefix = QtWidgets.QLineEdit()
        self.prefix.setToolTip("The sample is the model's greedy continuation of this prefix")
        self.error = QtWidgets.QLabel()
        self.error.setStyleSheet("color: #b00020")
        self.error.setWordWrap(True)
        clip_row = QtWidgets.QHBoxLayout()
        clip_row.addWidget(self.clip_on)
        clip_row.addWidget(self.clip)
        self.truncation_on = QtWidgets.QCheckBox("truncated BPTT, k =")  # issue 11
        self.truncation_on.setToolTip("Each loss term backpropagates through at most k-1 earlier steps")
        self.truncation = QtWidgets.QSpinBox(minimum=1, maximum=10000, value=3)
        truncation_row = QtWidgets.QHBoxLayout()
        truncation_row.addWidget(self.truncation_on)
        truncation_row.addWidget(self.truncation)
        form.addRow("Model", self.model)
        form.addRow("Text", self.text)
        form.addRow("", self.load_button)
        form.addRow("Optimizer", self.optimizer)
        form.addRow("Learning rate", self.lr)
        form.addRow("Epochs", self.epochs)
        form.addRow("seq_length", self.seq_length)
        form.addRow("Hidden size", self.hidden)
        form.addRow(clip_row)
        form.addRow(truncation_row)
        form.addRow("Seed", self.seed)
        form.addRow("Sample prefix", self.prefix)
        form.addRow(self.error)
        self.widgets = {"model": self.model, "text": self.text, "optimizer": self.optimizer, "lr": self.lr,
                        "epochs": self.epochs, "seq_length": self.seq_length, "hidden_size": self.hidden,
                        "clip": self.clip, "seed": self.seed, "sample_prefix": self.prefix}
        self.set_config(config)

    def show_error(self, exc: ValueError) -> None:
        """The one-line reason, and a red frame on the setting it names (TrainConfigError.field)."""
        self.error.setText(str(exc))
        for name, widget in self.widgets.items():
            bad = isinstance(exc, TrainConfigError) and exc.field == name
            widget.setStyleSheet("border: 2px solid #c00000" if bad else "")

    def clear_error(self) -> None:
        self.error.clear()
        for widget in self.widgets.values():
            widget.setStyleSheet("")

    def set_config(self, config: TrainConfig) -> None:
        self.model.setCurrentIndex(self.model.findData(config.model))
        self.text.setPlainText(config.text)
        self.optimizer.setCurrentText(config.optimizer)
        self.lr.setValue(config.lr or 0.0)
        self.epochs.setValue(config.epochs)
        self.seq_length.setValue(config.seq_length)
        self.hidden.setValue(config.hidden_size)
        self.clip_on.setChecked(config.clip is not None)
        if config.clip is not None:
            self.clip.setValue(config.clip)
        self.truncation_on.setChecked(config.truncation is not None)
        if config.truncation is not None:
            self.truncation.setValue(config.truncation)
        self.seed.setValue(config.seed)
        self.prefix.setText(config.sample_prefix)

    def config(self) -> TrainConfig:
        """The form as a TrainConfig; TrainConfigError (naming the field) when a value is wrong."""
        return TrainConfig(
            model=self.model.currentData(), text=self.text.toPlainText(), hidden_size=self.hidden.value(),
            seq_length=self.seq_length.value(), epochs=self.epochs.value(), lr=self.lr.value() or None,
            optimizer=self.optimizer.currentText(), clip=self.clip.value() if self.clip_on.isChecked() else None,
            seed=self.seed.value(), sample_prefix=self.prefix.text(),
            truncation=self.truncation.value() if self.truncation_on.isChecked() else None,
        )

    def load_text_file(self, path: str) -> bool:
        try:
            self.text.setPlainText(load_text(path))
        except TextFileError as exc:
            self.error.setText(str(exc))
            return False
        self.error.clear()
        return True

    def _load_file(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Training text", "", "Text (*.txt);;All files (*)")
        if path:
            self.load_text_file(path)


class TrainingView(QtWidgets.QWidget):
    """Settings on the left, controls on top, live panels. `main_window` (optional) is the
    debugger that 'Open in debugger' uses; without one, the view opens its own from
    `debugger_factory` (app.debugger_window: passed in, since the window's module imports this one)."""

    finished = QtCore.Signal()

    def __init__(self, config: TrainConfig | None = None, main_window=None, parent=None, debugger_factory=None):
        super().__init__(parent)
        self.setWindowTitle("rnnviz — training")
        self.main_window = main_window
        self.debugger_factory = debugger_factory
        self.debugger = None
        self.trainer: Trainer | None = None
        self.history: TrainingHistory | None = None
        self.worker: GeneratorWorker | None = None
        self._dirty = False
        self._started = 0.0

        self.settings = TrainingSettings(config or TrainConfig(epochs=200))
        self.train_button = QtWidgets.QPushButton("Train")
        self.pause_button = QtWidgets.QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.stop_button = QtWidgets.QPushButton("Stop")
        self.progress = QtWidgets.QProgressBar()
        self.eta = QtWidgets.QLabel("")
        self.eta.setMinimumWidth(220)
        self.iteration_box = QtWidgets.QSpinBox(minimum=0, maximum=0)
        self.open_button = QtWidgets.QPushButton("Open iteration in debugger")
        self.save_button = QtWidgets.QPushButton("Save history…")
        self.load_button = QtWidgets.QPushButton("Open history…")
        self.panels = TrainingPanels()
        self.settings_button = QtWidgets.QToolButton()
        self.settings_button.setText("Settings")
        self.settings_button.setCheckable(True)
        self.settings_button.setChecked(True)
        self.settings_button.setToolTip("Show or fold away the settings (presentation folds them)")

        controls = QtWidgets.QHBoxLayout()
        for w in (self.settings_button, self.train_button, self.pause_button, self.stop_button, self.progress, self.eta):
            controls.addWidget(w)
        controls.addSpacing(20)
        controls.addWidget(QtWidgets.QLabel("iteration"))
        controls.addWidget(self.iteration_box)
        controls.addWidget(self.open_button)
        controls.addWidget(self.save_button)
        controls.addWidget(self.load_button)
        right = QtWidgets.QVBoxLayout()
        right.addLayout(controls)
        right.addWidget(self.panels, 1)
        self.settings_area = scroll = QtWidgets.QScrollArea()
        scroll.setWidget(self.settings)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(330)
        scroll.setMaximumWidth(460)
        self.settings_button.toggled.connect(scroll.setVisible)
        layout = QtWidgets.QHBoxLayout(self)
        layout.addWidget(scroll)
        layout.addLayout(right, 1)

        self.train_button.clicked.connect(self.start)
        self.pause_button.toggled.connect(self.set_paused)
        self.stop_button.clicked.connect(self.stop)
        self.open_button.clicked.connect(lambda: self.open_iteration(self.iteration_box.value()))
        self.iteration_box.valueChanged.connect(self.panels.set_cursor)
        self.save_button.clicked.connect(self._ask_save)
        self.load_button.clicked.connect(self._ask_load)
        self.panels.iteration_clicked.connect(self._pick_iteration)
        self.settings.prefix.textChanged.connect(self._prefix_changed)
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._redraw)
        self._set_running(False)

    # -- control ------------------------------------------------------------------------
    def start(self) -> None:
        """Train with the form's settings (the previous run, if any, is stopped)."""
        try:
            config = self.settings.config()
        except ValueError as exc:
            self.settings.show_error(exc)
            return
        self.stop()
        self.settings.clear_error()
        self.trainer = Trainer(config)
        self.history = TrainingHistory(config, self.trainer.vocab,
                                       [n for n, _ in self.trainer.model.named_parameters()])
        self.panels.clear()
        self.progress.setRange(0, config.total_iterations)
        self.progress.setValue(0)
        self.eta.setText("starting…")
        worker = GeneratorWorker(_iterations, self.trainer)
        # Connect before start; tag with the worker so a replaced run's late signals are ignored.
        worker.yielded.connect(lambda item, w=worker: self._on_record(item, w))
        worker.finished.connect(lambda w=worker: self._on_finished(w))
        self.worker = worker
        self._started = time.perf_counter()
        self._set_running(True)
        self._timer.start()
        worker.start()

    def set_paused(self, paused: bool) -> None:
        if self.worker is None:
            return
        if paused:
            self.worker.pause()
        else:
            self.worker.resume()
        self.pause_button.setText("Resume" if paused else "Pause")
        self.eta.setText("paused" if paused else self.eta.text())

    def stop(self) -> None:
        if self.worker is not None:
            self.trainer.stop_requested = True
            self.worker.quit()
            if self.worker.is_paused:
                self.worker.resume()

    def is_running(self) -> bool:
        return self.worker is not None

    def _set_running(self, running: bool) -> None:
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.train_button.setText("Restart" if running else "Train")
        if not running:
            with QtCore.QSignalBlocker(self.pause_button):
                self.pause_button.setChecked(False)
            self.pause_button.setText("Pause")

    def _prefix_changed(self, text: str) -> None:
        if self.trainer is not None:
            self.trainer.sample_prefix = text  # read by the worker at its next sample

    # -- records from the worker ----------------------------------------------------------
    def _on_record(self, item, worker=None) -> None:
        if worker is not self.worker:
            return
        if isinstance(item, Failed):
            from rnnviz.errors import user_message

            self.settings.error.setText(user_message(item.exc))
            return
        self.history.append(item)
        self._dirty = True

    def _on_finished(self, worker=None) -> None:
        if worker is not self.worker:
            return
        self.worker = None
        self._timer.stop()
        self._redraw()
        self._set_running(False)
        if self.history is not None and len(self.history):
            total = self.history.records[-1].total_iterations
            done = len(self.history)
            word = "done" if done == total else f"stopped at {done}/{total}"
            self.eta.setText(f"{word} in {time.perf_counter() - self._started:.1f} s")
        self.finished.emit()

    def _redraw(self) -> None:
        if not self._dirty or self.history is None:
            return
        self._dirty = False
        last = self.history.records[-1]
        self.panels.show_history(self.history, self.history.config.clip)
        self.progress.setValue(last.iteration + 1)
        if self.worker is not None and not self.pause_button.isChecked():
            self.eta.setText(f"epoch {last.epoch}/{self.history.config.epochs}  loss {last.loss:.4f}  "
                             f"ETA {_format_eta(last.eta_s)}")
        self.iteration_box.setMaximum(len(self.history) - 1)

    def show_history(self, history: TrainingHistory) -> None:
        """Show a finished (e.g. loaded) history without training."""
        self.stop()
        self.history = history
        self.settings.set_config(history.config)
        self.panels.clear()
        self._dirty = True
        self._redraw()

    def _ask_save(self) -> None:
        if self.history is None or not len(self.history):
            self.settings.error.setText("nothing to save yet: train first")
            return
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save training history", "history.npz", "npz (*.npz)")
        if path:
            try:
                self.history.save(path)
            except OSError as exc:
                self.settings.error.setText(f"could not write {path}: {exc.strerror or exc}")

    def _ask_load(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open training history", "", "npz (*.npz)")
        if path:
            try:
                self.show_history(TrainingHistory.load(path))
            except (OSError, ValueError) as exc:
                from rnnviz.errors import user_message

                self.settings.error.setText(user_message(exc))

    def _pick_iteration(self, iteration: int) -> None:
        if self.history is not None and len(self.history):
            self.iteration_box.setValue(min(iteration, len(self.history) - 1))

    # -- the debugger ---------------------------------------------------------------------
    def open_iteration(self, iteration: int):
        """Open `iteration`'s weights and batch in the step-through debugger; returns the window."""
        from ..debug_open import iteration_spec, open_run

        if self.history is None or not 0 <= iteration < len(self.history):
            self.settings.error.setText(f"no iteration {iteration} yet")
            return None
        try:
            run = iteration_run(self.history, iteration)
        except ValueError as exc:
            self.settings.error.setText(str(exc))
            return None
        window = self.main_window
        if window is None:
            if self.debugger_factory is None:
                self.settings.error.setText("no debugger window to open the iteration in")
                return None
            if self.debugger is None:
                self.debugger = self.debugger_factory()
            window = self.debugger
        window.show()
        window.raise_()
        open_run(window, run, iteration_spec(self.history.config, run, iteration),
                 label=f"training iteration {iteration} ({self.history.config.model})")
        return window

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.stop()
        super().closeEvent(event)
