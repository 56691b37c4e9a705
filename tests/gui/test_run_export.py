"""Export a stepped run / lesson from the real window: one slide per step, taken when the window
showed exactly that schedule position, a title slide with the lesson text, an animated GIF; cancel."""
from __future__ import annotations

from PIL import Image

from rnnviz.teaching.lessons import lesson_by_number, lesson_text
from rnnviz.gui.windows.run_export import caption_of, positions_for

from guihelp import wait_idle


def test_positions_are_sampled_with_the_last_kept():
    assert positions_for(6) == list(range(7))
    sampled = positions_for(1000, 120)
    assert sampled[0] == 0 and sampled[-1] == 1000 and len(sampled) <= 121


def test_export_a_lesson_as_slides_and_gif(qtbot, make_window, tmp_path):
    window = make_window("seed-rnncell")
    lesson = lesson_by_number(1)
    window.view_extras.show_lessons().select(1)
    exporter = window.debugger.export_run(tmp_path)
    qtbot.waitUntil(lambda: not exporter.is_running(), timeout=60000)
    runner = window.session.runner
    total = len(runner.schedule)
    assert exporter.shot_positions == list(range(total + 1))  # each slide is the window at that position
    for position, caption in zip(exporter.shot_positions, exporter.captions):
        if position:
            cell = runner.schedule[position - 1]
            assert f"step {position} / {total}: {cell.phase} step, layer {cell.layer}, t = {cell.t}" in caption
    slides = sorted(tmp_path.glob("slide-*.png"))
    assert len(slides) == total + 2 and slides[0].name == "slide-000-title.png"
    assert (tmp_path / "lesson.txt").read_text(encoding="utf-8").startswith(f"Lesson 1: {lesson.title}")
    assert lesson.question in (tmp_path / "lesson.txt").read_text(encoding="utf-8")
    assert lesson_text(lesson).split("\n\n", 1)[1].split("\n")[0] in (tmp_path / "lesson.txt").read_text(encoding="utf-8")
    with Image.open(tmp_path / "run.gif") as gif:
        assert gif.n_frames == total + 2 and gif.size[0] == 1200 and gif.info["loop"] == 0
    assert f"exported {total + 2} slides and run.gif" in window.messages.toPlainText()
    wait_idle(qtbot, window)
    assert window.frame.position == total


def test_cancel_stops_without_a_gif(qtbot, make_window, tmp_path):
    window = make_window("vanishing-tanh")
    exporter = window.debugger.export_run(tmp_path)
    exporter.progress.connect(lambda done, total: done >= 2 and exporter.cancel())
    qtbot.waitUntil(lambda: not exporter.is_running(), timeout=60000)
    assert 2 <= len(exporter.shot_positions) < len(exporter.positions)
    assert not (tmp_path / "run.gif").exists()
    assert "export cancelled" in window.messages.toPlainText()
    assert caption_of(window.frame).startswith(f"step {window.frame.position} / ")
