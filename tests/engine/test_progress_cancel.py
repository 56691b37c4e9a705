"""Long work shows progress and stops cleanly: build progress/cancel, the CLI progress line, Ctrl-C on train."""
import io

import pytest

from rnnviz.cli import main
from rnnviz.commands.progress import ProgressLine
from rnnviz.engine.build import build, spectral_radius
from rnnviz.engine.spec import RNNSpec
from rnnviz.train.training import Trainer
from rnnviz.train.history import TrainingHistory
from rnnviz.errors import Cancelled

SCALED = RNNSpec(kind="lstm", num_layers=2, hidden_size=8, whh_scale=0.9)


def test_build_reports_each_w_hh_block_and_can_be_cancelled():
    calls = []
    build(SCALED, progress=lambda done, total, what: calls.append((done, total, what)))
    assert [c[:2] for c in calls] == [(i, 8) for i in range(8)]   # 2 layers x 4 gate blocks
    assert "block 1 of 8 (8x8)" in calls[0][2]

    def cancel_at_third(done, total, what):
        if done == 2:
            raise Cancelled("build cancelled")

    with pytest.raises(Cancelled):
        build(SCALED, progress=cancel_at_third)


@pytest.mark.parametrize("init", ["orthogonal", "identity"])
def test_unit_radius_inits_skip_the_eigenvalue_solve_and_stay_exact(init):
    kind = "rnn" if init == "identity" else "gru"
    built = build(RNNSpec(kind=kind, hidden_size=16, init=init, whh_scale=1.7))
    for block in built.module.weight_hh_l0.split(16):
        assert spectral_radius(block) == pytest.approx(1.7, rel=1e-6)


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_line_appears_only_for_long_work():
    quiet = io.StringIO()
    with ProgressLine("recording", stream=quiet, show_after=60.0) as line:
        line.update("building")
    assert quiet.getvalue() == ""
    shown = _Tty()
    line = ProgressLine("training", stream=shown, show_after=0.0)
    line.update("epoch 3 of 200")
    with line:
        while not line.shown:
            line._done.wait(0.01)
    text = shown.getvalue()
    assert text.startswith("\rtraining: epoch 3 of 200, ") and "Ctrl-C stops" in text and text.endswith("\n")


def _interrupt_at(monkeypatch, call):
    real, count = Trainer.step, [0]

    def step(self, inputs, targets):
        count[0] += 1
        if count[0] == call:
            raise KeyboardInterrupt
        return real(self, inputs, targets)

    monkeypatch.setattr(Trainer, "step", step)


def test_ctrl_c_on_train_saves_the_finished_epochs_and_says_so(monkeypatch, tmp_path, capsys):
    _interrupt_at(monkeypatch, 25)   # char-hello: one window per epoch
    path = tmp_path / "history.npz"
    assert main(["train", "--epochs", "200", "-o", str(path)]) == 130
    err = capsys.readouterr().err
    assert f"stopped by Ctrl-C after 24 of 200 epochs (24 iterations); wrote them to {path}" in err
    assert len(TrainingHistory.load(path)) == 24


def test_ctrl_c_without_output_says_nothing_was_saved(monkeypatch, capsys):
    _interrupt_at(monkeypatch, 3)
    assert main(["train", "--epochs", "200"]) == 130
    assert "after 2 of 200 epochs (2 iterations); nothing saved (no --output given)" in capsys.readouterr().err
