"""Export a stepped run, or a lesson, to hand out: a folder of PNG slides (a title slide with the
lesson text, then one slide per step: the window as drawn with a caption) and an animated GIF of
the same frames. Driven by the event loop one step at a time, with progress and cancel; the GIF is
written from the slides in a thread (Pillow). Nothing needs torch to replay it."""
from __future__ import annotations

import threading
from pathlib import Path

from ..qt import QtCore, QtGui, QtWidgets

MAX_FRAMES = 120          # longer runs are sampled: every k-th step, the first and last always
STEP_MS, TITLE_MS = 300, 4000
WIDTH = 1200              # slides and GIF frames are scaled to this width


def positions_for(total: int, max_frames: int = MAX_FRAMES) -> list[int]:
    """0..total, every k-th so that at most max_frames are taken, always with the last."""
    every = max(1, -(-(total + 1) // max_frames))
    positions = list(range(0, total + 1, every))
    if positions[-1] != total:
        positions.append(total)
    return positions


def caption_of(frame) -> str:
    cell = frame.cell
    where = "before the first step" if cell is None else (
        f"{cell.phase} step, layer {cell.layer}" + (f", direction {cell.direction}" if cell.direction else "")
        + f", t = {cell.t}")
    loss = frame.trace.loss
    loss_text = f"    loss {loss:.5g}" if loss == loss else ""
    return f"step {frame.position} / {frame.total}: {where}{loss_text}"


def _text_slide(title: str, body: str, size: QtCore.QSize) -> QtGui.QImage:
    image = QtGui.QImage(size, QtGui.QImage.Format.Format_RGB32)
    image.fill(QtGui.QColor("white"))
    painter = QtGui.QPainter(image)
    margin = size.width() // 16
    font = QtGui.QFont()
    font.setPixelSize(max(18, size.width() // 28))
    font.setBold(True)
    painter.setFont(font)
    painter.setPen(QtGui.QColor("#0b4fd6"))
    box = QtCore.QRect(margin, margin, size.width() - 2 * margin, size.height() // 4)
    painter.drawText(box, QtCore.Qt.TextFlag.TextWordWrap, title)
    font.setBold(False)
    font.setPixelSize(max(14, size.width() // 48))
    painter.setFont(font)
    painter.setPen(QtGui.QColor("black"))
    painter.drawText(QtCore.QRect(margin, margin + size.height() // 4, size.width() - 2 * margin,
                                  size.height() - size.height() // 4 - 2 * margin), QtCore.Qt.TextFlag.TextWordWrap, body)
    painter.end()
    return image


def _captioned(shot: QtGui.QImage, caption: str, heading: str) -> QtGui.QImage:
    """The window image scaled to WIDTH with a caption band under it."""
    scaled = shot.scaledToWidth(WIDTH, QtCore.Qt.TransformationMode.SmoothTransformation)
    band = 64
    image = QtGui.QImage(scaled.width(), scaled.height() + band, QtGui.QImage.Format.Format_RGB32)
    image.fill(QtGui.QColor("white"))
    painter = QtGui.QPainter(image)
    painter.drawImage(0, 0, scaled)
    font = QtGui.QFont()
    font.setPixelSize(22)
    painter.setFont(font)
    painter.setPen(QtGui.QColor("black"))
    text = f"{heading}    {caption}" if heading else caption
    painter.drawText(QtCore.QRect(16, scaled.height(), scaled.width() - 32, band),
                     QtCore.Qt.AlignmentFlag.AlignVCenter, text)
    painter.end()
    return image


def write_gif(slides: list[Path], output: Path, durations: list[int]) -> Path:
    """An animated GIF of the slide PNGs (Pillow), looping; frames are read one at a time."""
    from PIL import Image

    def frames():
        for path in slides[1:]:
            with Image.open(path) as im:
                yield im.convert("RGB").quantize(colors=256)

    with Image.open(slides[0]) as first:
        first.convert("RGB").quantize(colors=256).save(output, save_all=True, append_images=frames(),
                                                       duration=durations, loop=0, optimize=False)
    return output


class RunExporter(QtCore.QObject):
    """Seeks the window along the schedule, grabs each drawn frame as a slide, then writes the GIF.

    progress(done, total); finished(result): result is {'slides', 'gif', 'text'} or None when
    cancelled; failed(message)."""

    progress = QtCore.Signal(int, int)
    finished = QtCore.Signal(object)
    failed = QtCore.Signal(str)

    def __init__(self, window, folder, lesson=None, gif: bool = True, max_frames: int = MAX_FRAMES):
        super().__init__(window)
        self.window, self.folder, self.lesson, self.gif = window, Path(folder), lesson, gif
        frame = window.frame
        if frame is None or window.session.runner is None:
            raise ValueError("nothing to export: build a network first")
        self.positions = positions_for(frame.total, max_frames)
        self.shot_positions: list[int] = []
        self.slides: list[Path] = []
        self.captions: list[str] = []
        self._index = 0
        self._cancelled = False
        self._waiting = False
        self._thread = None
        self._result = None
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(15)
        self._timer.timeout.connect(self._tick)

    @property
    def steps(self) -> int:
        return len(self.positions) + 1  # + writing the GIF

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        heading = self._write_title()
        self.heading = heading
        self._timer.start()

    def cancel(self) -> None:
        self._cancelled = True

    def _write_title(self) -> str:
        from rnnviz.teaching.lessons import lesson_text

        frame = self.window.frame
        spec = frame.trace.spec
        if self.lesson is not None:
            title, body = f"Lesson {self.lesson.number}: {self.lesson.title}", lesson_text(self.lesson).split("\n\n", 1)[1]
            heading = f"Lesson {self.lesson.number}"
        else:
            title = "rnnviz: a stepped run"
            body = (getattr(spec, "description", "") or "") + "\n\nOne slide per step: forward through time, then back."
            heading = ""
        text = title + "\n\n" + body + "\n"
        (self.folder / "lesson.txt").write_text(text, encoding="utf-8")
        size = self.window.size()
        slide = _text_slide(title, body, QtCore.QSize(WIDTH, int(WIDTH * size.height() / max(1, size.width())) + 64))
        path = self.folder / "slide-000-title.png"
        if not slide.save(str(path)):
            raise OSError(f"could not write {path}")
        self.slides.append(path)
        return heading

    def _tick(self) -> None:
        w = self.window
        if self._cancelled:
            self._finish(None)
            return
        if self._thread is not None:
            if not self._thread.is_alive():
                self._finish(self._result)
            return
        if self._index >= len(self.positions):
            self._start_gif()
            return
        target = self.positions[self._index]
        if not self._waiting:
            w.session.seek(target)
            self._waiting = True
            return
        if not w.is_idle() or w.frame is None or w.frame.position != target:
            return
        QtWidgets.QApplication.processEvents()
        shot = w.grab().toImage()
        caption = caption_of(w.frame)
        slide = _captioned(shot, caption, self.heading)
        path = self.folder / f"slide-{self._index + 1:03d}.png"
        if not slide.save(str(path)):
            self.failed.emit(f"could not write {path}")
            self._finish(None)
            return
        self.slides.append(path)
        self.captions.append(caption)
        self.shot_positions.append(w.frame.position)
        self._index += 1
        self._waiting = False
        self.progress.emit(self._index, self.steps)

    def _start_gif(self) -> None:
        result = {"slides": list(self.slides), "gif": None, "text": self.folder / "lesson.txt"}
        if not self.gif:
            self._finish(result)
            return
        output = self.folder / "run.gif"
        durations = [TITLE_MS] + [STEP_MS] * (len(self.slides) - 2) + [TITLE_MS // 2]

        def work():
            try:
                result["gif"] = write_gif(self.slides, output, durations)
            except Exception as exc:  # noqa: BLE001 - reported as one line
                result["error"] = f"could not write the GIF: {exc}"
        self._result = result
        self._thread = threading.Thread(target=work, daemon=True)
        self._thread.start()

    def _finish(self, result) -> None:
        self._timer.stop()
        if result is not None and result.get("error"):
            self.failed.emit(result["error"])
            result = None
        else:
            self.progress.emit(self.steps, self.steps)
        self.finished.emit(result)

    def is_running(self) -> bool:
        return self._timer.isActive()


def ask_and_export(window) -> RunExporter | None:
    """Debug > Export run…: a folder, then the export with a progress dialog and Cancel."""
    folder = QtWidgets.QFileDialog.getExistingDirectory(window, "Export the run as slides and a GIF into…")
    if not folder:
        return None
    return export_with_progress(window, folder)


def export_with_progress(window, folder) -> RunExporter:
    extras = getattr(window, "view_extras", None)
    dock = getattr(extras, "lessons_dock", None)
    lesson = dock.widget().current() if dock is not None and dock.isVisible() else None
    exporter = RunExporter(window, folder, lesson=lesson)
    dialog = QtWidgets.QProgressDialog("Exporting the run: one slide per step…", "Cancel", 0, exporter.steps, window)
    dialog.setWindowTitle("Export run")
    dialog.setMinimumDuration(0)
    dialog.canceled.connect(exporter.cancel)
    exporter.progress.connect(lambda done, total: dialog.setValue(done))
    exporter.failed.connect(window.show_error)

    def done(result):
        dialog.close()
        if result is None:
            window.log(f"export cancelled; slides written so far are in {folder}")
        else:
            window.log(f"exported {len(result['slides'])} slides" + (f" and {result['gif'].name}" if result["gif"] else "")
                       + f" to {folder}")
    exporter.finished.connect(done)
    exporter.dialog = dialog
    exporter.start()
    return exporter
