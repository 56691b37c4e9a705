"""Time to first paint of `rnnviz`, measured the way a user waits for it: a fresh interpreter that
opens the default window, timed from before the interpreter started until the window's first paint.

`rnnviz bench gui` runs `probe()` in a subprocess twice: as the window starts (torch is loaded by
the first Build, in the worker, after the window has painted) and with torch imported before the
window is made, for comparison: what loading torch before the first paint costs.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from .qt import QtCore

# The child: argv[1] is the wall-clock time the parent took just before starting it. The old start-up
# imported torch before the window; the comparison does it in the child's command line.
CHILD = "import sys; from rnnviz.gui.first_paint import probe; probe(float(sys.argv[1]))"
TORCH_FIRST = "import torch; "


def probe(started: float) -> None:
    """Open the default window and print, as JSON, seconds from `started` to its first paint and
    whether torch was loaded by then."""
    from .headless import render_offscreen_without_display
    from .launch import window_for
    from .qt import app

    render_offscreen_without_display()
    qapp = app()
    painted: list[float] = []

    class FirstPaint(QtCore.QObject):
        def eventFilter(self, obj, event):  # noqa: N802 - Qt's name
            if event.type() == QtCore.QEvent.Type.Paint and not painted:
                painted.append(time.time())
            return False

    window = window_for(None)
    window.resize(1600, 1000)
    watcher = FirstPaint()
    window.installEventFilter(watcher)
    window.show()
    deadline = time.time() + 60
    while not painted and time.time() < deadline:
        qapp.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 10)
    torch_loaded = "torch" in sys.modules
    print(json.dumps({"first_paint_s": painted[0] - started if painted else None, "torch_loaded": torch_loaded}))
    sys.stdout.flush()
    window.session.stop()
    window.session.shutdown()
    os._exit(0)  # the build may still be importing torch in its worker: nothing more to wait for


def first_paint(torch_first: bool = False) -> dict:
    """Run probe() in a fresh interpreter; its result."""
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    started = time.time()
    done = subprocess.run([sys.executable, "-c", (TORCH_FIRST if torch_first else "") + CHILD, repr(started)],
                          capture_output=True, text=True, env=env, timeout=120)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"first-paint probe failed: {done.stderr.strip().splitlines()[-1:] or done.returncode}")
    return json.loads(lines[-1])
