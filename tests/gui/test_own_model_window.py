"""The window on the user's own model (`rnnviz.show(model, ...)`, `rnnviz open SCRIPT.py:FACTORY`) and the
read-only configuration of a recorded part or a loaded trace, driven offscreen like a user."""
from __future__ import annotations

import inspect
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6 import QtCore
from torch import nn

import rnnviz
from rnnviz.engine.user_script import load_factory
from rnnviz.gui import own_model
from rnnviz.gui.launch import window_for
from rnnviz.gui.panels.gradients import PARAMS_HINT

from guihelp import wait_idle

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = f"{ROOT / 'examples' / 'seq2seq_factory.py'}:factory"
LEFT = QtCore.Qt.MouseButton.LeftButton


def open_window(qtbot, *args, **kwargs):
    """The window show() opens, made by the same function, without blocking in exec()."""
    window = window_for(*args, **kwargs)
    qtbot.addWidget(window)
    window.resize(1600, 1000)
    window.show()
    wait_idle(qtbot, window)
    return window


def click(qtbot, window, name, times=1):
    for _ in range(times):
        qtbot.mouseClick(window.transport.buttons[name], LEFT)
    wait_idle(qtbot, window)


def pick_part(qtbot, window, path):
    picker = window.network.config.picker
    index = picker.findData(path)
    assert index >= 0, [picker.itemData(i) for i in range(picker.count())]
    picker.setCurrentIndex(index)
    picker.activated.emit(index)  # what a click on the item emits
    wait_idle(qtbot, window)


def parts_recorded_one_by_one(model, source, target_in):
    """{module path: Trace} of the example's two recurrent parts, each recorded alone with
    `rnnviz.record(module, inputs, h0)` on the inputs the model's forward gives it: the shape of
    what the whole-model recording hands the window."""
    with torch.no_grad():
        embedded_source = model.embed(source)
        _, h = model.encoder(embedded_source)
        start = torch.tanh(model.bridge(torch.cat([h[0], h[1]], dim=-1)))
        h0 = start.expand(model.decoder.num_layers, -1, -1).contiguous()
        embedded_target = model.embed(target_in)
    return {"encoder": rnnviz.record(model.encoder, embedded_source),
            "decoder": rnnviz.record(model.decoder, embedded_target, (h0, torch.zeros_like(h0)))}


@pytest.fixture
def seq2seq(monkeypatch):
    """The example factory's model, its window, and the parts it records (two: encoder, decoder)."""
    model, args, loss_fn = load_factory(EXAMPLE)
    parts = parts_recorded_one_by_one(model, *args)
    seen = {}

    def record_parts(m, a, k, lf):
        seen.update(model=m, args=a, loss_fn=lf, thread=threading.current_thread())
        return parts

    monkeypatch.setattr(own_model, "record_parts", record_parts)
    return model, args, loss_fn, parts, seen


