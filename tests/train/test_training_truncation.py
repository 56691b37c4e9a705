"""Training with truncated BPTT: the gradient it steps with is exactly the part of the full gradient
that rnnviz.engine.truncation keeps (checked on the same iteration rebuilt in the step runner)."""
from __future__ import annotations

import numpy as np
import pytest

from rnnviz.engine.runner import Runner
from rnnviz.train.training import TrainConfig, Trainer, debug_run, train
from rnnviz.engine.truncation import truncation_split


@pytest.mark.parametrize("model", ["rnn", "lstm"])
def test_truncated_gradient_is_the_kept_part(model):
    config = TrainConfig(model=model, epochs=1, seq_length=8, truncation=3, sample_every=0)
    trainer = Trainer(config)
    record = next(trainer.iterations())
    run = debug_run(model, record.weights, record.inputs, record.targets, len(trainer.vocab))
    runner = Runner(run.module, run.inputs, head=run.head, loss="char_ce", target=run.target)
    runner.run_to_end()
    split = truncation_split(runner, 3)
    grad = trainer.model.rnn.weight_hh_l0.grad.numpy()  # what the optimizer stepped with
    np.testing.assert_allclose(grad, split.whh_kept["weight_hh_l0"], rtol=1e-4, atol=1e-6)
    assert np.abs(split.whh_dropped["weight_hh_l0"]).max() > 1e-6  # and truncation did drop something
    np.testing.assert_allclose(record.hidden_grad_norms, split.kept_norm[0, 0], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(record.loss, runner.loss, rtol=1e-5)  # the loss itself is not truncated


def test_a_window_longer_than_the_sequence_is_full_bptt_and_bad_k_is_named():
    full, _ = train(TrainConfig(model="gru", epochs=3, sample_every=0))
    long, _ = train(TrainConfig(model="gru", epochs=3, truncation=100, sample_every=0))
    short, _ = train(TrainConfig(model="gru", epochs=3, truncation=1, sample_every=0))
    np.testing.assert_array_equal(long.losses, full.losses)
    assert not np.allclose(short.losses[1:], full.losses[1:])
    with pytest.raises(ValueError, match="truncation must be at least 1"):
        TrainConfig(truncation=0)
