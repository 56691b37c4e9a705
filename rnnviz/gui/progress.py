"""Progress and Cancel for long jobs (a Build rescaling a large W_hh, a long Run to end): a bar and a
button in the status bar, shown while such a job reports progress, hidden when the worker is idle."""
from __future__ import annotations

from .qt import QtWidgets


class JobProgress(QtWidgets.QWidget):
    """Cancel stops the job at its next check (between cells, between W_hh blocks); the previous
    model, its trace and position stay as they were."""

    def __init__(self, session, log, parent=None):
        super().__init__(parent)
        self.session = session
        self.label = QtWidgets.QLabel()
        self.bar = QtWidgets.QProgressBar()
        self.bar.setMaximumWidth(180)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop this job; the model shown before it stays usable")
        self.cancel_button.clicked.connect(self.cancel)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.label, self.bar, self.cancel_button):
            layout.addWidget(widget)
        self.hide()
        session.progress.connect(self.show_progress)
        session.busy_changed.connect(lambda busy: None if busy else self.hide())
        session.notice.connect(log)

    def show_progress(self, done: int, total: int, what: str) -> None:
        if not self.session.is_busy():
            return  # a late signal from a job that already ended
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)
        self.label.setText(what)
        self.cancel_button.setEnabled(True)
        self.show()

    def cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.label.setText("cancelling…")
        self.session.stop()
