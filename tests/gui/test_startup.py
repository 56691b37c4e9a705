"""Start-up: the window paints before torch is loaded; the first Build then loads it in the worker."""
import subprocess
import sys

from guihelp import wait_idle

from rnnviz.gui.first_paint import first_paint


def test_the_window_paints_before_torch_is_imported():
    result = first_paint()
    assert result["first_paint_s"] is not None
    assert result["torch_loaded"] is False


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


def test_bench_prints_time_to_first_paint():
    from rnnviz.gui.bench import format_first_paint

    line = format_first_paint({"runs": 3, "first_paint_s": 0.42, "first_paint_torch_imported_first_s": 1.5})
    assert line == ("time to first paint (median of 3 fresh processes): 0.42 s; "
                    "with torch imported before the window: 1.50 s")

