"""Runs over the memory budget, recorded to disk in time chunks (engine/long_record.py): the same
numbers as the in-memory record and as torch, memory maps of files that are deleted with the trace."""
import gc
import itertools
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

import rnnviz
from rnnviz.engine import spool as spool_module
from rnnviz.engine.memory import MemoryBudgetError, plan_spool
from rnnviz.engine.record import record_to_disk
from rnnviz.engine.spec import RNNSpec
from rnnviz.engine.trace import TraceFileError, load_trace

shutil_usage = type(shutil.disk_usage("/"))
TOL = {torch.float64: 1e-9, torch.float32: 1e-5}
T, B, I, H = 23, 3, 5, 7
GRID = [(kind, layers, bidir, dtype) for kind, layers, bidir, dtype in itertools.product(
    ("rnn", "gru", "lstm"), (1, 2), (False, True), (torch.float64, torch.float32))]


def make(kind, layers=1, bidir=False, dtype=torch.float64, batch_first=False, nonlinearity="tanh", seed=0):
    torch.manual_seed(seed)
    extra = {"nonlinearity": nonlinearity} if kind == "rnn" else {}
    module = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[kind](
        I, H, num_layers=layers, bidirectional=bidir, batch_first=batch_first, **extra).to(dtype)
    x = torch.randn((B, T, I) if batch_first else (T, B, I), dtype=dtype)
    D = 2 if bidir else 1
    h0 = 0.5 * torch.randn(layers * D, B, H, dtype=dtype)
    return module, x, ((h0, 0.5 * torch.randn_like(h0)) if kind == "lstm" else h0)


def assert_same(a, b, tol):
    names = ["hidden", "hidden_grad", "output", "h_n", "hidden_norm", "grad_norm", "saturation",
             "whh_grad_contrib_norm", "wih_grad_contrib_norm"] + (["cell", "c_n"] if a.kind == "lstm" else [])
    for name in names:
        np.testing.assert_allclose(np.asarray(getattr(b, name)), np.asarray(getattr(a, name)), rtol=tol, atol=tol,
                                   err_msg=name)
    assert a.gates.keys() == b.gates.keys()
    for name in a.gates:
        np.testing.assert_allclose(b.gates[name], a.gates[name], rtol=tol, atol=tol, err_msg=f"gate {name}")
    assert list(a.param_grads) == list(b.param_grads)
    for name in a.param_grads:
        np.testing.assert_allclose(b.param_grads[name], a.param_grads[name], rtol=tol, atol=tol, err_msg=name)
    assert b.loss == pytest.approx(a.loss, rel=tol, abs=tol)


@pytest.mark.parametrize("kind, layers, bidir, dtype", GRID, ids=lambda p: str(p).replace("torch.", ""))
def test_recorded_to_disk_equals_the_in_memory_record(kind, layers, bidir, dtype):
    module, x, h0 = make(kind, layers, bidir, dtype)
    in_memory = rnnviz.record(module, x, h0)
    on_disk = record_to_disk(module, x, h0, chunk=4, overview_step=3)
    assert on_disk.spooled and not in_memory.spooled
    assert isinstance(on_disk.hidden, np.memmap) and not on_disk.hidden.flags.writeable
    assert_same(in_memory, on_disk, TOL[dtype])
    # the overview is every 3rd timestep of each large array, exactly
    storage = on_disk.storage
    assert list(storage.overview_times) == list(range(0, T, 3))
    np.testing.assert_array_equal(storage.overview["hidden"], on_disk.hidden[:, :, ::3])
    np.testing.assert_array_equal(storage.overview["hidden_grad"], on_disk.hidden_grad[:, :, ::3])
    for name in on_disk.gates:
        np.testing.assert_array_equal(storage.overview["gates"][name], on_disk.gates[name][:, :, ::3])


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_recorded_to_disk_equals_torch(kind):
    """The module's own forward and loss.backward(), batch_first, chunks of one timestep."""
    module, x, h0 = make(kind, 2, True, batch_first=True)
    trace = record_to_disk(module, x, h0, chunk=1)
    out, state = module(x, h0)
    out.sum().backward()
    np.testing.assert_allclose(trace.output, out.detach().numpy(), atol=1e-9)
    h_n = state[0] if kind == "lstm" else state
    np.testing.assert_allclose(trace.h_n, h_n.detach().numpy(), atol=1e-9)
    if kind == "lstm":
        np.testing.assert_allclose(trace.c_n, state[1].detach().numpy(), atol=1e-9)
    for name, p in module.named_parameters():
        np.testing.assert_allclose(trace.param_grads[name], p.grad.numpy(), atol=1e-9, err_msg=name)
    assert trace.loss == pytest.approx(float(out.detach().sum()), rel=1e-12)


def test_relu_rnn_and_uneven_chunks():
    module, x, h0 = make("rnn", 2, False, nonlinearity="relu")
    assert_same(rnnviz.record(module, x, h0), record_to_disk(module, x, h0, chunk=5, overview_step=7), 1e-9)


TEXT = {"input_source": "text", "text": "hello world, " * 20, "input_size": 9, "output_size": 9}


@pytest.mark.parametrize("loss, kind, extra", [("mse", "gru", {"output_size": 2}),
                                               ("last", "lstm", {"bidirectional": True}),
                                               ("char_ce", "lstm", TEXT)])
