import numpy as np
import pytest
import torch

import rnnviz
from rnnviz.teaching.presets import get_preset
from rnnviz.engine.runner import Cell, Runner, backward_schedule, forward_schedule


def test_unidirectional_schedule_is_timestep_major():
    cells = forward_schedule(num_layers=3, num_directions=1, seq_len=2)
    assert [(c.layer, c.t) for c in cells] == [(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1)]


def test_bidirectional_schedule_is_layer_major_and_reverse_runs_backwards():
    cells = forward_schedule(num_layers=2, num_directions=2, seq_len=3)
    assert cells[:6] == [Cell("forward", 0, 0, t) for t in range(3)] + [Cell("forward", 0, 1, t) for t in (2, 1, 0)]
    assert backward_schedule(cells)[0] == Cell("backward", 1, 1, 0)


@pytest.mark.parametrize("name", ["seed-rnn", "lstm-memory", "char-hello"])
def test_stepping_equals_running_to_end_exactly(name):
    spec = get_preset(name).replace(seq_len=min(get_preset(name).seq_len, 10))
    stepped = Runner.from_spec(spec)
    while stepped.step() is not None:
        pass
    ran = Runner.from_spec(spec)
    ran.run_to_end()
    a, b = stepped.snapshot(), ran.snapshot()
    np.testing.assert_array_equal(a.hidden, b.hidden)
    np.testing.assert_array_equal(a.hidden_grad, b.hidden_grad)
    for key in a.param_grads:
        np.testing.assert_array_equal(a.param_grads[key], b.param_grads[key])


def test_back_restores_every_array_and_redo_is_identical():
    spec = get_preset("seed-rnn").replace(kind="gru", bidirectional=True)
    runner = Runner.from_spec(spec)
    runner.run_to_end()
    final = runner.snapshot(copy=True)
    runner.seek(runner.num_forward + 5)
    partial = runner.snapshot(copy=True)
    assert np.isnan(partial.hidden_grad).any() and not np.isnan(partial.hidden).any()
    runner.seek(3)
    assert np.isnan(runner.hidden).sum() == runner.hidden.size - 3 * spec.batch_size * spec.hidden_size
    assert runner.loss is None
    runner.run_to_end()
    again = runner.snapshot()
    np.testing.assert_array_equal(again.hidden_grad, final.hidden_grad)
    np.testing.assert_array_equal(again.hidden, final.hidden)
    for key in final.param_grads:
        np.testing.assert_array_equal(again.param_grads[key], final.param_grads[key])


def test_backward_steps_fill_dl_dh_from_the_end():
    runner = Runner.from_spec(get_preset("vanishing-tanh"))
    runner.run_forward()
    assert runner.loss is not None and np.isnan(runner.hidden_grad).all()
    record = runner.step()
    assert record.cell == Cell("backward", 0, 0, runner.seq_len - 1)
    assert record.grad_norm == pytest.approx(float(np.linalg.norm(runner.hidden_grad[0, 0, -1])))
    assert np.isnan(runner.hidden_grad[0, 0, :-1]).all()


def test_records_carry_the_cell_equation_operands():
    runner = Runner.from_spec(get_preset("seed-rnncell"))
    record = runner.step()
    shapes = {op.name: op.shape for op in record.operands}
    assert shapes["X_t"] == (5, 4) and shapes["H_t"] == (5, 2) and shapes["W_hh"] == (2, 2)
    assert record.equation.startswith("H_t = tanh(")
    lstm = Runner.from_spec(get_preset("lstm-memory").replace(seq_len=3)).step()
    assert [op.name for op in lstm.operands][-7:] == ["I_t", "F_t", "G_t", "O_t", "C_{t-1}", "C_t", "H_t"]


