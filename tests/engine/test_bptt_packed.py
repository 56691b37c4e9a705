"""The prepacked (oneDNN) per-timestep product that bptt uses for large float32 weights on CPU:
the same numbers as torch's own modules, and the dL/dh_t of the float64 path."""
import numpy as np
import pytest
import torch
from torch import nn

import rnnviz
from rnnviz.engine import bptt
from rnnviz.engine.cells import layer_weights


@pytest.mark.parametrize("kind, hidden", [("lstm", 256), ("rnn", 512), ("gru", 512)])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_large_float32_layers_match_torch(kind, hidden, bidirectional):
    torch.manual_seed(0)
    module = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[kind](8, hidden, num_layers=2, bidirectional=bidirectional)
    weight = layer_weights(module, 0, 0, False).weight_hh
    assert bptt._Recurrent(weight, 4).packed is not None or not torch.backends.mkldnn.is_available()
    x = torch.randn(12, 4, 8)
    trace = rnnviz.record(module, x)
    out, _ = module(x)
    out.sum().backward()
    np.testing.assert_allclose(trace.output, out.detach().numpy(), rtol=1e-5, atol=1e-5)
    exact = rnnviz.record(module.double(), x.double())  # float64 never takes the packed route
    np.testing.assert_allclose(trace.hidden_grad, exact.hidden_grad, rtol=1e-5, atol=1e-5)
    for name, param in module.named_parameters():
        # float32 sums over T*B rows in another order than torch's: within 1e-5 of the largest entry, as torch's
        scale = 1e-5 * max(1.0, np.abs(exact.param_grads[name]).max())
        np.testing.assert_allclose(trace.param_grads[name], exact.param_grads[name], rtol=0, atol=scale, err_msg=name)
        np.testing.assert_allclose(param.grad.numpy(), exact.param_grads[name], rtol=0, atol=scale, err_msg=name)
