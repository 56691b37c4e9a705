"""fused_vs_stepped: every tensor of the fused module equals the runner's, and out.grad is only the
direct term of dL/dh_t (checked against an independent retain_grad loop)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnviz.teaching.presets import get_preset
from rnnviz.engine.proof import fused_vs_stepped
from rnnviz.engine.runner import Runner
from rnnviz.engine.spec import RNNSpec


@pytest.mark.parametrize("spec", [
    get_preset("seed-rnn"), get_preset("lstm-memory"), get_preset("char-hello"), get_preset("seed-rnncell"),
    RNNSpec(kind="gru", num_layers=2, bidirectional=True, batch_first=True, dtype="float64", seq_len=5),
    RNNSpec(kind="lstm_cell", hidden_size=3, dtype="float64"),
], ids=lambda s: s.kind + ("-bf" if s.batch_first else ""))
def test_fused_and_stepped_agree_on_every_tensor(spec):
    runner = Runner.from_spec(spec)
    with pytest.raises(ValueError, match="whole run"):
        fused_vs_stepped(runner)
    runner.run_to_end()
    before = [p.grad for p in runner.module.parameters()]
    proof = fused_vs_stepped(runner)
    assert all(g is None for g in before) and all(p.grad is None for p in runner.module.parameters())
    names = [c.name for c in proof.checks]
    assert names[:3] == ["loss", "out", "h_n"]
    assert {f"{n}.grad" for n, _ in runner.module.named_parameters()} <= set(names)
    assert ("c_n" in names) == (runner.info.kind == "lstm")
    assert proof.all_equal, [c for c in proof.checks if not c.equal]
    assert all(c.max_abs_diff <= proof.atol + proof.rtol * c.fused_absmax for c in proof.checks)


def test_out_grad_is_the_direct_term_only():
    spec = get_preset("seed-rnn")  # loss = out.sum(): out.grad is 1 everywhere, dL/dh_t is not
    runner = Runner.from_spec(spec)
    runner.run_to_end()
    proof = fused_vs_stepped(runner)
    np.testing.assert_allclose(proof.direct_norm, np.sqrt(spec.batch_size * spec.hidden_size))
    # an independent total: retain_grad on the top layer's h_t of a loop over the fused module
    module, x = runner.module, runner.inputs
    state, hs = torch.zeros(3, 5, 2), []
    for t in range(x.shape[0]):
        _, state = module(x[t:t + 1], state)
        h = state[-1]  # the top layer's h_t, fed on to t+1 AND read by the loss: its .grad is the total
        state = torch.cat([state[:-1], h[None]])
        h.retain_grad()
        hs.append(h)
    torch.stack(hs).sum().backward()
    np.testing.assert_allclose(proof.total_norm, [float(h.grad.norm()) for h in hs], rtol=1e-5)
    # ...and they differ: everything but the last step receives gradient from h_{t+1} as well
    assert abs(proof.total_norm[-1] - proof.direct_norm[-1]) < 1e-5
    assert proof.max_relative_gap > 0.05


def test_last_step_loss_has_out_grad_zero_before_the_last_step():
    runner = Runner.from_spec(get_preset("vanishing-tanh"))
    runner.run_to_end()
    proof = fused_vs_stepped(runner)
    assert proof.all_equal
    assert (proof.direct_norm[:-1] == 0).all() and proof.direct_norm[-1] > 0
    assert (proof.total_norm[:-1] > 0).all()  # the gradient that came back through time
