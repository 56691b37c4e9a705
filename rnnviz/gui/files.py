"""File menu actions: open/save traces (.npz) and specs (.json), with errors shown in the window."""
from __future__ import annotations

from pathlib import Path

from .qt import QtWidgets


def open_trace(window, path: str | None = None) -> None:
    path = path or QtWidgets.QFileDialog.getOpenFileName(window, "Open trace", "", "rnnviz trace (*.npz)")[0]
    if not path:
        return
    from .own_model import load_parts, open_file_parts

    try:
        parts = load_parts(path)  # one trace, or every recurrent part of a recorded model
    except Exception as exc:  # noqa: BLE001
        from rnnviz.errors import user_message

        window.show_error(user_message(exc))
        return
    open_file_parts(window, parts, path)  # the window logs what it shows once it is open


def save_trace(window, path: str | None = None) -> None:
    frame = window.frame
    if frame is None:
        window.show_error("nothing to save yet: build a network first")
        return
    path = path or QtWidgets.QFileDialog.getSaveFileName(window, "Save trace", "trace.npz", "rnnviz trace (*.npz)")[0]
    if not path:
        return
    trace = frame.trace
    if trace.windowed:   # a replay's window of a run recorded to disk: the run itself is what is saved
        trace = window.session.runner.trace
    try:
        trace.save(path)
    except Exception as exc:  # noqa: BLE001
        from rnnviz.errors import user_message

        window.show_error(user_message(exc))
        return
    window.log(f"saved the trace to {path}")


def open_spec(window, path: str | None = None) -> None:
    path = path or QtWidgets.QFileDialog.getOpenFileName(window, "Open spec", "", "spec JSON (*.json)")[0]
    if not path:
        return
    try:
        from rnnviz.engine.spec import RNNSpec

        spec = RNNSpec.from_json(Path(path).read_text())
    except Exception as exc:  # noqa: BLE001
        from rnnviz.errors import user_message

        window.show_error(user_message(exc))
        return
    window.form.set_spec(spec)
    window.log(f"opened spec {path}: press Build to apply it")


def save_spec(window, path: str | None = None) -> None:
    try:
        spec = window.form.spec()
    except ValueError as exc:
        window.show_error(str(exc))
        return
    path = path or QtWidgets.QFileDialog.getSaveFileName(window, "Save spec", "spec.json", "spec JSON (*.json)")[0]
    if not path:
        return
    try:
        Path(path).write_text(spec.to_json())
    except OSError as exc:
        window.show_error(str(exc))
        return
    window.log(f"saved the spec to {path}")
