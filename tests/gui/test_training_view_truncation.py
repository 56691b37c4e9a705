"""The training view trains with truncated BPTT when asked: the history is the headless truncated
run's, and differs from full BPTT."""
from __future__ import annotations

import numpy as np

from rnnviz.train.training import TrainConfig
from rnnviz.train.training import train as headless


def test_training_view_trains_with_truncation(qtbot):
    from rnnviz.gui.windows.training_view import TrainingView

    view = TrainingView(TrainConfig(model="rnn", epochs=15))
    qtbot.addWidget(view)
    view.resize(1400, 900)
    view.show()
    view.settings.truncation_on.setChecked(True)
    view.settings.truncation.setValue(2)
    assert view.settings.config().truncation == 2
    with qtbot.waitSignal(view.finished, timeout=30000):
        view.train_button.click()
    truncated, _ = headless(TrainConfig(model="rnn", epochs=15, truncation=2, sample_every=0))
    full, _ = headless(TrainConfig(model="rnn", epochs=15, sample_every=0))
    np.testing.assert_allclose(view.history.losses, truncated.losses)
    np.testing.assert_allclose(view.panels.loss_curve.getOriginalDataset()[1], truncated.losses)
    assert not np.allclose(truncated.losses[1:], full.losses[1:])
    view.settings.set_config(TrainConfig(truncation=None))
    assert not view.settings.truncation_on.isChecked() and view.settings.config().truncation is None
    view.stop()
    qtbot.waitUntil(lambda: not view.is_running(), timeout=10000)
