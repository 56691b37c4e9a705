"""`rnnviz screenshot`: render the real main window offscreen at a point of the schedule and save it."""
from __future__ import annotations

import sys
import time


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--size must be WIDTHxHEIGHT, e.g. 1600x1000, got {text!r}") from None
    if not (200 <= w <= 10000 and 200 <= h <= 10000):
        raise ValueError(f"--size must be between 200x200 and 10000x10000, got {text!r}")
    return w, h


def target_position(schedule, num_forward: int, at: str) -> int:
    """The schedule position for --at: 'end' (forward and backward done), 'forward:T' (forward pass
    through timestep T, every layer), 'backward:T' (backward pass down to timestep T)."""
    if at == "end":
        return len(schedule)
    phase, _, value = at.partition(":")
    if phase not in ("forward", "backward") or not value.lstrip("-").isdigit():
        raise ValueError(f"--at must be end, forward:T or backward:T, got {at!r}")
    t = int(value)
    T = 1 + max(c.t for c in schedule)
    if not 0 <= t < T:
        raise ValueError(f"--at {at}: t must be between 0 and {T - 1}")
    cells = [i for i, c in enumerate(schedule) if c.phase == phase and c.t == t]
    return max(cells) + 1


def wait_idle(window, timeout: float = 120.0) -> None:
    from ..qt import QtWidgets

    app = QtWidgets.QApplication.instance()
    end = time.monotonic() + timeout
    while not window.is_idle():
        app.processEvents()
        time.sleep(0.002)
        if time.monotonic() > end:
            raise TimeoutError("the window did not settle within the time limit")
    app.processEvents()


def render(preset: str, output, size=(1600, 1000), at: str = "end", view: str = "debugger"):
    """Build `preset` in a real MainWindow, advance to `at`, save the window to `output` (PNG)."""
    if view != "debugger":  # issue #4's views: training, presentation, spectral, compare
        from .views import VIEWS, render_view

        if view not in VIEWS:
            raise ValueError(f"--view must be debugger or one of {', '.join(VIEWS)}, got {view!r}")
        return render_view(view, output, preset=None if preset == "seed-rnn" else preset, size=size)  # the CLI default
    from ..headless import render_offscreen_without_display

    render_offscreen_without_display()
    from rnnviz.teaching.presets import get_preset

    from ..main_window import MainWindow
    from ..qt import app

    spec = get_preset(preset)
    qapp = app()
    window = MainWindow(spec)
    try:
        window.resize(*size)
        window.show()
        wait_idle(window)
        if window.session.runner is None:
            raise RuntimeError("the network could not be built: " + window.messages.toPlainText().strip().splitlines()[-1])
        runner = window.session.runner
        position = target_position(runner.schedule, runner.num_forward, at)
        window.session.run_to(position)
        wait_idle(window)
        qapp.processEvents()
        image = window.grab()
        if not image.save(str(output)):
            raise OSError(f"could not write {output}")
    finally:
        window.close()
        window.deleteLater()
        qapp.processEvents()
    return output


def run(args) -> int:
    from rnnviz.errors import user_message

    try:
        size = args.size if isinstance(args.size, tuple) else parse_size(args.size)
        render(args.preset, args.output, size, args.at, getattr(args, "view", "debugger"))
    except Exception as exc:  # noqa: BLE001 - one line for the user
        print(f"rnnviz screenshot: {user_message(exc)}", file=sys.stderr)
        return 2
    print(f"wrote {args.output}")
    return 0
