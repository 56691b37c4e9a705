"""Offscreen renders of issue #4's views for the README: training, presentation, spectral, compare.

`render_view(view, output, preset=None, size=...)` is what `rnnviz screenshot --view V` and
rnnviz/gui/render/__main__.py call; `save_all(folder)` writes every one into assets/.
"""
from __future__ import annotations

import time
from pathlib import Path

VIEWS = ("training", "presentation", "presentation-dark", "spectral", "compare")


def _process(seconds: float = 0.05) -> None:
    from ..qt import app

    qapp = app()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        qapp.processEvents()
        time.sleep(0.002)


def _wait(predicate, timeout: float = 120.0) -> None:
    from ..qt import app

    qapp = app()
    end = time.monotonic() + timeout
    while not predicate():
        qapp.processEvents()
        time.sleep(0.002)
        if time.monotonic() > end:
            raise TimeoutError("the view did not settle within the time limit")
    qapp.processEvents()


def _save(widget, output) -> Path:
    _process()
    if not widget.grab().save(str(output)):
        raise OSError(f"could not write {output}")
    return Path(output)


def render_training(output, size=(1600, 1000), clip: float | None = 0.3) -> Path:
    """The training view after 200 epochs of the tutorial model on "hello world", clipping on."""
    from rnnviz.train.training import TrainConfig

    from ..windows.training_view import TrainingView

    view = TrainingView(TrainConfig(epochs=200, clip=clip))
    try:
        view.resize(*size)
        view.show()
        view.start()
        _wait(lambda: not view.is_running())
        view.iteration_box.setValue(120)
        return _save(view, output)
    finally:
        view.close()
        view.deleteLater()


def render_presentation(output, size=(1920, 1080), theme: str = "light", lesson: int = 4) -> Path:
    """Presentation mode on lesson `lesson`, stepped into the backward pass."""
    from rnnviz.teaching.lessons import lesson_by_number
    from rnnviz.teaching.presets import get_preset

    from ..main_window import MainWindow

    chosen = lesson_by_number(lesson)
    window = MainWindow(get_preset(chosen.preset))
    try:
        window.resize(*size)
        window.show()
        _wait(window.is_idle)
        extras = window.view_extras
        extras.presentation.set_theme(theme)
        extras.presentation.set_active(True, full_screen=False)
        extras._sync_presentation_action(True)
        extras.show_lessons().select(lesson)
        runner = window.session.runner
        window.session.run_to(runner.num_forward + (len(runner.schedule) - runner.num_forward) // 2)
        _wait(window.is_idle)
        window.resize(*size)
        _process()
        extras._presentation_layout()
        return _save(window, output)
    finally:
        window.close()
        window.deleteLater()


def render_spectral(output, size=(1400, 800), preset: str = "vanishing-tanh") -> Path:
    from rnnviz.teaching.presets import get_preset

    from ..main_window import MainWindow

    window = MainWindow(get_preset(preset))
    try:
        window.show()
        _wait(window.is_idle)
        window.session.run_backward()
        _wait(window.is_idle)
        spectral_window = window.view_extras.show_spectral()
        spectral_window.resize(*size)
        spectral_window.show_frame(window.session.frame)
        try:
            return _save(spectral_window, output)
        finally:
            spectral_window.close()
    finally:
        window.close()
        window.deleteLater()


def render_compare(output, size=(1600, 1000), pair: str = "RNN vs LSTM") -> Path:
    from ..windows.compare import CompareView

    view = CompareView(pair)
    try:
        view.resize(*size)
        view.show()
        view.run()
        _wait(lambda: view.worker is None and view.traces[0] is not None)
        view.set_t(10)
        return _save(view, output)
    finally:
        view.close()
        view.deleteLater()


def render_view(view: str, output, preset: str | None = None, size=None) -> Path:
    """One of VIEWS to `output` (PNG). `preset` picks the spectral view's preset."""
    from ..headless import render_offscreen_without_display

    render_offscreen_without_display()
    from ..qt import app

    app()
    kw = {} if size is None else {"size": tuple(size)}
    if view == "training":
        return render_training(output, **kw)
    if view in ("presentation", "presentation-dark"):
        return render_presentation(output, theme="dark" if view.endswith("dark") else "light", **kw)
    if view == "spectral":
        return render_spectral(output, preset=preset or "vanishing-tanh", **kw)
    if view == "compare":
        return render_compare(output, **kw)
    raise ValueError(f"--view must be one of debugger, {', '.join(VIEWS)}, got {view!r}")


def save_all(folder) -> list[Path]:
    """training-view.png, presentation.png, presentation-dark.png, spectral.png, compare.png in `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = {"training": "training-view.png", "presentation": "presentation.png",
             "presentation-dark": "presentation-dark.png", "spectral": "spectral.png", "compare": "compare.png"}
    return [render_view(view, folder / name) for view, name in names.items()]


if __name__ == "__main__":
    import sys

    for path in save_all(sys.argv[1] if len(sys.argv) > 1 else "assets"):
        print(f"wrote {path}")