def test_a_spec_over_the_budget_records_to_disk_with_its_head_and_loss(loss, kind, extra):
    spec = RNNSpec(kind=kind, seq_len=30, batch_size=4, hidden_size=16, num_layers=2, loss=loss, dtype="float64", **extra)
    in_memory = rnnviz.record(spec)
    on_disk = rnnviz.record(spec, memory_budget="1MiB")
    assert on_disk.spooled and on_disk.storage.chunk < spec.seq_len
    assert_same(in_memory, on_disk, 1e-9)
    if spec.output_size:
        np.testing.assert_allclose(on_disk.head_output, in_memory.head_output, atol=1e-9)
    else:
        assert on_disk.head_output is None and in_memory.head_output is None


def test_a_module_over_the_budget_is_recorded_to_disk_not_refused():
    module = nn.LSTM(4, 32, num_layers=2)
    x = torch.randn(300, 8, 4)
    trace = rnnviz.record(module, x, memory_budget="6MiB")
    assert trace.spooled and 1 < trace.storage.chunk < 300
    plan = plan_spool("lstm", 2, 1, 300, 8, 4, 32, budget="6MiB")
    assert plan.needed.peak <= 6 << 20
    assert_same(rnnviz.record(module, x), trace, 1e-5)


def test_what_does_not_fit_even_on_disk_is_refused_in_one_line():
    module = nn.RNN(4, 64)
    with pytest.raises(MemoryBudgetError) as caught:
        rnnviz.record(module, torch.randn(200, 16, 4), memory_budget="64KiB")
    message = str(caught.value)
    assert "\n" not in message and "even with its large arrays on disk" in message and "h_t" in message


def test_too_little_disk_is_refused_before_writing(monkeypatch, tmp_path):
    monkeypatch.setenv(spool_module.SPOOL_DIR_ENV, str(tmp_path))
    monkeypatch.setattr(spool_module.shutil, "disk_usage", lambda path: shutil_usage(1 << 30, (1 << 30) - (1 << 20), 1 << 20))
    module, x, h0 = make("rnn")
    with pytest.raises(spool_module.SpoolSpaceError, match=r"on disk in .* which has only 1\.0 MiB free"):
        record_to_disk(module, x, h0, chunk=4)
    assert list(tmp_path.iterdir()) == []


def test_spool_files_are_deleted_with_the_trace(monkeypatch, tmp_path):
    monkeypatch.setenv(spool_module.SPOOL_DIR_ENV, str(tmp_path))
    module, x, h0 = make("lstm", 2, True)
    trace = record_to_disk(module, x, h0, chunk=4)
    directory = trace.storage.spool.path
    assert sorted(os.listdir(directory)) == ["cell.npy", "hidden.npy", "hidden_grad.npy", "output.npy", "work.npy"]
    del trace
    gc.collect()
    assert not os.path.exists(directory) and list(tmp_path.iterdir()) == []
    other = record_to_disk(module, x, h0, chunk=4)
    other.storage.close()
    assert not os.path.exists(other.storage.spool.path)


def test_nonfinite_values_are_located_from_the_chunks():
    module, x, h0 = make("rnn", 2, False, nonlinearity="relu")
    with torch.no_grad():
        module.weight_hh_l1.mul_(1e80)
    with pytest.warns(rnnviz.errors.NonFiniteWarning):
        expected = rnnviz.record(module, x, h0).first_nonfinite
    trace = record_to_disk(module, x, h0, chunk=4)
    assert expected is not None and trace.first_nonfinite == expected


def test_a_spooled_trace_saves_when_it_fits_and_refuses_when_not(tmp_path, monkeypatch):
    module, x, h0 = make("gru", 2, True)
    trace = record_to_disk(module, x, h0, chunk=4)
    trace.save(tmp_path / "run.npz")
    assert_same(trace, load_trace(tmp_path / "run.npz"), 0)
    monkeypatch.setenv("RNNVIZ_TRACE_MAX_BYTES", "1000")
    with pytest.raises(TraceFileError, match="recorded to disk"):
        trace.save(tmp_path / "big.npz")


# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent (pytest) across fork and exec
_PEAK_CHILD = """
import json, sys, torch, rnnviz

def peak():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))

torch.manual_seed(0)
module = torch.nn.LSTM(8, 128, num_layers=2)
x = torch.randn(2000, 16, 8)
rnnviz.record(module, x[:8])
base = peak()
trace = rnnviz.record(module, x, memory_budget=sys.argv[1])
print(json.dumps({"spooled": trace.spooled, "growth": peak() - base}))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads VmHWM from /proc (Linux)")
def test_recording_to_disk_keeps_the_peak_within_the_budget():
    """In a fresh process: the in-memory record of this LSTM grows by ~330 MB; on disk, under 64 MiB."""
    def growth(budget):
        done = subprocess.run([sys.executable, "-c", _PEAK_CHILD, budget], capture_output=True, text=True, check=True,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})
        return json.loads(done.stdout.strip().splitlines()[-1])

    in_memory, on_disk = growth("4GiB"), growth("64MiB")
    assert not in_memory["spooled"] and on_disk["spooled"]
    assert in_memory["growth"] > 256 << 20
    assert on_disk["growth"] < (64 << 20) + (32 << 20)