def test_show_on_a_bare_lstm_steps_forward_and_back_through_the_modules_numbers(qtbot, monkeypatch):
    torch.manual_seed(1)
    lstm = nn.LSTM(3, 5, num_layers=2, dropout=0.25).double().eval()
    x = torch.randn(4, 2, 3, dtype=torch.float64)
    h0 = (torch.randn(2, 2, 5, dtype=torch.float64), torch.randn(2, 2, 5, dtype=torch.float64))
    threads = []
    real = own_model.record_parts

    def watched(*a):
        threads.append(threading.current_thread())
        return real(*a)

    monkeypatch.setattr(own_model, "record_parts", watched)
    window = open_window(qtbot, lstm, x, h0)
    assert threads and threads[0] is not threading.main_thread()  # recorded in the worker job
    assert window.network.read_only
    shown = window.network.config.values()
    assert shown["part"] == "LSTM" and shown["module"] == "LSTM" and shown["kind"] == "LSTM"
    assert (shown["input_size"], shown["hidden_size"], shown["num_layers"]) == ("3", "5", "2")
    assert shown["dropout"] == "0.25" and shown["mode"].startswith("eval")
    assert (shown["dtype"], shown["T (timesteps)"], shown["B (batch)"]) == ("float64", "4", "2")
    assert not window.network.config.picker.isVisibleTo(window)  # one part: no picker
    assert "your model" in window.windowTitle()

    out, _ = lstm(x, h0)  # the module's own top-layer output
    click(qtbot, window, "step", 4)  # layers 0 and 1 of t=0 and t=1
    window.layer_box.setValue(1)
    window.batch_box.setValue(1)
    for t in (0, 1):
        np.testing.assert_allclose(window.activations.column(t), out[t, 1].detach().numpy(), rtol=0, atol=1e-12)
    assert np.isnan(window.activations.column(2)).all()
    click(qtbot, window, "back")
    assert window.frame.position == 3
    assert np.isnan(window.activations.column(1)).all()  # layer 1 at t=1 is undone again

    expected = rnnviz.record(lstm, x, h0)
    click(qtbot, window, "run_end")
    click(qtbot, window, "back_step", 3)  # backward: t=3 of both layers and t=2 of layer 1
    norms = window.gradients.norm_lines[1].yData  # layer 1's ‖dL/dh_t‖
    np.testing.assert_allclose(norms[2:], expected.grad_norm[1, 0, 2:], rtol=1e-12)
    assert np.isnan(norms[:2]).all()
    np.testing.assert_allclose(window.gradients.heatmap.data[:, 3], expected.hidden_grad[1, 0, 3, 1], rtol=1e-12)
    # A replay's dL/dθ is whole only at t=0: the empty bars say that, not "run the backward pass".
    param_hint = window.gradients.hints[id(window.gradients.param_plot)]
    assert param_hint.isVisible() and param_hint.hint_text == PARAMS_HINT
    click(qtbot, window, "run_backward")
    assert not param_hint.isVisible()
    bars = window.gradients.bars.opts["width"]
    names = window.gradients._param_names
    assert names == list(expected.param_grads)
    np.testing.assert_allclose(bars, [expected.param_grad_norms[n] for n in names], rtol=1e-12)


def test_picker_switches_the_panels_and_the_configuration_to_the_part(qtbot, seq2seq):
    model, args, loss_fn, parts, seen = seq2seq
    window = open_window(qtbot, model, *args, loss_fn=loss_fn)
    assert seen["model"] is model and seen["loss_fn"] is loss_fn and seen["args"] == tuple(args)
    assert seen["thread"] is not threading.main_thread()
    picker = window.network.config.picker
    assert picker.isVisibleTo(window)
    assert [picker.itemData(i) for i in range(picker.count())] == ["encoder", "decoder"]
    assert picker.itemText(0) == "encoder: GRU bidirectional, H=16"
    shown = window.network.config.values()
    assert (shown["part"], shown["module"], shown["directions"], shown["batch_first"]) == ("encoder", "GRU", "2 (bidirectional)", "yes")
    assert (shown["input_size"], shown["T (timesteps)"], shown["B (batch)"]) == ("8", "7", "3")

    encoder = parts["encoder"]
    click(qtbot, window, "run_end")  # the whole forward pass of the encoder
    window.direction_box.setCurrentIndex(1)
    window.batch_box.setValue(2)
    assert window.activations.heatmap.data.shape == (16, 7)
    np.testing.assert_allclose(window.activations.heatmap.data, encoder.hidden[0, 1, :, 2].T, rtol=0, atol=0)

    pick_part(qtbot, window, "decoder")
    decoder = parts["decoder"]
    assert window.session.runner.trace is decoder
    assert window.frame.position == window.frame.num_forward  # the same point of the pass: forward done
    shown = window.network.config.values()
    assert (shown["part"], shown["module"], shown["num_layers"], shown["dropout"]) == ("decoder", "LSTM", "2", "0.1")
    assert shown["mode"] == "train (dropout 0.1 applied between layers)"
    assert (shown["T (timesteps)"], shown["batch_first"]) == ("5", "no")
    assert window.direction_box.count() == 1  # the decoder is unidirectional
    window.layer_box.setValue(1)
    assert window.activations.heatmap.data.shape == (16, 5)
    np.testing.assert_allclose(window.activations.heatmap.data, decoder.hidden[1, 0, :, 2].T, rtol=0, atol=0)
    click(qtbot, window, "run_backward")
    for layer in (0, 1):
        np.testing.assert_allclose(window.gradients.norm_lines[layer].yData, decoder.grad_norm[layer, 0], rtol=1e-6)
    assert "decoder" in window.windowTitle()

    pick_part(qtbot, window, "encoder")
    assert window.session.runner.trace is encoder and window.frame.position == window.frame.total
    assert window.network.config.values()["part"] == "encoder"


