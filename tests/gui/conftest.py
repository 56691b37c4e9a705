"""Fixtures for the GUI tests: a real MainWindow, offscreen, that is idle before and after each test."""
from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")


from guihelp import wait_idle


@pytest.fixture(scope="session", autouse=True)
def tuned_process():
    """What launching the window does once (pytest-qt makes its own QApplication)."""
    from rnnviz.gui.process import tune_process

    tune_process()


@pytest.fixture
def make_window(qtbot):
    from rnnviz.teaching.presets import get_preset
    from rnnviz.gui.main_window import MainWindow

    windows = []

    def make(preset="seed-rnn", spec=None, trace=None):
        window = MainWindow(spec or (get_preset(preset) if trace is None else None), trace=trace)
        qtbot.addWidget(window)
        window.resize(1600, 1000)
        window.show()
        wait_idle(qtbot, window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.session.stop()
        wait_idle(qtbot, window)


@pytest.fixture
def window(make_window):
    return make_window("seed-rnn")
