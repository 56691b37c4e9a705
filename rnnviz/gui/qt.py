"""One place that imports Qt and configures pyqtgraph (PySide6 first, then pyqtgraph), and the one
QApplication. The colours, fonts and patched pyqtgraph items live in style.py.

pyqtgraph (and numpy under it) loads on first use of `pg` (`from .qt import pg`), not with Qt: the
window's first paint needs QtWidgets only, and importing pyqtgraph takes longer than that paint."""
from __future__ import annotations

import sys

import PySide6  # noqa: F401  - must be imported before pyqtgraph picks a binding
from PySide6 import QtCore, QtGui, QtWidgets  # noqa: F401


def __getattr__(name: str):
    if name == "pg":
        import pyqtgraph

        pyqtgraph.setConfigOptions(imageAxisOrder="row-major", antialias=False, background="w", foreground="k")
        globals()["pg"] = pyqtgraph
        return pyqtgraph
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_QUIET = ("This plugin does not support propagateSizeHints()",)  # offscreen platform noise, once per window


def _message_handler(mode, context, message) -> None:
    if message not in _QUIET:
        print(message, file=sys.stderr)


def app() -> QtWidgets.QApplication:
    """The running QApplication, created when there is none."""
    instance = QtWidgets.QApplication.instance()
    if instance is None:
        from .process import tune_process

        tune_process()
        QtCore.qInstallMessageHandler(_message_handler)
        instance = QtWidgets.QApplication(["rnnviz"])
        instance.setApplicationName("rnnviz")
        instance.setOrganizationName("rnnviz")
    return instance