def test_a_model_that_raises_is_one_line_and_the_previous_model_stays(qtbot, seq2seq):
    model, args, loss_fn, parts, _ = seq2seq
    window = open_window(qtbot, model, *args, loss_fn=loss_fn)
    click(qtbot, window, "step", 2)
    runner = window.session.runner

    def broken(*_a):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied (3x9 and 8x16)\nmore detail")

    own_model.record_parts = broken  # the monkeypatch of the fixture restores it
    window.open_model(model, torch.zeros(2, 2), loss_fn=loss_fn)
    wait_idle(qtbot, window)
    last = window.messages.toPlainText().strip().splitlines()[-1]
    assert last == "ERROR: mat1 and mat2 shapes cannot be multiplied (3x9 and 8x16)"
    assert window.session.runner is runner and window.network.config.values()["part"] == "encoder"
    click(qtbot, window, "step")
    assert window.frame.position == 3


def test_a_loaded_trace_shows_its_own_configuration_read_only(qtbot, tmp_path, make_window):
    gru = nn.GRU(6, 9, num_layers=3, batch_first=True, bias=False)
    trace = rnnviz.record(gru, torch.randn(2, 4, 6))
    path = tmp_path / "gru.npz"
    trace.save(path)

    window = open_window(qtbot, str(path))  # `rnnviz gru.npz`
    shown = window.network.config.values()
    assert window.network.read_only and window.network.config.title.text() == f"Trace file: {path}"
    assert (shown["kind"], shown["input_size"], shown["hidden_size"], shown["num_layers"]) == ("GRU", "6", "9", "3")
    assert (shown["batch_first"], shown["bias"], shown["T (timesteps)"], shown["B (batch)"]) == ("yes", "no", "4", "2")
    assert "read-only trace" in window.windowTitle()

    # File > Open trace on a window showing a preset: read-only too; Build brings the editable form back
    from rnnviz.gui import files

    built = make_window("seed-rnn")
    assert not built.network.read_only
    spec = rnnviz.RNNSpec(kind="lstm", input_size=3, hidden_size=7, num_layers=2, seq_len=5, batch_size=2)
    preset_path = tmp_path / "lstm.npz"
    rnnviz.record(spec).save(preset_path)
    files.open_trace(built, str(preset_path))
    wait_idle(qtbot, built)
    shown = built.network.config.values()
    assert built.network.read_only
    assert (shown["kind"], shown["hidden_size"], shown["num_layers"], shown["T (timesteps)"]) == ("LSTM", "7", "2", "5")
    assert shown["built from"].startswith("spec: seed 0")
    qtbot.mouseClick(built.network.config.edit_button, LEFT)
    assert not built.network.read_only and built.form.widgets["hidden_size"].value() == 7
    files.open_trace(built, str(preset_path))
    wait_idle(qtbot, built)
    assert built.network.read_only
    built.network.show_form()
    qtbot.mouseClick(built.form.build_button, LEFT)
    wait_idle(qtbot, built)
    assert not built.network.read_only and not built.session.read_only


def test_rnnviz_file_npz_opens_it_with_its_configuration(qtbot, tmp_path, monkeypatch):
    from rnnviz.cli import main
    from rnnviz.gui import launch

    path = tmp_path / "rnn.npz"
    rnnviz.record(nn.RNN(2, 3, nonlinearity="relu"), torch.randn(5, 1, 2)).save(path)
    opened = []
    monkeypatch.setattr(launch, "_exec", lambda window: opened.append(window) or 0)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert main([str(path)]) == 0
    window = opened[0]
    qtbot.addWidget(window)
    wait_idle(qtbot, window)
    shown = window.network.config.values()
    assert (shown["kind"], shown["nonlinearity"], shown["T (timesteps)"]) == ("RNN", "relu", "5")


