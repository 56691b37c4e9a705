"""Shape pre-flight against torch itself: a shape passes exactly when the fused module accepts it."""
from __future__ import annotations

import itertools

import pytest
import torch

from rnnviz.engine.module_info import ModuleInfo
from rnnviz.engine.preflight import ShapeError, check_input_shapes, check_shapes, parse_shape
from rnnviz.engine.runner import Runner

MODULES = [
    torch.nn.RNN(4, 2, num_layers=3),
    torch.nn.GRU(4, 3, batch_first=True, bidirectional=True),
    torch.nn.LSTM(4, 3, num_layers=2, proj_size=2),
    torch.nn.LSTM(4, 3, batch_first=True),
]


def torch_accepts(module, x, h0, c0) -> bool:
    state = None if h0 is None else ((torch.zeros(h0), torch.zeros(c0)) if c0 is not None else torch.zeros(h0))
    try:
        module(torch.randn(x), state)
    except RuntimeError:
        return False
    return True


@pytest.mark.filterwarnings("ignore:LSTM with projections")
@pytest.mark.parametrize("module", MODULES, ids=lambda m: repr(m))
def test_preflight_agrees_with_torch(module):
    m = ModuleInfo.of(module)
    L = m.num_layers * m.num_directions
    for x, b, s in itertools.product([(5, 6, 4), (6, 5, 4), (5, 6, 3)], (5, 6), (2, 3)):
        lstm = m.kind == "lstm"
        h0, c0 = (L, b, s), ((L, b, m.hidden_size) if lstm else None)
        report = check_input_shapes(m, x, h0, c0)
        assert report.ok == torch_accepts(module, x, h0, c0), (x, h0, c0, report.problems)
        if not report.ok:
            assert "dimension" in report.message() and "The layout torch expects" in report.message()


def test_check_shapes_raises_before_the_runner_runs():
    module = torch.nn.GRU(4, 3)
    with pytest.raises(ShapeError, match=r"dimension 2 \(input_size\) must be 4, got 6") as info:
        Runner(module, torch.randn(5, 2, 6))
    assert "input (seq_len, batch, input_size)\n      = (5, 2, 4)" in str(info.value)
    with pytest.raises(ShapeError, match=r"dimension 0 \(batch\) must be 2, got 3"):
        check_shapes(torch.nn.GRUCell(4, 3), torch.randn(5, 2, 4), torch.zeros(3, 3))  # a cell's 2-D hidden
    assert check_shapes(module, torch.randn(5, 2, 4), torch.zeros(1, 2, 3)).ok


def test_parse_shape():
    assert parse_shape("(5, 6, 4)") == parse_shape("5 6 4") == parse_shape("5x6x4") == (5, 6, 4)
    with pytest.raises(ValueError, match="whole numbers"):
        parse_shape("(5, six)")
