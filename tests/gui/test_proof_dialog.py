"""The fused-vs-stepped dialog, opened from the Debug menu of the real window: its table and curves
are the engine's proof, recomputed here independently."""
from __future__ import annotations

import numpy as np

from rnnviz.teaching.presets import get_preset
from rnnviz.engine.proof import fused_vs_stepped
from rnnviz.engine.runner import Runner

from guihelp import wait_idle


def open_proof(qtbot, window):
    action = next(a for a in window.debugger.menu.actions() if a.text().startswith("&Fused vs stepped"))
    action.trigger()
    wait_idle(qtbot, window)
    return window.debugger.proof_dialog


def test_proof_dialog_shows_every_tensor_equal_and_both_curves(qtbot, window):
    dialog = open_proof(qtbot, window)
    assert window.frame.position == window.frame.total  # it ran to the end first
    runner = Runner.from_spec(get_preset("seed-rnn"))
    runner.run_to_end()
    expected = fused_vs_stepped(runner)
    table = dialog.table
    names = [table.item(r, 0).text() for r in range(table.rowCount())]
    assert names == [c.name for c in expected.checks]
    assert "weight_hh_l2.grad" in names and "h_n" in names
    assert all(table.item(r, 4).text() == "✓" for r in range(table.rowCount()))
    for r, check in enumerate(expected.checks):
        assert float(table.item(r, 3).text()) <= expected.atol + expected.rtol * check.fused_absmax
    assert "✓ Equal" in dialog.verdict.text()
    np.testing.assert_allclose(dialog.total_curve(), expected.total_norm, rtol=1e-6)
    np.testing.assert_allclose(dialog.direct_curve(), expected.direct_norm, rtol=1e-6)
    assert not np.allclose(dialog.total_curve(), dialog.direct_curve())  # out.grad is not dL/dh_t
    assert "direct" in dialog.why.text() and "fused vs stepped: equal" in window.messages.toPlainText()
    dialog.close()


def test_last_step_loss_shows_out_grad_zero_before_the_end(qtbot, make_window):
    window = make_window("vanishing-tanh")
    dialog = open_proof(qtbot, window)
    direct = dialog.direct_curve()
    assert np.isnan(direct[:-1]).all() and direct[-1] > 0  # zeros are not drawn on the log axis
    assert "exactly 0 at 39 of 40" in dialog.why.text()
    dialog.close()