def test_record_leaves_the_module_as_it_was():
    module = torch.nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    module.train()
    before = {n: p.detach().clone() for n, p in module.named_parameters()}
    module.weight_hh_l0.grad = torch.ones_like(module.weight_hh_l0)
    rnnviz.record(module, torch.randn(5, 2, 3))
    assert module.training
    assert torch.equal(module.weight_hh_l0.grad, torch.ones_like(module.weight_hh_l0))
    assert module.weight_ih_l0.grad is None
    for name, param in module.named_parameters():
        assert torch.equal(param, before[name])


class TutorialCell(torch.nn.Module):
    """The tutorial's cell-signature model: i2h and i2o on cat(input, hidden)."""

    def __init__(self, inputs, hidden, outputs):
        super().__init__()
        self.hidden_size = hidden
        self.i2h = torch.nn.Linear(inputs + hidden, hidden)
        self.i2o = torch.nn.Linear(inputs + hidden, outputs)

    def forward(self, x, h):
        both = torch.cat([x, h], 1)
        return self.i2o(both), torch.tanh(self.i2h(both))

    def init_hidden(self, batch):
        return torch.zeros(batch, self.hidden_size)


def test_cell_signature_modules_are_recorded():
    torch.manual_seed(0)
    model = TutorialCell(3, 5, 2).double()
    x = torch.randn(4, 2, 3, dtype=torch.float64)
    trace = rnnviz.record(model, x)
    h, hs, outs = model.init_hidden(2).double(), [], []
    for t in range(4):
        out, h = model(x[t], h)
        h.retain_grad()
        hs.append(h)
        outs.append(out)
    torch.stack(outs).sum().backward()
    np.testing.assert_allclose(trace.output, torch.stack(outs).detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(trace.hidden[0, 0], torch.stack(hs).detach().numpy(), atol=1e-12)
    expected = [torch.zeros(2, 5, dtype=torch.float64) if h.grad is None else h.grad for h in hs]
    assert hs[-1].grad is None  # no output reads the last state: its gradient is zero
    np.testing.assert_allclose(trace.hidden_grad[0, 0], torch.stack(expected).numpy(), atol=1e-12)
    np.testing.assert_allclose(trace.param_grads["i2h.weight"], model.i2h.weight.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("inputs, hidden, message", [
    (torch.randn(5, 3, 6), None, "Expected input of size (seq, batch, 4), got (5, 3, 6)"),
    (torch.randn(5), None, "Expected input of size (seq, batch, 4), got (5,)"),  # (T, I) is unbatched: recorded
    (torch.randn(5, 3, 4), torch.zeros(1, 3, 2), "Expected hidden size (3, 3, 2), got (1, 3, 2)"),
    (torch.randn(5, 3, 4, dtype=torch.float64), None, "input dtype torch.float64 does not match"),
])
def test_bad_inputs_are_torch_worded_errors(inputs, hidden, message):
    module = torch.nn.RNN(4, 2, num_layers=3)
    with pytest.raises(ValueError) as info:
        rnnviz.record(module, inputs, hidden)
    assert message in str(info.value)
    with pytest.raises(ValueError):
        Runner(module, inputs, hidden)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_record_equals_cpu_record():
    spec = get_preset("seed-rnn").replace(dtype="float64")
    cpu, cuda = rnnviz.record(spec), rnnviz.record(spec.replace(device="cuda"))
    np.testing.assert_allclose(cuda.hidden, cpu.hidden, atol=1e-9)
    np.testing.assert_allclose(cuda.hidden_grad, cpu.hidden_grad, atol=1e-9)
    runner = Runner.from_spec(spec.replace(device="cuda"))
    runner.run_to_end()
    np.testing.assert_allclose(runner.snapshot().hidden_grad, cpu.hidden_grad, atol=1e-9)


def test_param_grads_are_the_same_however_the_position_was_reached():
    spec = get_preset("vanishing-tanh").replace(seq_len=80, hidden_size=8)
    runner = Runner.from_spec(spec)
    runner.run_to_end()
    final = runner.param_grads()
    runner.seek(runner.num_forward + 50)
    middle = runner.param_grads()        # caches a full block of 32 cells
    runner.seek(runner.num_forward + 20)  # back into that block
    runner.param_grads()
    runner.seek(runner.num_forward + 50)
    for name, value in runner.param_grads().items():
        np.testing.assert_array_equal(value, middle[name])
    runner.run_to_end()
    for name, value in runner.param_grads().items():
        np.testing.assert_array_equal(value, final[name])
    fresh = Runner.from_spec(spec)
    fresh.run_to_end()
    for name, value in fresh.param_grads().items():
        np.testing.assert_array_equal(value, final[name])


def test_reset_refills_the_same_arrays_and_the_rerun_is_identical():
    spec = get_preset("seed-rnn").replace(kind="lstm", num_layers=2)
    runner = Runner.from_spec(spec)
    runner.run_to_end()
    first = runner.snapshot(copy=True)
    hidden, gates = runner.hidden, dict(runner.gates)
    runner.reset()
    assert runner.hidden is hidden and all(runner.gates[k] is v for k, v in gates.items())
    for array in (runner.hidden, runner.hidden_grad, runner.cell, *runner.gates.values(), runner.grad_norm,
                  runner.whh_contrib, runner.step_ms):
        assert np.isnan(array).all()
    assert runner.snapshot().param_grads == {} and runner.snapshot().output.size == 0
    runner.run_to_end()
    again = runner.snapshot()
    for name in ("hidden", "hidden_grad", "cell", "output", "h_n", "c_n", "grad_norm", "whh_grad_contrib_norm"):
        np.testing.assert_array_equal(getattr(again, name), getattr(first, name))
    for name, value in first.param_grads.items():
        np.testing.assert_array_equal(again.param_grads[name], value)


def test_snapshot_outputs_follow_the_forward_pass_they_were_stacked_from():
    spec = get_preset("seed-rnn").replace(num_layers=2, bidirectional=True)
    runner = Runner.from_spec(spec)
    runner.run_forward()
    before = runner.snapshot(copy=True)
    runner.step()  # the backward pass leaves the outputs as they were
    np.testing.assert_array_equal(runner.snapshot().output, before.output)
    np.testing.assert_array_equal(runner.snapshot().h_n, before.h_n)
    runner.seek(runner.num_forward - 1)
    assert runner.snapshot().output.size == 0
    runner.edit(t=0, index=0, value=5.0, layer=1, direction=1)  # the last forward cell, computed again
    runner.run_forward()
    edited = runner.snapshot()
    top = runner.hidden[1]  # (D, T, B, H)
    np.testing.assert_array_equal(edited.output, np.concatenate([top[0], top[1]], axis=-1))
    assert edited.output[0, 0, spec.hidden_size] == 5.0 != before.output[0, 0, spec.hidden_size]


def test_a_full_backward_seek_back_and_forth_keeps_every_gradient():
    spec = get_preset("seed-rnn").replace(kind="gru", seq_len=70, num_layers=2, bidirectional=True)
    runner = Runner.from_spec(spec)
    runner.run_to_end()
    final = runner.snapshot(copy=True)
    middle = runner.num_forward + 75
    runner.seek(middle)
    at_middle = runner.snapshot(copy=True)
    runner.seek(runner.num_forward)
    assert np.isnan(runner.hidden_grad).all() and runner.snapshot().param_grads == {}
    runner.seek(middle)
    fresh = Runner.from_spec(spec)
    fresh.seek(middle)
    for name, value in at_middle.param_grads.items():
        np.testing.assert_array_equal(runner.param_grads()[name], value)
        np.testing.assert_array_equal(fresh.param_grads()[name], value)
    runner.run_to_end()
    np.testing.assert_array_equal(runner.hidden_grad, final.hidden_grad)
    for name, value in final.param_grads.items():
        np.testing.assert_array_equal(runner.param_grads()[name], value)
