"""engine/buffers.py: large buffers are recycled only once nothing refers to them."""
import numpy as np
import torch
from torch import nn

import rnnviz
from rnnviz.engine import buffers

SHAPE = (64, 32, 256)   # 2 MiB of float32, above buffers.MIN_BYTES


def test_a_buffer_in_use_is_never_handed_out_again():
    first = buffers.empty(*SHAPE, dtype=torch.float32)
    second = buffers.empty(*SHAPE, dtype=torch.float32)
    assert first.data_ptr() != second.data_ptr()
    first.fill_(1.0)
    second.fill_(2.0)
    assert bool((first == 1.0).all())


def test_a_freed_buffer_is_recycled_and_a_numpy_view_keeps_it_in_use(monkeypatch):
    monkeypatch.setattr(buffers, "_blocks", [])
    tensor = buffers.empty(*SHAPE, dtype=torch.float32)
    address = tensor.data_ptr()
    del tensor
    again = buffers.empty(*SHAPE, dtype=torch.float32)
    assert again.data_ptr() == address
    view = again.numpy()[1::2]
    view[...] = 3.0
    del again
    other = buffers.empty(*SHAPE, dtype=torch.float32)
    assert other.data_ptr() != address
    other.fill_(0.0)
    assert (view == 3.0).all()


def test_small_and_other_dtype_requests_and_shapes():
    small = buffers.empty(3, 4, dtype=torch.float64)
    assert small.shape == (3, 4) and small.dtype == torch.float64
    double = buffers.empty(*SHAPE, dtype=torch.float64)
    assert double.shape == SHAPE and double.dtype == torch.float64 and double.is_contiguous()
    like = buffers.empty_like(double)
    assert like.shape == SHAPE and like.dtype == torch.float64 and like.data_ptr() != double.data_ptr()


def test_the_pool_stays_under_its_limit_dropping_the_least_recently_used_free_blocks(monkeypatch):
    monkeypatch.setattr(buffers, "_blocks", [])   # a pool of its own, whatever other tests left in use
    monkeypatch.setattr(buffers, "POOL_BYTES", 7 << 20)
    held = [buffers.empty(*SHAPE, dtype=torch.float32) for _ in range(4)]   # 2 MiB each: the fourth is not pooled
    assert buffers.held_bytes() == (6 << 20, 0)
    assert all(t.shape == SHAPE for t in held) and len({t.data_ptr() for t in held}) == 4
    first = held[0].data_ptr()
    del held
    assert buffers.held_bytes() == (0, 6 << 20)
    again = buffers.empty(*SHAPE, dtype=torch.float32)                     # reuses a free 2 MiB block
    kept = buffers.empty(128, 32, 256, dtype=torch.float32)                # 4 MiB: two free blocks make room
    assert buffers.held_bytes() == (6 << 20, 0)
    assert again.data_ptr() != first or kept.data_ptr() != first
    del again, kept
    buffers.release()
    assert buffers.held_bytes() == (0, 0)


def test_traces_kept_side_by_side_share_no_memory():
    torch.manual_seed(0)
    module = nn.LSTM(16, 128, num_layers=2)
    first = rnnviz.record(module, torch.randn(40, 64, 16))
    kept = first.hidden.copy(), first.gates["G"].copy(), first.hidden_grad.copy()
    second = rnnviz.record(module, torch.randn(40, 64, 16))
    for name in ("hidden", "hidden_grad", "cell"):
        assert not np.shares_memory(getattr(first, name), getattr(second, name)), name
    np.testing.assert_array_equal(first.hidden, kept[0])
    np.testing.assert_array_equal(first.gates["G"], kept[1])
    np.testing.assert_array_equal(first.hidden_grad, kept[2])
    assert not np.array_equal(first.hidden, second.hidden)
