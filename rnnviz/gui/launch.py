"""`rnnviz` / `rnnviz --preset NAME` / `rnnviz FILE.npz`: open the debugger window."""
from __future__ import annotations

import os
import sys

NO_DISPLAY = ("rnnviz: no display (DISPLAY and WAYLAND_DISPLAY are unset): render the window to a file with "
              "`rnnviz screenshot --preset seed-rnn -o window.png`, or run it under `xvfb-run rnnviz`")


def display_missing() -> bool:
    """On Linux, no X11/Wayland display and not asked for the offscreen platform."""
    if not sys.platform.startswith("linux"):
        return False
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return False
    return os.environ.get("QT_QPA_PLATFORM", "") != "offscreen"


def _window_for(target):
    """A MainWindow on a preset name, an RNNSpec, a Trace or a trace file path."""
    from rnnviz.engine.presets import DEFAULT_PRESET, get_preset
    from rnnviz.engine.spec import RNNSpec

    from .app import MainWindow

    if target is None or isinstance(target, str) and not target.endswith(".npz"):
        return MainWindow(get_preset(target or DEFAULT_PRESET))
    if isinstance(target, RNNSpec):
        return MainWindow(target)
    if isinstance(target, (str, os.PathLike)):
        from rnnviz.engine.trace import load_trace

        target = load_trace(target)
    return MainWindow(trace=target)


def show(target=None) -> int:
    """Open the window on `target` and block until it closes; the exit code."""
    if display_missing():
        print(NO_DISPLAY, file=sys.stderr)
        return 2
    from .qt import QtCore, app

    qapp = app()
    window = _window_for(target)
    if window.size().width() < 800:
        window.resize(1600, 1000)
    window.show()
    quit_after = os.environ.get("RNNVIZ_QUIT_AFTER_MS")  # for tests: open, paint, close
    if quit_after:
        QtCore.QTimer.singleShot(int(quit_after), window.close)
    code = qapp.exec()
    return int(code or 0)


def run(args) -> int:
    from rnnviz.errors import user_message

    if display_missing():
        print(NO_DISPLAY, file=sys.stderr)
        return 2
    target = getattr(args, "file", None) or getattr(args, "preset", None)
    if getattr(args, "file", None) and getattr(args, "preset", None):
        print("rnnviz: give either a trace file or --preset, not both", file=sys.stderr)
        return 2
    try:
        if getattr(args, "file", None):
            from rnnviz.engine.trace import load_trace

            target = load_trace(args.file)
        elif target is not None:
            from rnnviz.engine.presets import get_preset

            target = get_preset(target)
    except Exception as exc:  # noqa: BLE001
        print(f"rnnviz: {user_message(exc)}", file=sys.stderr)
        return 2
    return show(target)
