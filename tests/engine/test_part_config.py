"""The configuration rows the Network dock shows for a recorded part: the module's own, the trace
file's saved configuration, or the spec a preset was built from."""
from __future__ import annotations

import torch
from torch import nn

import rnnviz
from rnnviz.engine.part_config import part_config, part_summary


def rows(trace, module=None, path=None) -> dict:
    return dict(part_config(trace, module, path))


def test_a_live_module_gives_its_own_configuration():
    lstm = nn.LSTM(3, 6, num_layers=2, dropout=0.3, batch_first=True, bidirectional=True).double().train()
    trace = rnnviz.record(lstm, torch.randn(2, 5, 3, dtype=torch.float64))
    shown = rows(trace, lstm, "encoder.lstm")
    assert shown["part"] == "encoder.lstm" and shown["module"] == "LSTM" and shown["kind"] == "LSTM"
    assert (shown["input_size"], shown["hidden_size"], shown["num_layers"]) == ("3", "6", "2")
    assert (shown["directions"], shown["batch_first"], shown["bias"]) == ("2 (bidirectional)", "yes", "yes")
    assert shown["dropout"] == "0.3" and shown["mode"] == "train (dropout 0.3 applied between layers)"
    assert (shown["dtype"], shown["device"], shown["T (timesteps)"], shown["B (batch)"]) == ("float64", "cpu", "5", "2")
    assert "nonlinearity" not in shown
    assert part_summary(trace, lstm) == "LSTM 2 layers bidirectional, H=6"


def test_a_cell_and_an_rnn_without_bias():
    cell = nn.RNNCell(2, 4, bias=False, nonlinearity="relu").eval()
    shown = rows(rnnviz.record(cell, torch.randn(3, 1, 2)), cell, "cell")
    assert shown["kind"] == "RNN cell" and shown["bias"] == "no" and shown["nonlinearity"] == "relu"
    assert shown["batch_first"].startswith("—") and shown["mode"] == "eval"


def test_a_trace_alone_reads_shapes_dtype_and_parameter_names():
    trace = rnnviz.record(nn.GRU(5, 7, num_layers=3, bias=False), torch.randn(4, 2, 5))
    shown = rows(trace)
    assert shown["part"] == "—" and "module" not in shown
    assert (shown["kind"], shown["input_size"], shown["hidden_size"], shown["num_layers"]) == ("GRU", "5", "7", "3")
    assert (shown["bias"], shown["dropout"], shown["mode"], shown["dtype"]) == ("no", "—", "—", "float32")


def test_a_trace_files_saved_configuration_and_notes_are_shown():
    trace = rnnviz.record(nn.LSTM(4, 8), torch.randn(2, 1, 4))
    # the fields the whole-model recording keeps with each part (module_path, config, train_mode, notes)
    trace.module_path, trace.train_mode = "decoder", True
    trace.config = {"type": "LSTM", "input_size": 4, "hidden_size": 8, "bias": True, "num_layers": 1,
                    "bidirectional": False, "batch_first": False, "dropout": 0.0, "proj_size": 0}
    trace.notes = ["cuDNN: dropout masks differ from the module's"]
    shown = rows(trace)
    assert (shown["part"], shown["module"], shown["mode"]) == ("decoder", "LSTM", "train")
    assert shown["note"] == "cuDNN: dropout masks differ from the module's"


def test_a_preset_trace_shows_the_spec():
    spec = rnnviz.RNNSpec(kind="rnn", input_size=3, hidden_size=5, num_layers=2, dropout=0.2, nonlinearity="relu",
                          batch_first=True, seed=7, init="orthogonal")
    shown = rows(rnnviz.record(spec))
    assert (shown["kind"], shown["nonlinearity"], shown["dropout"], shown["batch_first"]) == ("RNN", "relu", "0.2", "yes")
    assert shown["mode"] == "eval (dropout 0.2 off)"
    assert shown["built from"] == "spec: seed 7, init orthogonal, input randn"
