"""The training view, driven offscreen: its panels hold the engine's numbers."""
from __future__ import annotations

import numpy as np
import pytest

from rnnviz.train.training import TrainConfig, iteration_run

from guihelp import wait_idle


@pytest.fixture
def view(qtbot):
    from rnnviz.gui.main_window import debugger_window
    from rnnviz.gui.windows.training_view import TrainingView

    made = []

    def make(**config):
        v = TrainingView(TrainConfig(**{"epochs": 20, **config}), debugger_factory=debugger_window)
        qtbot.addWidget(v)
        v.resize(1400, 900)
        v.show()
        made.append(v)
        return v

    yield make
    for v in made:
        v.stop()
        qtbot.waitUntil(lambda v=v: not v.is_running(), timeout=10000)
        if v.debugger is not None:
            qtbot.addWidget(v.debugger)
            v.debugger.session.stop()
            wait_idle(qtbot, v.debugger)


def train(qtbot, v):
    with qtbot.waitSignal(v.finished, timeout=30000):
        v.train_button.click()


def test_loss_curve_holds_the_engines_losses(qtbot, view):
    v = view(epochs=30)
    train(qtbot, v)
    x, y = v.panels.loss_curve.getOriginalDataset()
    assert len(v.history) == 30
    np.testing.assert_allclose(y, v.history.losses)
    np.testing.assert_array_equal(x, np.arange(30))
    # The same numbers as a headless run of the same config.
    from rnnviz.train.training import train as headless

    expected, _ = headless(v.settings.config().replace(sample_every=0))
    np.testing.assert_allclose(v.history.losses, expected.losses)
    assert v.progress.value() == v.progress.maximum() == 30
    assert "done" in v.eta.text()


def test_clipping_sets_post_clip_norm_to_the_limit_and_marks_it(qtbot, view):
    v = view(model="gru", clip=0.05)
    train(qtbot, v)
    _, after = v.panels.after_curve.getOriginalDataset()
    np.testing.assert_allclose(after, 0.05, rtol=1e-4)
    _, before = v.panels.before_curve.getOriginalDataset()
    assert (before > 0.05).all()
    xs, _ = v.panels.clipped_points.getData()
    np.testing.assert_array_equal(xs, np.flatnonzero(v.history.clipped))
    assert len(xs) == len(v.history)


def test_image_equals_per_iteration_traces(qtbot, view):
    v = view(model="rnn", text="hello world, hello rnn", seq_length=8, epochs=4)
    train(qtbot, v)
    image = v.panels.image_data  # (iterations, T)
    assert image.shape == (len(v.history), 8)
    for k, record in enumerate(v.history.records):
        np.testing.assert_array_equal(image[k, : len(record.hidden_grad_norms)], record.hidden_grad_norms)
    # ... and the per-iteration trace the debugger computes for k gives the same row.
    k = 5
    trace = iteration_run(v.history, k).trace()
    np.testing.assert_allclose(trace.grad_norm[0, 0], image[k, : trace.grad_norm.shape[-1]], rtol=1e-4, atol=1e-7)


def test_open_iteration_k_shows_its_weights(qtbot, view):
    v = view(model="rnn", epochs=6)
    train(qtbot, v)
    k = 3
    v.iteration_box.setValue(k)
    v.open_button.click()
    window = v.debugger
    qtbot.addWidget(window)
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: window.session.runner.label.startswith("training iteration 3"),
                    timeout=20000)
    runner = window.session.runner
    expected = v.history.weights_at(k)
    np.testing.assert_array_equal(runner.module.weight_hh_l0.detach().numpy(), expected["rnn.weight_hh_l0"])
    assert not np.array_equal(expected["rnn.weight_hh_l0"], v.history.weights_at(k + 1)["rnn.weight_hh_l0"])
    window.session.step()
    wait_idle(qtbot, window)
    rows = {row["name"]: row for row in window.frame.rows}
    assert rows["W_hh"]["norm"] == pytest.approx(float(np.linalg.norm(expected["rnn.weight_hh_l0"])), rel=1e-6)
    assert "iteration 3" in window.windowTitle()


def test_pause_resume_stop_keep_the_window_responsive(qtbot, view):
    v = view(epochs=100000)
    v.train_button.click()
    qtbot.waitUntil(lambda: v.history is not None and len(v.history) > 3, timeout=10000)
    v.pause_button.click()
    qtbot.waitUntil(lambda: v.worker.is_paused, timeout=5000)
    qtbot.wait(100)
    count = len(v.history)
    qtbot.wait(200)  # the GUI thread keeps running events while paused
    assert len(v.history) == count
    v.pause_button.click()
    qtbot.waitUntil(lambda: len(v.history) > count, timeout=5000)
    with qtbot.waitSignal(v.finished, timeout=10000):
        v.stop_button.click()
    assert "stopped at" in v.eta.text()
    assert not v.is_running()


def test_bad_text_file_shows_one_line(qtbot, view, tmp_path):
    v = view()
    path = tmp_path / "b.txt"
    path.write_bytes(b"\x00\x01")
    assert not v.settings.load_text_file(str(path))
    assert "binary" in v.settings.error.text()
    v.settings.text.setPlainText("x")
    v.train_button.click()
    assert "at least 2 characters" in v.settings.error.text()
    assert not v.is_running()


def test_a_saved_history_shows_the_same_panels(qtbot, view, tmp_path):
    from rnnviz.train.training import train as headless
    from rnnviz.train.history import TrainingHistory

    history, _ = headless(TrainConfig(model="lstm", epochs=5, clip=0.1, sample_every=0))
    history.save(tmp_path / "h.npz")
    v = view()
    v.show_history(TrainingHistory.load(tmp_path / "h.npz"))
    np.testing.assert_allclose(v.panels.loss_curve.getOriginalDataset()[1], history.losses)
    np.testing.assert_array_equal(v.panels.image_data, history.hidden_grad_image())
    assert v.settings.model.currentData() == "lstm"
