"""The lessons panel of lecture mode: pick a lesson, read what to look at, what to expect and the
question for the class, open its preset. PageDown / PageUp move between lessons."""
from __future__ import annotations

import html

from rnnviz.teaching.lessons import LESSONS, Lesson

from .qt import QtCore, QtWidgets


class LessonPanel(QtWidgets.QWidget):
    open_requested = QtCore.Signal(object)  # Lesson

    def __init__(self, parent=None):
        super().__init__(parent)
        self.lessons = list(LESSONS)
        self.picker = QtWidgets.QComboBox()
        # Long lesson titles at presentation size must not force the dock wide.
        self.picker.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.picker.setMinimumContentsLength(12)
        for lesson in self.lessons:
            self.picker.addItem(f"{lesson.number}. {lesson.title}", lesson.number)
        self.title = QtWidgets.QLabel()
        self.title.setObjectName("lessonTitle")
        self.title.setWordWrap(True)
        self.body = QtWidgets.QTextBrowser()
        self.body.setOpenLinks(False)
        self.previous_button = QtWidgets.QPushButton("◀ Prev")
        self.open_button = QtWidgets.QPushButton("Open lesson")
        self.next_button = QtWidgets.QPushButton("Next ▶")
        buttons = QtWidgets.QHBoxLayout()
        for b in (self.previous_button, self.open_button, self.next_button):
            buttons.addWidget(b)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.picker)
        layout.addWidget(self.title)
        layout.addWidget(self.body, 1)
        layout.addLayout(buttons)
        self.picker.currentIndexChanged.connect(self._show)
        self.previous_button.clicked.connect(lambda: self.move(-1, open_it=True))
        self.next_button.clicked.connect(lambda: self.move(+1, open_it=True))
        self.open_button.clicked.connect(lambda: self.open_requested.emit(self.current()))
        self._show()

    def current(self) -> Lesson:
        return self.lessons[self.picker.currentIndex()]

    def select(self, number: int) -> None:
        self.picker.setCurrentIndex(self.picker.findData(number))

    def move(self, delta: int, open_it: bool = False) -> None:
        index = max(0, min(len(self.lessons) - 1, self.picker.currentIndex() + delta))
        self.picker.setCurrentIndex(index)
        if open_it:
            self.open_requested.emit(self.current())

    def text(self) -> str:
        """The panel's explanation as plain text (what the class reads)."""
        return self.body.toPlainText()

    def _show(self, *_args) -> None:
        lesson = self.current()
        self.title.setText(f"Lesson {lesson.number}: {lesson.title}")
        sections = (("Look at", lesson.look_at), ("Expect", lesson.expect), ("Ask the class", lesson.question))
        self.body.setHtml("".join(f"<p><b>{name}.</b> {html.escape(text)}</p>" for name, text in sections)
                          + f"<p><i>Preset: {html.escape(lesson.preset)}</i></p>")
        self.previous_button.setEnabled(self.picker.currentIndex() > 0)
        self.next_button.setEnabled(self.picker.currentIndex() < len(self.lessons) - 1)
