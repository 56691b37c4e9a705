"""Training engine and `rnnviz train`: the tutorial's promises, clipping, history files, bad text files."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from rnnviz.cli import main
from rnnviz.train.charmodel import HeadedRNN, TutorialCharRNN, one_hot
from rnnviz.train.training import (TextFileError, TrainConfig, Trainer, iteration_run, load_text, train,
                                    tutorial_as_nn_rnn)
from rnnviz.train.history import TrainingHistory


def test_tutorial_model_shapes_and_tanh():
    model = TutorialCharRNN(8, 5, 8)
    out, hidden = model(one_hot(torch.tensor([1, 2, 3]), 8)[:, 0], model.init_hidden(3) + 10.0)
    assert out.shape == (3, 8) and hidden.shape == (3, 5)
    assert torch.allclose(out.exp().sum(1), torch.ones(3))  # LogSoftmax
    assert hidden.abs().max() <= 1.0  # tanh bounds the new hidden state


def test_cli_train_reaches_a_tenth_of_the_first_loss_and_says_hello_world(capsys):
    assert main(["train", "--preset", "char-hello", "--epochs", "200"]) == 0
    out = capsys.readouterr().out
    lines = re.findall(r"^Epoch: (\d+)  Loss: ([0-9.]+)$", out, flags=re.M)
    epochs = [int(e) for e, _ in lines]
    losses = [float(v) for _, v in lines]
    assert epochs[0] == 1 and epochs[-1] == 200 and len(epochs) <= 25
    assert losses[-1] < 0.1 * losses[0]
    assert "Sample from 'h': hello world" in out


@pytest.mark.parametrize("model,seed", [("tutorial", 1), ("rnn", 3)])
def test_defaults_are_robust_over_seeds(model, seed):
    history, trainer = train(TrainConfig(model=model, seed=seed, keep_weights=False, sample_every=0))
    assert history.losses[-1] < 0.1 * history.losses[0]
    assert trainer.sample("h") == "hello world"


def test_same_seed_same_numbers():
    config = TrainConfig(epochs=5, sample_every=0)
    a, _ = train(config)
    b, _ = train(config)
    np.testing.assert_array_equal(a.losses, b.losses)
    np.testing.assert_array_equal(a.hidden_grad_image(), b.hidden_grad_image())


def test_clipping_caps_the_post_clip_norm_at_the_limit():
    history, _ = train(TrainConfig(model="gru", epochs=5, clip=0.05, sample_every=0))
    assert history.clipped.all()
    assert (history.grad_norms > 0.05).all()
    np.testing.assert_allclose(history.grad_norms_clipped, 0.05, rtol=1e-4)
    loose, _ = train(TrainConfig(model="gru", epochs=5, clip=1e6, sample_every=0))
    assert not loose.clipped.any()
    np.testing.assert_allclose(loose.grad_norms_clipped, loose.grad_norms, rtol=1e-6)


@pytest.mark.parametrize("model", ["rnn", "lstm", "tutorial"])
def test_profile_and_weights_match_the_debugger_on_that_iteration(model):
    """Iteration k reopened from its weights and batch gives the same loss and |dL/dh_t| in rnnviz.record."""
    config = TrainConfig(model=model, text="hello world, hello rnn", seq_length=8, epochs=3, sample_every=0)
    history, _ = train(config)
    k = 4
    run = iteration_run(history, k)
    weights = history.weights_at(k)
    for name, value in run.module.state_dict().items():
        key = name if model == "tutorial" else f"rnn.{name}"
        np.testing.assert_array_equal(value.numpy(), weights[key])
    trace = run.trace()
    assert trace.loss == pytest.approx(history.losses[k], rel=1e-5)
    np.testing.assert_allclose(trace.grad_norm[0, 0], history.records[k].hidden_grad_norms, rtol=1e-4, atol=1e-7)
    # The weights move between iterations: k's copy is not k+1's.
    key = "i2h.weight" if model == "tutorial" else "rnn.weight_hh_l0"
    assert not np.array_equal(weights[key], history.weights_at(k + 1)[key])


def test_tutorial_hidden_update_is_an_nn_rnn():
    config = TrainConfig(epochs=2, sample_every=0)
    history, _ = train(config)
    run = iteration_run(history, 1)
    _, hiddens, _ = run.module.run_sequence(run.inputs)
    out, _ = tutorial_as_nn_rnn(history.weights_at(1), len(config.vocab))(run.inputs)
    torch.testing.assert_close(out[:, 0], torch.stack(hiddens)[:, 0])


def test_headed_rnn_hidden_grad_is_total_not_out_grad():
    torch.manual_seed(0)
    model = HeadedRNN("lstm", 5, 4)
    x = one_hot(torch.tensor([0, 1, 2, 3, 4]), 5)
    log_probs, hiddens, _ = model.run_sequence(x)
    for h in hiddens:
        h.retain_grad()
    log_probs[-1].sum().backward()
    # The loss reads only the last step, yet h_0 gets gradient: it came back through time.
    assert hiddens[0].grad.norm() > 0


def test_history_round_trip(tmp_path):
    history, _ = train(TrainConfig(text="abcab cab", seq_length=4, epochs=3, clip=0.5, sample_every=2))
    path = tmp_path / "history.npz"
    history.save(path)
    loaded = TrainingHistory.load(path)
    np.testing.assert_array_equal(loaded.losses, history.losses)
    np.testing.assert_array_equal(loaded.clipped, history.clipped)
    np.testing.assert_array_equal(loaded.grad_norms_clipped, history.grad_norms_clipped)
    np.testing.assert_array_equal(loaded.hidden_grad_image(), history.hidden_grad_image())
    np.testing.assert_array_equal(loaded.param_grad_norm_matrix(), history.param_grad_norm_matrix())
    assert [tuple(map(list, loaded.batch_at(i))) for i in range(len(loaded))] == \
           [tuple(map(list, history.batch_at(i))) for i in range(len(history))]
    np.testing.assert_array_equal(loaded.weights_at(3)["i2h.weight"], history.weights_at(3)["i2h.weight"])
    assert loaded.epoch_losses()[1] == pytest.approx(history.epoch_losses()[1])
    assert loaded.config == history.config and loaded.vocab == history.vocab
    assert [r.sample for r in loaded.records] == [r.sample for r in history.records]


def test_history_refuses_a_newer_format(tmp_path):
    history, _ = train(TrainConfig(epochs=1, sample_every=0))
    path = tmp_path / "h.npz"
    history.save(path)
    data = dict(np.load(path, allow_pickle=False))
    data["meta"] = np.array(str(data["meta"]).replace('"format_version": 1', '"format_version": 99'))
    np.savez(path, **data)
    with pytest.raises(ValueError, match="version 99"):
        TrainingHistory.load(path)


def test_cli_writes_history(tmp_path, capsys):
    out = tmp_path / "history.npz"
    assert main(["train", "--epochs", "3", "--model", "gru", "--optimizer", "adam", "--clip", "0.1",
                 "-o", str(out)]) == 0
    assert "clipping fired on" in capsys.readouterr().out
    assert len(TrainingHistory.load(out)) == 3


@pytest.mark.parametrize("content,message", [
    (None, "not found"), (b"", "empty"), (b"  \n", "empty"), (b"ab\x00cd", "binary"), (b"\xff\xfeab", "UTF-8"),
])
def test_bad_text_files_give_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "text.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(TextFileError, match=message):
        load_text(path)
    assert main(["train", "--text-file", str(path), "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err.split("rnnviz: ", 1)[1]


def test_text_file_is_trained_on(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("abab abab\n", encoding="utf-8")
    assert load_text(path) == "abab abab"
    history, _ = train(TrainConfig(text=load_text(path), epochs=1, seq_length=4, sample_every=0))
    assert len(history) == 2  # 8 targets in windows of 4


def test_stop_and_bad_config():
    trainer = Trainer(TrainConfig(epochs=50, sample_every=0))
    records = []
    for r in trainer.iterations():
        records.append(r)
        if r.iteration == 2:
            trainer.stop_requested = True
    assert len(records) == 3
    assert records[-1].eta_s >= 0 and 0 < records[-1].progress < 1
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="clip"):
        TrainConfig(clip=-1.0)


def test_training_modules_import_no_qt():
    import subprocess
    import sys

    code = ("import sys\n"
            "import rnnviz.train.training, rnnviz.train.history, rnnviz.analysis.spectral\n"
            "import rnnviz.teaching.lessons, rnnviz.commands.train\n"
            "qt = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'superqt', 'shiboken6')]\n"
            "assert not qt, qt\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_weight_copies_thin_out_past_the_memory_budget():
    from rnnviz.train.training import Trainer
    from rnnviz.train.history import TrainingHistory

    config = TrainConfig(epochs=40, sample_every=0)
    trainer = Trainer(config)
    one = sum(p.numel() * 4 for p in trainer.model.parameters())
    history = TrainingHistory(config, trainer.vocab, [n for n, _ in trainer.model.named_parameters()],
                              weights_budget=10 * one)
    for record in trainer.iterations():
        history.append(record)
    assert history.weights_stride == 4 and len(history._weights) <= 10
    assert history.weights_at(36) is not None and history.weights_at(37) is None
    with pytest.raises(ValueError, match="nearest kept is 36"):
        iteration_run(history, 37)
    assert len(history.losses) == 40  # only the weight copies thin out
