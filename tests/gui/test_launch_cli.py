"""The commands that open or render the window: display detection, screenshot, the real-window test."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _env(**changes):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["RNNVIZ_SETTINGS"] = ""
    env.update(changes)
    return env


def test_no_display_exits_2_with_one_line_naming_the_alternatives(monkeypatch, capsys):
    from rnnviz.cli import main

    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert main([]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "rnnviz screenshot" in err and "xvfb-run" in err


def test_unknown_preset_is_one_line(monkeypatch, capsys):
    from rnnviz.cli import main

    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert main(["--preset", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unknown preset" in err


def test_screenshot_positions():
    from rnnviz.engine.runner import backward_schedule, forward_schedule
    from rnnviz.gui.render.capture import parse_size, target_position

    forward = forward_schedule(3, 1, 6)
    schedule = forward + backward_schedule(forward)
    assert target_position(schedule, len(forward), "end") == 36
    assert target_position(schedule, len(forward), "forward:1") == 6      # every layer of t=0 and t=1
    assert target_position(schedule, len(forward), "backward:5") == 18 + 3
    with pytest.raises(ValueError, match="--at"):
        target_position(schedule, len(forward), "sideways:2")
    with pytest.raises(ValueError, match="between 0 and 5"):
        target_position(schedule, len(forward), "forward:6")
    assert parse_size("1600x1000") == (1600, 1000)
    with pytest.raises(ValueError):
        parse_size("big")


def test_screenshot_renders_the_window(qtbot, tmp_path):
    from PySide6 import QtGui

    from rnnviz.gui.render.capture import render

    out = render("seed-rnncell", tmp_path / "w.png", (1200, 800), "forward:1")
    image = QtGui.QImage(str(out))
    assert (image.width(), image.height()) == (1200, 800)


def _free_display() -> int:
    for number in range(99, 140):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            return number
    pytest.skip("no free X display number")


@pytest.mark.xvfb
def test_real_window_under_xvfb(tmp_path):
    """Open the real window on an X server (xcb), let it paint, close it: exit code 0."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed")
    number = _free_display()
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{number}").exists():
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.skip("Xvfb did not start")
            time.sleep(0.05)
        env = _env(DISPLAY=f":{number}", QT_QPA_PLATFORM="xcb", RNNVIZ_QUIT_AFTER_MS="1500")
        result = subprocess.run([sys.executable, "-m", "rnnviz", "--preset", "seed-rnncell"], env=env, cwd=ROOT,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
    finally:
        server.terminate()
        server.wait(timeout=10)
