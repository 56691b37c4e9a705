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


def window_for(target=None, *args, loss_fn=None, **kwargs):
    """A MainWindow on a preset name, an RNNSpec, a Trace, a trace file path, or the user's own
    nn.Module (recorded as `model(*args, **kwargs)` with `loss_fn(output)`, off the GUI thread).
    On a preset or a spec, the window paints before its panels are made (MainWindow staged=True)."""
    if _is_torch_module(target):
        from .main_window import MainWindow

        window = MainWindow(build=False)
        window.open_model(target, *args, loss_fn=loss_fn, **kwargs)
        return window
    if args or kwargs or loss_fn is not None:
        raise TypeError(f"show(): inputs and loss_fn go with a torch module, not with a {type(target).__name__}")
    from rnnviz.teaching.presets import DEFAULT_PRESET, get_preset
    from rnnviz.engine.spec import RNNSpec

    from .main_window import MainWindow

    if target is None or isinstance(target, str) and not target.endswith(".npz"):
        return MainWindow(get_preset(target or DEFAULT_PRESET), staged=True)
    if isinstance(target, RNNSpec):
        return MainWindow(target, staged=True)
    if isinstance(target, (str, os.PathLike)):
        from .own_model import load_parts

        return file_window(load_parts(target), str(target))
    return file_window({"trace": target}, "")


def _is_torch_module(target) -> bool:
    """own_model's check, without importing own_model (and numpy with it) when torch is not loaded:
    then `target` cannot be a torch module."""
    if "torch" not in sys.modules:
        return False
    from .own_model import is_torch_module

    return is_torch_module(target)


def file_window(parts: dict, source: str = ""):
    """A MainWindow browsing recorded parts ({name: Trace}) read-only, each one's own configuration in
    the Network dock and a picker when there are several."""
    from .main_window import MainWindow
    from .own_model import open_file_parts

    window = MainWindow(next(iter(parts.values())).spec, build=False)
    open_file_parts(window, parts, source)
    return window


def show(target=None, *args, loss_fn=None, **kwargs) -> int:
    """Open the window on `target` and block until it closes; the exit code. With a torch module,
    `args`, `kwargs` and `loss_fn` are its inputs and loss (see window_for)."""
    if display_missing():
        print(NO_DISPLAY, file=sys.stderr)
        return 2
    from .qt import app

    app()
    return _exec(window_for(target, *args, loss_fn=loss_fn, **kwargs))


def _exec(window) -> int:
    from .qt import QtCore, app

    qapp = app()
    if window.size().width() < 800:
        window.resize(1600, 1000)
    window.show()
    from .first_paint import STARTUP_REPORT, report_startup  # light: Qt and the standard library only

    if os.environ.get(STARTUP_REPORT):
        report_startup(window, float(os.environ[STARTUP_REPORT]))
    quit_after = os.environ.get("RNNVIZ_QUIT_AFTER_MS")  # for tests: open, paint, close
    if quit_after:
        QtCore.QTimer.singleShot(int(quit_after), window.close)
    code = qapp.exec()
    # A job submitted as the window closed can start after Session.shutdown has waited (superqt starts
    # a worker 1 ms after it is submitted): it stops at its first check, but Python must not tear
    # down the objects it emits through before then.
    QtCore.QThreadPool.globalInstance().waitForDone(5000)
    return int(code or 0)


def run_open(args) -> int:
    """`rnnviz open SCRIPT.py:FACTORY`: the window on the model FACTORY() returns, with its inputs and loss."""
    from rnnviz.errors import user_message

    if display_missing():
        print(NO_DISPLAY, file=sys.stderr)
        return 2
    try:
        from rnnviz.engine.user_script import load_factory

        model, inputs, loss_fn = load_factory(args.target)
    except Exception as exc:  # noqa: BLE001 - one line for the user
        print(f"rnnviz open: {user_message(exc)}", file=sys.stderr)
        return 2
    return show(model, *inputs, loss_fn=loss_fn)


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
            from .own_model import load_parts

            parts = load_parts(args.file)
        elif target is not None:
            from rnnviz.teaching.presets import get_preset

            target = get_preset(target)
    except Exception as exc:  # noqa: BLE001
        print(f"rnnviz: {user_message(exc)}", file=sys.stderr)
        return 2
    if getattr(args, "file", None):
        from .qt import app

        app()
        return _exec(file_window(parts, args.file))
    return show(target)