def test_rnnviz_open_hands_the_factorys_model_inputs_and_loss_to_the_window(monkeypatch):
    from rnnviz.cli import main
    from rnnviz.gui import launch

    calls = []
    monkeypatch.setattr(launch, "show", lambda model, *a, loss_fn=None: calls.append((model, a, loss_fn)) or 0)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert main(["open", EXAMPLE]) == 0
    model, args, loss_fn = calls[0]
    assert type(model).__name__ == "Seq2Seq" and model.training
    assert [tuple(a.shape) for a in args] == [(3, 7), (5, 3)]
    loss = loss_fn(model(*args))
    assert loss.dim() == 0 and torch.isfinite(loss)


@pytest.mark.parametrize("spec, expected", [
    ("missing.py:factory", "rnnviz open: missing.py: no such file; give SCRIPT.py:FACTORY"),
    ("pair.py:factory", "rnnviz open: pair.py:factory() must return (model, inputs, loss_fn), got a tuple of 2"),
    ("raises.py:make", "rnnviz open: raises.py:make() raised ValueError: no data folder ./data (line 3)"),
])
def test_rnnviz_open_factory_errors_are_one_line_and_open_no_window(tmp_path, monkeypatch, capsys, spec, expected):
    from rnnviz.cli import main
    from rnnviz.gui import launch

    (tmp_path / "pair.py").write_text("import torch\ndef factory():\n    return torch.nn.GRU(2, 2), torch.zeros(3, 1, 2)\n")
    (tmp_path / "raises.py").write_text("def make():\n    x = 1\n    raise ValueError('no data folder ./data')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setattr(launch, "show", lambda *a, **k: pytest.fail("a window was opened"))
    assert main(["open", spec]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(expected)


def test_show_refuses_inputs_without_a_module(qtbot):
    with pytest.raises(TypeError, match="inputs and loss_fn go with a torch module"):
        window_for("seed-rnn", torch.zeros(1))


def test_carried_position_keeps_the_point_of_the_pass():
    carry = own_model.carried_position
    assert carry(0, 14, 28, 10, 20) == 0
    assert carry(14, 14, 28, 10, 20) == 10          # end of the forward pass
    assert carry(28, 14, 28, 10, 20) == 20          # end of the backward pass
    assert carry(7, 14, 28, 10, 20) == 5
    assert carry(21, 14, 28, 10, 20) == 15


@pytest.mark.skipif("loss_fn" not in inspect.signature(rnnviz.record).parameters,
                    reason="the engine's whole-model record (issue 7, engine part) is not merged yet")
def test_show_on_the_example_records_the_whole_model_through_the_engine(qtbot):
    model, args, loss_fn = load_factory(EXAMPLE)
    model.eval()  # no dropout: the loss is a pure function of the weights and inputs
    window = open_window(qtbot, model, *args, loss_fn=loss_fn)
    picker = window.network.config.picker
    assert [picker.itemData(i) for i in range(picker.count())] == ["encoder", "decoder"]
    with torch.no_grad():
        expected = float(loss_fn(model(*args)))
    assert window.session.runner.trace.loss == pytest.approx(expected, rel=1e-5)
    pick_part(qtbot, window, "decoder")
    assert window.network.config.values()["mode"] == "eval (dropout 0.1 off)"


def test_the_first_steps_previous_state_is_the_traces_own_initial_state(qtbot):
    from rnnviz.gui.own_model import open_parts

    torch.manual_seed(3)
    lstm = nn.LSTM(2, 3).double()
    h0 = (torch.randn(1, 4, 3, dtype=torch.float64), torch.randn(1, 4, 3, dtype=torch.float64))
    trace = rnnviz.record(lstm, torch.randn(5, 4, 2, dtype=torch.float64), h0)
    trace.h0, trace.c0 = h0[0].numpy(), h0[1].numpy()  # the initial states a recording keeps with the part
    window = open_window(qtbot, "seed-rnn")
    open_parts(window, "Tagger", {"tagger.lstm": trace}, {"tagger.lstm": lstm})
    wait_idle(qtbot, window)
    assert window.network.config.values()["part"] == "tagger.lstm"
    click(qtbot, window, "step")
    rows = {row["name"]: row for row in window.frame.rows}
    assert rows["H_{t-1}"]["norm"] == pytest.approx(float(h0[0].norm()), rel=1e-12)
    assert rows["C_{t-1}"]["norm"] == pytest.approx(float(h0[1].norm()), rel=1e-12)
    assert rows["W_hh"]["norm"] == pytest.approx(float(lstm.weight_hh_l0.detach().norm()), rel=1e-12)


def test_a_file_of_several_parts_gets_the_picker_read_only(qtbot, tmp_path, monkeypatch, make_window):
    model, args, _ = load_factory(EXAMPLE)
    parts = parts_recorded_one_by_one(model, *args)
    path = str(tmp_path / "run.npz")
    monkeypatch.setattr(own_model, "load_parts", lambda p: parts if p == path else pytest.fail(p))

    window = open_window(qtbot, path)  # `rnnviz run.npz` on a recording of the model's two parts
    config = window.network.config
    assert window.session.read_only and window.network.read_only
    assert config.title.text() == f"Recording file: {path}"
    assert [config.picker.itemData(i) for i in range(config.picker.count())] == ["encoder", "decoder"]
    assert config.values()["directions"] == "2 (bidirectional)"
    click(qtbot, window, "run_end")
    pick_part(qtbot, window, "decoder")
    assert window.session.read_only and window.session.runner.trace is parts["decoder"]
    assert window.frame.position == window.frame.num_forward
    assert config.values()["num_layers"] == "2" and "read-only recording" in window.windowTitle()
    window.layer_box.setValue(1)
    np.testing.assert_allclose(window.activations.heatmap.data, parts["decoder"].hidden[1, 0, :, 0].T, rtol=0, atol=0)

    from rnnviz.gui import files

    built = make_window("seed-rnn")
    files.open_trace(built, path)  # File > Open trace
    wait_idle(qtbot, built)
    assert built.network.config.picker.count() == 2 and built.session.runner.trace is parts["encoder"]


@pytest.mark.skipif(not hasattr(rnnviz, "load_recording"), reason="multi-part recording files come with the own-model engine")
def test_rnnviz_trace_module_file_opens_with_every_part(qtbot, tmp_path):
    from rnnviz.cli import main

    path = tmp_path / "run.npz"
    assert main(["trace", "--module", EXAMPLE, "-o", str(path)]) == 0
    window = open_window(qtbot, str(path))
    picker = window.network.config.picker
    assert [picker.itemData(i) for i in range(picker.count())] == ["encoder", "decoder"]
    shown = window.network.config.values()
    assert (shown["part"], shown["module"], shown["mode"]) == ("encoder", "GRU", "train")
    pick_part(qtbot, window, "decoder")
    assert window.network.config.values()["mode"] == "train (dropout 0.1 applied between layers)"


def test_show_with_inputs_the_model_cannot_take_says_so_in_one_line(qtbot):
    gru = nn.GRU(3, 4)
    window = open_window(qtbot, gru, torch.zeros(5, 2, 7))  # 7 features for a GRU that takes 3
    errors = [line for line in window.messages.toPlainText().splitlines() if line.startswith("ERROR: ")]
    assert len(errors) == 1 and "7" in errors[0] and "3" in errors[0]
    assert window.session.runner is None and not window.network.read_only  # nothing half-shown
    window.open_model(gru, torch.zeros(5, 2, 3))  # the corrected call works in the same window
    wait_idle(qtbot, window)
    assert window.network.config.values()["input_size"] == "3" and window.session.runner.trace.hidden.shape[2] == 5
