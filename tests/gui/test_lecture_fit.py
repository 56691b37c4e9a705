"""Lecture mode fits the screens a lecture hall has: at 1280x800, 1600x1000 and 1920x1080 the window
stays that size, the Lesson dock lies inside it and shows the whole lesson at 16pt."""
from __future__ import annotations

import pytest

from rnnviz.teaching.lessons import lesson_by_number

from guihelp import wait_idle


@pytest.mark.parametrize("size", [(1280, 800), (1600, 1000), (1920, 1080)])
def test_lesson_dock_fits_and_reads(qtbot, make_window, size):
    window = make_window("vanishing-tanh")
    window.resize(*size)
    extras = window.view_extras
    extras.presentation.set_active(True, full_screen=False)
    extras._sync_presentation_action(True)
    extras.show_lessons().select(4)
    wait_idle(qtbot, window)
    qtbot.wait(50)
    extras._presentation_layout()
    qtbot.wait(50)
    assert (window.width(), window.height()) == size  # nothing forces it wider than the screen
    dock = extras.lessons_dock
    geometry = dock.geometry()
    assert geometry.left() >= 0 and geometry.right() < size[0] and geometry.width() >= 340
    panel = dock.widget()
    assert panel.body.font().pointSize() >= 16 or "16pt" in window.styleSheet()
    lesson = lesson_by_number(4)
    assert lesson.question in " ".join(panel.text().split())  # the whole lesson is in the panel
    for name in ("Network", "Messages", "Breakpoints"):  # the controls are folded away
        assert not window.docks[name].isVisible()
    # Below 1500 px two plots share a dock's width: plot titles a step smaller, cut at the plot's edge.
    title_size = "12pt" if size[0] < 1500 else "14pt"
    assert window.rnnviz_theme["title_size"] == title_size
    title = window.gradients.heat_plot.titleLabel
    assert title.flags() & title.GraphicsItemFlag.ItemClipsChildrenToShape
    step = window.transport.buttons["step"]  # short glyphs: the transport fits a 1280 screen, in either theme
    assert step.text() == "▶" and step.toolButtonStyle().name == "ToolButtonTextOnly"
    extras.presentation.set_active(False)
    assert step.text() == "Step" and step.toolButtonStyle().name == "ToolButtonTextBesideIcon"


def test_a_short_log_axis_labels_fewer_mantissas():
    from rnnviz.gui.qt import app
    from rnnviz.gui.style import LogAxis

    app()
    axis = LogAxis("left")
    axis.setLogMode(False, True)
    axis.setRange(-1.5, 0.5)  # 0.03 .. 3: 1, 2 and 5 of two decades would be six labels
    labels = lambda size: [v for _, values in axis.logTickValues(-1.5, 0.5, size, []) for v in values]  # noqa: E731
    tall, short = labels(400), labels(60)
    assert len(tall) > len(short) and len(short) <= 60 // LogAxis.LABEL_PITCH
    assert all(abs(v - round(v)) < 1e-6 for v in short)  # what is left on a short axis: whole decades
