import pytest
import torch

from rnnviz.engine.build import available_devices, build, spectral_radius
from rnnviz.teaching.codegen import pytorch_code
from rnnviz.teaching.presets import PRESETS, get_preset
from rnnviz.engine.spec import RNNSpec, SpecError


def test_same_spec_same_numbers_and_seed_changes_them():
    spec = RNNSpec(kind="gru", num_layers=2, seq_len=7)
    a, b = build(spec), build(spec)
    for (name, p), (_, q) in zip(a.module.named_parameters(), b.module.named_parameters()):
        assert torch.equal(p, q), name
    assert torch.equal(a.inputs, b.inputs)
    c = build(spec.replace(seed=1))
    assert not torch.equal(a.inputs, c.inputs)


def test_build_leaves_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build(RNNSpec())
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm", "rnn_cell", "gru_cell", "lstm_cell"])
def test_modules_are_the_tutorials_torch_modules(kind):
    spec = RNNSpec(kind=kind, dtype="float64", batch_first=False)
    built = build(spec)
    cls = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM, "rnn_cell": torch.nn.RNNCell,
           "gru_cell": torch.nn.GRUCell, "lstm_cell": torch.nn.LSTMCell}[kind]
    assert type(built.module) is cls
    assert built.inputs.dtype == torch.float64 and next(built.module.parameters()).dtype == torch.float64


def test_batch_first_input_layout():
    built = build(get_preset("batch-first"))
    assert tuple(built.inputs.shape) == (5, 6, 4)
    assert tuple(build(get_preset("seed-rnn")).inputs.shape) == (6, 5, 4)


@pytest.mark.parametrize("scale", [0.5, 1.3])
def test_whh_scale_sets_the_spectral_radius(scale):
    built = build(RNNSpec(hidden_size=16, whh_scale=scale))
    assert spectral_radius(built.module.weight_hh_l0) == pytest.approx(scale, rel=1e-5)


def test_identity_and_orthogonal_init():
    eye = build(RNNSpec(hidden_size=5, init="identity")).module
    assert torch.equal(eye.weight_hh_l0, torch.eye(5))
    orth = build(RNNSpec(kind="lstm", hidden_size=6, init="orthogonal")).module.weight_hh_l0
    for block in orth.detach().split(6):
        assert torch.allclose(block @ block.T, torch.eye(6), atol=1e-5)


def test_text_input_is_one_hot_and_targets_are_next_characters():
    built = build(get_preset("char-hello"))
    vocab = sorted(set("hello world"))
    assert torch.equal(built.inputs.sum(-1), torch.ones(10, 1))
    first = [vocab[i] for i in built.inputs[:, 0].argmax(-1).tolist()]
    assert "".join(first) == "hello worl"
    assert "".join(vocab[i] for i in built.target[:, 0].tolist()) == "ello world"


def test_missing_device_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(SpecError, match="device 'cuda:0' is not available"):
        build(RNNSpec(device="cuda:0"))
    assert available_devices()[0] == ("cpu", "cpu")


@pytest.mark.parametrize("name", list(PRESETS))
def test_generated_code_runs_and_gives_the_same_shapes(name):
    spec = get_preset(name)
    namespace = {}
    exec(compile(pytorch_code(spec), name, "exec"), namespace)
    built = build(spec)
    assert tuple(namespace["inputs"].shape) == tuple(built.inputs.shape)
    assert tuple(namespace["out"].shape) == ((spec.seq_len, spec.batch_size, spec.hidden_size) if spec.is_cell
                                             else tuple(built.module(built.inputs)[0].shape))


def test_code_names_every_non_default_argument():
    code = pytorch_code(RNNSpec(kind="gru", num_layers=2, bias=False, batch_first=True, bidirectional=True, dropout=0.1))
    assert "nn.GRU(input_size=4, hidden_size=2, num_layers=2, bias=False, batch_first=True, dropout=0.1, bidirectional=True)" in code
    assert "torch.randn(5, 6, 4)  # (batch, seq, feature)" in code


def test_mse_code_runs():
    namespace = {}
    exec(pytorch_code(RNNSpec(loss="mse", output_size=3)), namespace)
    assert namespace["loss"].item() > 0


def test_forget_bias_sets_the_forget_gate_slice():
    module = build(RNNSpec(kind="lstm", hidden_size=3, num_layers=2, forget_bias=2.0)).module
    for layer in range(2):
        assert torch.equal(getattr(module, f"bias_ih_l{layer}")[3:6], torch.full((3,), 2.0))
        assert torch.equal(getattr(module, f"bias_hh_l{layer}")[3:6], torch.zeros(3))
    with pytest.raises(SpecError, match="forget_bias applies to lstm and lstm_cell only"):
        RNNSpec(kind="gru", forget_bias=1.0)


@pytest.mark.parametrize("name", ["vanishing-tanh", "exploding-relu", "lstm-memory"])
def test_generated_code_initialises_weights_like_the_build(name):
    spec = get_preset(name)
    namespace = {}
    exec(pytorch_code(spec), namespace)
    ours = build(spec).module
    theirs = namespace["rnn"]
    assert spectral_radius(theirs.weight_hh_l0[:spec.hidden_size]) == pytest.approx(
        spectral_radius(ours.weight_hh_l0[:spec.hidden_size]), rel=1e-4)
    if spec.forget_bias is not None:
        H = spec.hidden_size
        assert torch.equal(theirs.bias_ih_l0[H:2 * H], ours.bias_ih_l0[H:2 * H])
