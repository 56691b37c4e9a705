"""The memory estimate and the budget: refusals name the estimate, before anything is allocated."""
import json

import pytest
import torch

import rnnviz
from rnnviz.cli import main
from rnnviz.engine.memory import (ENV_VAR, MemoryBudgetError, estimate, estimate_spec, memory_budget,
                                  parse_size)
from rnnviz.engine.runner import Runner
from rnnviz.engine.spec import RNNSpec

HUGE = RNNSpec(kind="lstm", input_size=64, hidden_size=65536, num_layers=2, seq_len=10000, batch_size=64)


@pytest.mark.parametrize("text, size", [("1GiB", 1 << 30), ("512M", 512 << 20), ("2.5g", int(2.5 * (1 << 30))),
                                        ("1e9", 10 ** 9), ("3 GB", 3 * 10 ** 9), (4096, 4096)])
def test_sizes_parse(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["lots", "-1G", "0", "1 parsec"])
def test_bad_sizes_are_refused_by_name(text):
    with pytest.raises(ValueError, match="memory budget"):
        parse_size(text)


def test_budget_default_env_and_override(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert memory_budget() == 1 << 30
    monkeypatch.setenv(ENV_VAR, "2GiB")
    assert memory_budget() == 2 << 30
    assert memory_budget("100MiB") == 100 << 20
    monkeypatch.setenv(ENV_VAR, "nonsense")
    with pytest.raises(ValueError, match=ENV_VAR):
        memory_budget()


def test_estimate_is_linear_in_batch_and_counts_the_trace():
    one, two = (estimate("gru", 2, 2, 500, b, 16, 128) for b in (64, 128))
    assert one.parts["h_t"] == 2 * 2 * 500 * 64 * 128 * 4
    assert one.parts["gates"] == 3 * one.parts["h_t"]
    per_batch = two.peak - one.peak
    assert estimate("gru", 2, 2, 500, 256, 16, 128).peak - two.peak == pytest.approx(2 * per_batch, rel=1e-6)


def test_a_huge_spec_is_refused_with_its_estimate(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(MemoryBudgetError) as caught:
        rnnviz.record(HUGE)
    message = str(caught.value)
    assert "needs about" in message and "h_t" in message and "over the memory budget of 1.0 GiB" in message
    assert "--memory-budget" in message and ENV_VAR in message
    assert estimate_spec(HUGE).peak > 1 << 40


def test_a_module_over_the_budget_is_refused_for_record_and_stepping():
    module = torch.nn.RNN(4, 64)
    x = torch.randn(200, 16, 4)
    with pytest.raises(MemoryBudgetError, match="recording this rnn"):
        rnnviz.record(module, x, memory_budget="1MiB")
    with pytest.raises(MemoryBudgetError, match="stepping through this rnn"):
        Runner(module, x, memory_budget="1MiB")
    assert rnnviz.record(module, x, memory_budget="1GiB").hidden.shape == (1, 1, 200, 16, 64)


def test_trace_command_prints_the_estimate_and_refuses_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(ENV_VAR, "1GiB")  # the command sets it from --memory-budget; undone after the test
    spec = tmp_path / "big.json"
    spec.write_text(json.dumps({"kind": "rnn", "input_size": 8, "hidden_size": 256, "seq_len": 2000, "batch_size": 64}))
    assert main(["trace", "--spec", str(spec), "--memory-budget", "1MiB"]) == 2
    out, err = capsys.readouterr()
    assert out.startswith("memory: this rnn (seq_len 2000, batch 64, hidden 256, layers 1) needs about")
    assert err.count("\n") == 1 and "over the memory budget of 1.0 MiB" in err and "even with its large arrays on disk" in err
    assert main(["trace", "--spec", str(spec), "--memory-budget", "2GiB"]) == 0
    assert "recorded to disk" not in capsys.readouterr().out


def test_trace_command_over_the_budget_records_to_disk(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(ENV_VAR, "1GiB")
    spec = tmp_path / "big.json"
    spec.write_text(json.dumps({"kind": "rnn", "input_size": 8, "hidden_size": 64, "seq_len": 400, "batch_size": 16}))
    assert main(["trace", "--spec", str(spec), "--memory-budget", "4MiB"]) == 0
    out = capsys.readouterr().out
    assert "over the budget: recorded to disk" in out and "|h| L0" in out


def test_the_cpu_allocators_message_becomes_a_plain_line():
    from rnnviz.errors import user_message

    raw = RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: "
                       "you tried to allocate 40000000000 bytes. Error code 12 (Cannot allocate memory)")
    message = user_message(raw)
    assert message.startswith("out of memory: tried to allocate 37.3 GiB") and "alloc_cpu" not in message
    assert user_message(MemoryError()).startswith("out of memory")
