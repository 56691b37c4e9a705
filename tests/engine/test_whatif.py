"""What-if edits against independent torch runs: an edited hidden unit or input value gives exactly
the numbers of a loop that makes the same change by hand; undo gives back the original run."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnviz.engine import whatif
from rnnviz.engine.runner import Runner


def rnn_and_input():
    torch.manual_seed(3)
    module = torch.nn.RNN(3, 4, num_layers=1).double()
    return module, torch.randn(8, 2, 3, dtype=torch.float64)


def test_hidden_edit_equals_a_hand_edited_loop():
    module, x = rnn_and_input()
    runner = Runner(module, x)
    runner.seek(6)  # paused in the forward pass at t=5
    edit = runner.edit(t=3, layer=0, target="h", index=1, value=0.9)
    assert runner.position == 4 and runner.edits == [edit]  # redone up to the edited cell, paused after it
    assert (runner.hidden[0, 0, 3, :, 1] == 0.9).all() and np.isnan(runner.hidden[0, 0, 4]).all()
    runner.run_to_end()
    # independent: the fused module one step at a time, unit 1 of h_3 overwritten with torch.where
    h, hs = torch.zeros(1, 2, 4, dtype=torch.float64), []
    for t in range(8):
        _, h = module(x[t:t + 1], h)
        if t == 3:
            h = torch.where(torch.arange(4) == 1, torch.tensor(0.9, dtype=torch.float64), h)
        h.retain_grad()
        hs.append(h)
    torch.cat(hs).sum().backward()
    np.testing.assert_allclose(runner.hidden[0, 0], torch.cat(hs).detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(runner.hidden_grad[0, 0], torch.cat([h.grad for h in hs]).numpy(), atol=1e-12)
    grads = runner.param_grads()
    for name, p in module.named_parameters():
        np.testing.assert_allclose(grads[name], p.grad.numpy(), atol=1e-12)
    over = whatif.overlay(runner.snapshot(), runner.original())
    assert (over.h_diff[0, 0, :3] == 0).all() and over.h_diff[0, 0, 3] > 0  # nothing before t=3 changed
    assert over.loss != over.loss_original


def test_input_edit_equals_the_fused_module_on_the_edited_input():
    module, x = rnn_and_input()
    lstm = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True).double()
    for net in (module, lstm):
        runner = Runner(net, x)
        runner.edit(t=2, target="x", index=1, op="scale", value=3.0)
        assert runner.position == 0  # not reached yet: nothing to redo
        runner.run_to_end()
        edited = x.clone()
        edited[2, :, 1] *= 3.0
        out, _ = net(edited)
        out.sum().backward()
        np.testing.assert_allclose(runner.snapshot().output, out.detach().numpy(), atol=1e-12)
        grads = runner.param_grads()
        for name, p in net.named_parameters():
            np.testing.assert_allclose(grads[name], p.grad.numpy(), atol=1e-10)
            p.grad = None


@pytest.mark.parametrize("op, value, expected", [("zero", 0.0, 0.0), ("clamp", 0.05, None), ("scale", -2.0, None)])
def test_ops_on_one_batch_element(op, value, expected):
    module, x = rnn_and_input()
    runner = Runner(module, x)
    runner.seek(5)
    before = runner.hidden[0, 0, 4].copy()
    runner.edit(t=4, index=2, op=op, value=value, batch=1)
    after = runner.hidden[0, 0, 4]
    want = {"zero": 0.0, "clamp": np.clip(before[1, 2], -0.05, 0.05), "scale": -2.0 * before[1, 2]}[op]
    assert after[1, 2] == pytest.approx(want)
    after_other = after.copy()
    after_other[1, 2] = before[1, 2]
    np.testing.assert_array_equal(after_other, before)  # only that entry changed


def test_undo_returns_to_the_original_run():
    module, x = rnn_and_input()
    runner = Runner(module, x)
    runner.run_forward()
    runner.edit(t=1, index=0, value=-0.5)
    runner.run_to_end()
    runner.undo_edits()
    assert runner.done and runner.edits == []
    fresh = Runner(module, x)
    fresh.run_to_end()
    np.testing.assert_array_equal(runner.hidden, fresh.hidden)
    np.testing.assert_array_equal(runner.hidden_grad, fresh.hidden_grad)
    np.testing.assert_allclose(runner.original().hidden, fresh.hidden, atol=1e-12)


def test_bad_edits_are_named():
    module, x = rnn_and_input()
    runner = Runner(module, x)
    with pytest.raises(ValueError, match="unit must be between 0 and 3, got 4"):
        runner.edit(t=0, index=4)
    with pytest.raises(ValueError, match="t must be between 0 and 7"):
        runner.edit(t=8, index=0)
    with pytest.raises(ValueError, match="op must be one of"):
        runner.edit(t=0, index=0, op="add")
    assert runner.edits == []
