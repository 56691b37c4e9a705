import json

import pytest

from rnnviz.teaching.presets import PRESETS, get_preset
from rnnviz.engine.spec import RNNSpec, SpecError


def test_defaults_are_valid_and_round_trip_through_json():
    spec = RNNSpec(kind="lstm", num_layers=2, bidirectional=True, whh_scale=0.9, output_size=3)
    again = RNNSpec.from_json(spec.to_json())
    assert again == spec
    assert json.loads(spec.to_json())["kind"] == "lstm"


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_round_trips(name):
    spec = get_preset(name)
    assert RNNSpec.from_json(spec.to_json()) == spec


@pytest.mark.parametrize("changes, message", [
    ({"hidden_size": 0}, "hidden_size must be between 1 and 65536, got 0"),
    ({"input_size": -3}, "input_size must be between 1 and 65536, got -3"),
    ({"num_layers": 2.5}, "num_layers must be an integer, got 2.5"),
    ({"kind": "transformer"}, "kind must be one of rnn_cell, rnn, gru_cell, gru, lstm_cell, lstm, got 'transformer'"),
    ({"nonlinearity": "sigmoid"}, "nonlinearity must be one of tanh, relu, got 'sigmoid'"),
    ({"dropout": 1.0}, "dropout must be >= 0 and < 1, got 1.0"),
    ({"dtype": "float16"}, "dtype must be one of float32, float64, got 'float16'"),
    ({"device": "gpu"}, "device must be cpu, cuda, cuda:N or mps, got 'gpu'"),
    ({"bias": 1}, "bias must be true or false, got 1"),
    ({"whh_scale": 0}, "whh_scale must be > 0 and <= 100, got 0"),
    ({"kind": "gru", "nonlinearity": "relu"}, "nonlinearity applies to rnn and rnn_cell only"),
    ({"kind": "rnn_cell", "num_layers": 2}, "num_layers must be 1 for rnn_cell"),
    ({"kind": "lstm_cell", "bidirectional": True}, "bidirectional is not available for lstm_cell"),
    ({"kind": "gru_cell", "batch_first": True}, "batch_first is not available for gru_cell"),
    ({"dropout": 0.2}, "dropout acts between layers: it needs num_layers >= 2"),
    ({"init": "identity", "kind": "lstm"}, "init 'identity' (W_hh = I) applies to rnn and rnn_cell only"),
    ({"loss": "char_ce"}, "loss 'char_ce' needs input_source 'text'"),
    ({"input_source": "text"}, "input_size must equal the text's vocabulary size (8 for 'hello world'), got 4"),
])
def test_validation_names_field_value_and_what_is_allowed(changes, message):
    with pytest.raises(SpecError) as info:
        RNNSpec().replace(**changes)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_fields_and_bad_json_are_one_line_errors():
    with pytest.raises(SpecError, match="unknown spec field"):
        RNNSpec.from_dict({"hiden_size": 3})
    with pytest.raises(SpecError, match="not valid JSON"):
        RNNSpec.from_json("{nope")
    with pytest.raises(SpecError, match="unknown spec field"):
        RNNSpec().replace(colour="red")


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(SpecError, match="unknown preset 'nope'; known presets: seed-rnncell, seed-rnn"):
        get_preset("nope")


def test_tutorial_presets_have_the_tutorial_sizes():
    cell, rnn = get_preset("seed-rnncell"), get_preset("seed-rnn")
    assert (cell.kind, cell.batch_size, cell.seq_len, cell.input_size, cell.hidden_size) == ("rnn_cell", 5, 3, 4, 2)
    assert (rnn.kind, rnn.batch_size, rnn.seq_len, rnn.input_size, rnn.hidden_size, rnn.num_layers) == (
        "rnn", 5, 6, 4, 2, 3)
