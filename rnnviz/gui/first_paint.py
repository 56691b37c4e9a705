"""Time to first paint of `rnnviz`, measured the way a user waits for it: `python -m rnnviz` in a fresh
process on the default preset, timed from just before the process is started until the main window's
first paint event is delivered; then until its panels have painted (they are made after the first
paint) and until the first Build's frame is drawn (the Build imports torch, in the worker).

`rnnviz bench gui` runs `startup()` several times, alternating with `startup(torch_first=True)` (torch
imported before the window: what the start-up cost when the window waited for torch).
"""
from __future__ import annotations

import os
import sys
import time

from .qt import QtCore

# `rnnviz bench gui` sets it to the wall-clock time it started a process: the window prints when it
# painted (report_startup) and the process exits.
STARTUP_REPORT = "RNNVIZ_REPORT_STARTUP"

# Modules the first paint does without (each takes 0.1-0.5 s to import here); the report says which
# of them were loaded when the window first painted.
HEAVY = ("numpy", "pyqtgraph", "superqt", "torch")
TORCH_FIRST = "import torch, runpy; runpy.run_module('rnnviz', run_name='__main__')"
TIMEOUT_S = 120.0


class _Stamps(QtCore.QObject):
    """In the launched process: stamps the moments, prints them as one JSON line, exits."""

    def __init__(self, window, started: float):
        super().__init__(window)
        self.window, self.started = window, started
        self.result: dict = {"first_paint_s": None, "loaded_at_first_paint": None, "panels_painted_s": None,
                             "first_frame_s": None}
        window.installEventFilter(self)
        if window.session is None:
            window.ready.connect(self._panels_made)
        else:
            self._panels_made()
        self.poll = QtCore.QTimer(self)
        self.poll.timeout.connect(self._check_frame)
        self.poll.start(2)
        QtCore.QTimer.singleShot(int(TIMEOUT_S * 1000), self._finish)

    def _since(self) -> float:
        return time.time() - self.started

    def _panels_made(self) -> None:
        self.window.shapes.installEventFilter(self)

    def eventFilter(self, obj, event):  # noqa: N802 - Qt's name
        if event.type() == QtCore.QEvent.Type.Paint:
            if obj is self.window and self.result["first_paint_s"] is None:
                self.result["first_paint_s"] = self._since()
                self.result["loaded_at_first_paint"] = [name for name in HEAVY if name in sys.modules]
            elif obj is not self.window and self.result["panels_painted_s"] is None:
                self.result["panels_painted_s"] = self._since()
        return False

    def _check_frame(self) -> None:
        if self.window.frame is not None and self.window.is_idle():
            self.result["first_frame_s"] = self._since()
            self._finish()

    def _finish(self) -> None:
        import json

        print(json.dumps(self.result), flush=True)
        # The worker may still hold torch state: nothing more to wait for, nothing to save.
        os._exit(0 if self.result["first_frame_s"] is not None else 1)


def report_startup(window, started: float) -> None:
    """Print, as JSON, seconds from `started` (wall clock) to the window's first paint, the heavy
    modules loaded by then, to its panels' first paint and to the first Build's frame drawn; then exit."""
    window._startup_stamps = _Stamps(window, started)


def startup(torch_first: bool = False) -> dict:
    """Launch `python -m rnnviz` (torch_first: with torch imported before it) in a fresh process;
    what report_startup printed there."""
    import json
    import subprocess

    env = dict(os.environ, RNNVIZ_SETTINGS="")  # the default layout, not this user's saved one
    env.pop("RNNVIZ_QUIT_AFTER_MS", None)
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    command = [sys.executable, "-c", TORCH_FIRST] if torch_first else [sys.executable, "-m", "rnnviz"]
    env[STARTUP_REPORT] = repr(time.time())
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=TIMEOUT_S + 30)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"start-up probe failed ({done.returncode}): "
                           f"{(done.stderr.strip().splitlines() or ['no output'])[-1]}")
    return json.loads(lines[-1])
