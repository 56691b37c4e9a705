"""Per-timestep weight-gradient contributions: both routes (grams, direct product) agree with
the definition ‖G_tᵀ S_t‖_F, in chunks, and memory stays linear in the batch size."""
import subprocess
import sys

import pytest
import torch

from rnnviz.engine import summaries
from rnnviz.engine.summaries import layer_contribution_norms, product_norms, shifted_product_norms, uses_grams


def by_definition(grad, state):
    return torch.stack([torch.linalg.matrix_norm(g.T @ s) for g, s in zip(grad, state)])


@pytest.mark.parametrize("batch, width", [(2, 16), (40, 3)], ids=["grams", "direct"])
def test_product_norms_match_the_definition(batch, width):
    torch.manual_seed(0)
    grad, state = torch.randn(7, batch, 2 * width, dtype=torch.float64), torch.randn(7, batch, width, dtype=torch.float64)
    assert uses_grams(batch, 2 * width, width) == (batch == 2)
    torch.testing.assert_close(product_norms(grad, state), by_definition(grad, state), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("batch", [2, 40], ids=["grams", "direct"])
def test_layer_contributions_in_chunks(monkeypatch, reverse, shared, batch):
    monkeypatch.setattr(summaries, "CHUNK_ELEMENTS", 3 * 5 * batch * batch)  # several chunks, edges included
    torch.manual_seed(1)
    T, G, H, I = 8, 12, 6, 5
    grad_gh = torch.randn(T, batch, G, dtype=torch.float64)
    grad_gi = grad_gh if shared else torch.randn(T, batch, G, dtype=torch.float64)
    hidden, x = torch.randn(T, batch, H, dtype=torch.float64), torch.randn(T, batch, I, dtype=torch.float64)
    h0 = torch.randn(batch, H, dtype=torch.float64)
    prev = torch.cat([hidden[1:], h0[None]]) if reverse else torch.cat([h0[None], hidden[:-1]])
    whh, wih = layer_contribution_norms(grad_gh, grad_gi, hidden, h0, reverse, x)
    torch.testing.assert_close(whh, by_definition(grad_gh, prev), rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(wih, by_definition(grad_gi, x), rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(shifted_product_norms(grad_gh, hidden, h0, reverse), whh, rtol=1e-10, atol=1e-10)


def test_a_wide_batch_records_without_batch_squared_memory():
    """Batch 8192, hidden 2, 50 steps: (T, B, B) grams would be 13 GB; the run (torch included) stays under 2 GiB."""
    code = (
        "import resource, torch, rnnviz\n"
        "torch.manual_seed(0)\n"
        "m = torch.nn.GRU(2, 2, num_layers=2)\n"
        "trace = rnnviz.record(m, torch.randn(50, 8192, 2))\n"
        "assert trace.whh_grad_contrib_norm.shape == (2, 1, 50)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    peak_kib = int(done.stdout.split()[-1])
    assert peak_kib < 2 * 1024 * 1024, f"peak resident {peak_kib / 1024:.0f} MiB"
