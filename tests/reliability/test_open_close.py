"""The real window opened and closed as a user would, in its own process: zero non-zero exits, nothing
on stderr that is a traceback or a warning. 2 cycles in `make test`, 50 in `make soak`."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

import soakreport

CHECK = "window open/close cycles (subprocess)"
PRESETS = ["seed-rnn", "lstm-memory", "seed-rnncell", "vanishing-tanh", "exploding-relu"]
# Opens the window, Plays, closes it mid-play: the case that once printed a RuntimeWarning.
SCRIPT = """
import sys
from rnnviz.gui.qt import QtCore, app
from rnnviz.teaching.presets import get_preset
from rnnviz.gui.main_window import MainWindow
qapp = app()
window = MainWindow(get_preset(sys.argv[1]))
window.show()
def play():
    window.session.speed = 1000
    window.session.play(True)
    QtCore.QTimer.singleShot(int(sys.argv[2]), window.close)
QtCore.QTimer.singleShot(400, play)
sys.exit(qapp.exec())
"""


def _cycle(index: int, tmp_path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", RNNVIZ_SETTINGS="", PYTHONWARNINGS="default")
    preset = PRESETS[index % len(PRESETS)]
    if index % 2:
        command = [sys.executable, "-m", "rnnviz", "--preset", preset]
        env["RNNVIZ_QUIT_AFTER_MS"] = str(300 + 97 * index % 700)
    else:
        command = [sys.executable, "-c", SCRIPT, preset, str(50 + 53 * index % 400)]
    soakreport.tried(CHECK)
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    stderr = "\n".join(line for line in result.stderr.splitlines() if "propagateSizeHints" not in line)
    assert result.returncode == 0, (command, result.returncode, stderr)
    assert "Traceback" not in stderr and "Warning" not in stderr, stderr
    soakreport.held(CHECK, "exit 0, clean stderr")


@pytest.mark.parametrize("index", range(2))
def test_open_play_close(index, tmp_path):
    _cycle(index, tmp_path)


@pytest.mark.soak
def test_fifty_open_close_cycles(tmp_path):
    for index in range(50):
        _cycle(index, tmp_path)
