"""Offscreen renders of issue 11's debugger tools for the README (`make screenshots`):
gates.png, breakpoint.png, ... `save_all(folder)` writes every one."""
from __future__ import annotations

import os
from pathlib import Path


def _window(preset: str, size=(1600, 1000)):
    from rnnviz.teaching.presets import get_preset

    from ..main_window import MainWindow
    from ..qt import app
    from .views import _wait

    app()

    window = MainWindow(get_preset(preset))
    window.resize(*size)
    window.show()
    _wait(window.is_idle)
    return window


def _close(window) -> None:
    window.close()
    window.deleteLater()


def _vertical():
    from ..qt import QtCore

    return QtCore.Qt.Orientation.Vertical


def render_gates(output) -> Path:
    """The LSTM of lesson 6 after its forward pass, the Gates dock raised."""
    from .views import _save, _wait

    window = _window("lstm-memory")
    try:
        window.docks["Gates"].raise_()
        # Five heatmaps need the height: the Shapes dock above gives it up for this picture.
        window.resizeDocks([window.docks["Gates"]], [640], _vertical())
        window.session.run_to(window.session.runner.num_forward - 15)
        _wait(window.is_idle)
        return _save(window, output)
    finally:
        _close(window)


def render_breakpoint(output) -> Path:
    """Lesson 8: vanishing-tanh stopped by "‖dL/dh_t‖ < 1e-6" in the backward pass."""
    from .views import _save, _wait

    window = _window("vanishing-tanh")
    try:
        dock = window.debugger.breakpoints
        window.docks["Breakpoints"].raise_()
        dock.kind_box.setCurrentIndex(dock.kind_box.findText("‖dL/dh_t‖ <"))
        dock.value_edit.setText("1e-6")
        dock.add_from_form()
        window.debugger.run_until()
        _wait(window.is_idle)
        return _save(window, output)
    finally:
        _close(window)


def render_proof(output) -> Path:
    """The fused-vs-stepped dialog on seed-rnn (loss out.sum(): out.grad is 1 everywhere)."""
    from .views import _save, _wait

    window = _window("seed-rnn")
    try:
        dialog = window.debugger.show_proof()
        _wait(window.is_idle)
        try:
            return _save(dialog, output)
        finally:
            dialog.close()
    finally:
        _close(window)


def render_preflight(output) -> Path:
    """The Input tab on seed-rnn with a wrong feature size typed."""
    from .views import _save

    window = _window("seed-rnn")
    try:
        tab = window.debugger.input_tab
        window.form.tabs.setCurrentWidget(tab)
        tab.input_edit.setText("(5, 6, 6)")
        tab.h0_edit.setText("(3, 5, 2)")
        tab.check()
        return _save(window.docks["Network"], output)
    finally:
        _close(window)


def render_whatif(output) -> Path:
    """lstm-memory: unit 3 of h_5 set to 0.9, run to the end, the edited run over the original."""
    from .views import _save, _wait

    window = _window("lstm-memory")
    try:
        window.session.step(12)
        _wait(window.is_idle)
        dock = window.debugger.whatif
        dock.t_box.setValue(5)
        dock.index_box.setValue(3)
        dock.value_edit.setText("0.9")
        dock.apply_button.click()
        _wait(window.is_idle)
        window.session.run_to_end()
        window.session.run_to_end()
        _wait(window.is_idle)
        window.docks["What-if"].raise_()
        return _save(window, output)
    finally:
        _close(window)


def render_truncation(output) -> Path:
    """vanishing-tanh split for k=10: what truncated BPTT keeps and drops."""
    from .views import _save, _wait

    window = _window("vanishing-tanh")
    try:
        window.debugger.truncation.k_box.setValue(10)
        window.debugger.truncate(10)
        _wait(window.is_idle)
        window.seek_time(20)
        _wait(window.is_idle)
        return _save(window, output)
    finally:
        _close(window)


def render_export(output) -> Path:
    """Lesson 8 exported: its title slide and a slide from the backward pass, side by side in the
    README as two files (export-title.png next to `output`)."""
    import shutil
    import tempfile

    from .views import _wait

    window = _window("vanishing-tanh")
    try:
        window.view_extras.show_lessons().select(8)
        with tempfile.TemporaryDirectory() as folder:
            exporter = window.debugger.export_run(folder)
            _wait(lambda: not exporter.is_running(), timeout=300)
            slides = sorted(Path(folder).glob("slide-*.png"))
            shutil.copy(slides[0], Path(output).with_name("export-title.png"))
            shutil.copy(slides[len(slides) * 3 // 4], output)
        return Path(output)
    finally:
        _close(window)


def render_lecture_1280(output) -> Path:
    """Lecture mode at 1280x800: the Lesson dock fits and reads."""
    from .views import render_presentation

    return render_presentation(output, size=(1280, 800), lesson=8)


def render_long_sequence(output) -> Path:
    """An LSTM of 2000 timesteps built under a 32 MiB budget: recorded to disk and replayed, a
    full-resolution window around the cursor over the overview, midway through the backward pass."""
    from rnnviz.engine.memory import ENV_VAR
    from rnnviz.engine.spec import RNNSpec

    from ..main_window import MainWindow
    from .views import _save, _wait

    spec = RNNSpec(kind="lstm", input_size=8, hidden_size=64, num_layers=2, seq_len=2000, batch_size=16,
                   forget_bias=1.0)
    before = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = "32MiB"
    try:
        window = MainWindow(spec)
        window.resize(1600, 1000)
        window.show()
        _wait(window.is_idle)
    finally:
        if before is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = before
    try:
        runner = window.session.runner
        window.session.seek(runner.num_forward + (len(runner.schedule) - runner.num_forward) // 3)
        _wait(window.is_idle)
        return _save(window, output)
    finally:
        _close(window)


RENDERS = {"gates.png": render_gates, "breakpoint.png": render_breakpoint, "proof.png": render_proof,
           "preflight.png": render_preflight, "whatif.png": render_whatif,
           "truncation.png": render_truncation, "export-slide.png": render_export,
           "presentation-1280x800.png": render_lecture_1280, "long-sequence.png": render_long_sequence}


def save_all(folder) -> list[Path]:
    os.environ.setdefault("RNNVIZ_SETTINGS", "")
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from ..qt import app

    app()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [render(folder / name) for name, render in RENDERS.items()]


if __name__ == "__main__":
    import sys

    for path in save_all(sys.argv[1] if len(sys.argv) > 1 else "assets"):
        print(f"wrote {path}")
