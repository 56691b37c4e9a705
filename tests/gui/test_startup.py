"""Start-up: the window paints its frame before pyqtgraph, numpy or torch is imported, makes its panels
right after, and the first Build then loads torch in the worker."""
import dataclasses
import subprocess
import sys

from guihelp import wait_idle

from rnnviz.gui.first_paint import startup


def test_rnnviz_paints_before_pyqtgraph_numpy_and_torch_are_imported():
    """The real `python -m rnnviz` path, in a fresh process: which modules were loaded at the moment the
    window's first paint event was delivered; then its panels paint and the first Build is drawn."""
    result = startup()
    assert result["loaded_at_first_paint"] == [], result
    assert result["first_paint_s"] < result["panels_painted_s"] < result["first_frame_s"], result


def test_importing_and_making_the_window_loads_no_torch():
    code = ("import sys; from rnnviz.gui.headless import render_offscreen_without_display; "
            "render_offscreen_without_display(); from rnnviz.gui.qt import app; app(); "
            "import rnnviz.gui.main_window as m; w = m.MainWindow(); "
            "print('torch' in sys.modules, w.session.runner is None)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["False", "True"], done.stderr


def test_the_first_build_waits_for_the_first_paint(qtbot):
    from rnnviz.gui.main_window import MainWindow
    from rnnviz.teaching.presets import get_preset

    window = MainWindow(get_preset("seed-rnn"))
    qtbot.addWidget(window)
    assert window.session.runner is None and not window.session.is_busy() and not window.is_idle()
    window.show()
    wait_idle(qtbot, window)
    assert window.session.runner is not None and window.frame is not None
    assert window.session.spec == get_preset("seed-rnn")
    window.session.shutdown()


def test_a_window_never_shown_still_builds(qtbot):
    from rnnviz.gui.main_window import MainWindow
    from rnnviz.teaching.presets import get_preset

    window = MainWindow(get_preset("seed-rnn"))
    qtbot.addWidget(window)
    wait_idle(qtbot, window)
    assert window.session.runner is not None
    window.session.shutdown()


def test_a_staged_window_queues_build_until_its_panels_exist(qtbot):
    """The launcher's window: until it has painted, no Session or panels, the transport disabled, and a
    Build clicked then is the one built once the panels are there."""
    from PySide6 import QtCore

    from rnnviz.gui.main_window import PANEL_DOCKS, MainWindow
    from rnnviz.teaching.presets import get_preset

    window = MainWindow(get_preset("seed-rnn"), staged=True)
    qtbot.addWidget(window)
    assert window.session is None and not window.is_idle()
    assert not window.transport.isEnabled() and not window.layer_box.isEnabled()
    assert {"Network", "Messages", "Gates", "What-if", *PANEL_DOCKS} <= set(window.docks)
    window.form.widgets["hidden_size"].setValue(3)
    qtbot.mouseClick(window.form.build_button, QtCore.Qt.MouseButton.LeftButton)
    assert window.session is None  # queued, not lost
    with qtbot.waitSignal(window.ready, timeout=20000):
        window.resize(1600, 1000)
        window.show()
    assert window.docks["Shapes"].widget() is window.shapes and window.docks["Gradients"].widget() is window.gradients
    assert window.transport.isEnabled() and window.layer_box.isEnabled()
    wait_idle(qtbot, window)
    assert window.session.spec == dataclasses.replace(get_preset("seed-rnn"), hidden_size=3)
    assert window.frame is not None and window.frame.trace.hidden.shape[-1] == 3
    window.session.shutdown()


def test_a_staged_window_closed_before_its_panels_makes_none(qtbot):
    from rnnviz.gui.main_window import MainWindow

    window = MainWindow(staged=True)
    qtbot.addWidget(window)
    window.show()
    window.close()
    qtbot.wait(1200)  # past after_first_paint's fallback
    assert window.session is None


def test_bench_prints_time_to_first_paint():
    from rnnviz.gui.bench import format_first_paint

    line = format_first_paint({"runs": 5, "first_paint_s": 0.31, "panels_painted_s": 0.74, "first_frame_s": 2.2,
                               "loaded_at_first_paint": [], "first_paint_torch_imported_first_s": 1.5})
    assert line == ("start-up, `python -m rnnviz`, median of 5 fresh processes: first paint 0.31 s (loaded by "
                    "then: none of numpy, pyqtgraph, superqt, torch); panels painted 0.74 s; first Build drawn "
                    "2.20 s; first paint with torch imported before the window: 1.50 s")


def test_the_staged_window_ends_laid_out_as_the_one_made_at_once(qtbot):
    """What the launcher opens (panels made after the first paint) is the window the other tests drive."""
    from rnnviz.gui.main_window import MainWindow
    from rnnviz.teaching.presets import get_preset

    layouts = []
    for staged in (True, False):
        window = MainWindow(get_preset("seed-rnn"), staged=staged)
        qtbot.addWidget(window)
        window.resize(1600, 1000)
        window.show()
        wait_idle(qtbot, window)
        qtbot.wait(50)
        layouts.append({name: (dock.isVisible(), dock.geometry().getRect()) for name, dock in window.docks.items()})
        window.session.shutdown()
    assert layouts[0] == layouts[1]
    assert layouts[0]["Shapes"][1][3] > 400  # its tensor table's rows all shown, as before the staging


def test_the_saved_layout_is_in_the_first_paint(qtbot, tmp_path, monkeypatch):
    """A dock the user closed stays closed from the first paint on, and its panel is still made."""
    from rnnviz.gui.main_window import MainWindow
    from rnnviz.teaching.presets import get_preset

    monkeypatch.setenv("RNNVIZ_SETTINGS", str(tmp_path / "layout.ini"))
    first = MainWindow(get_preset("seed-rnn"))
    qtbot.addWidget(first)
    first.show()
    wait_idle(qtbot, first)
    first.docks["Gradients"].close()
    first.close()

    window = MainWindow(get_preset("seed-rnn"), staged=True)
    qtbot.addWidget(window)
    window.show()
    assert window.session is None and window.docks["Shapes"].isVisible()
    assert not window.docks["Gradients"].isVisible()
    wait_idle(qtbot, window)
    assert not window.docks["Gradients"].isVisible() and window.docks["Gradients"].widget() is window.gradients
    window.docks["Gradients"].toggleViewAction().trigger()
    assert window.docks["Gradients"].isVisible() and window.gradients.isVisible()
    window.session.shutdown()
