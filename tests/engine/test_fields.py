"""The field tables: validation reads them, every error names its field, nothing is clamped silently."""
from __future__ import annotations

import dataclasses

import pytest

from rnnviz.engine.spec import FIELDS, KINDS, RNNSpec, SpecError
from rnnviz.train.config import TRAIN_FIELDS, TrainConfig, TrainConfigError


def test_the_table_covers_every_spec_and_training_field():
    assert [f.name for f in FIELDS] == [f.name for f in dataclasses.fields(RNNSpec) if f.name != "description"]
    assert [f.name for f in TRAIN_FIELDS] == [f.name for f in dataclasses.fields(TrainConfig)]


@pytest.mark.parametrize("field", [f for f in FIELDS if f.kinds], ids=lambda f: f.name)
def test_a_field_set_for_a_kind_it_does_not_apply_to_is_named(field):
    changed = {"num_layers": 2, "nonlinearity": "relu", "batch_first": True, "bidirectional": True,
               "dropout": 0.5, "forget_bias": 1.0}[field.name]
    for kind in KINDS:
        if field.applies_to(kind):
            continue
        with pytest.raises(SpecError) as caught:
            RNNSpec(kind=kind, **{field.name: changed})
        assert caught.value.field == field.name


@pytest.mark.parametrize("changes, field", [
    ({"hidden_size": 0}, "hidden_size"), ({"hidden_size": True}, "hidden_size"), ({"kind": "transformer"}, "kind"),
    ({"dropout": 1.0, "num_layers": 2}, "dropout"), ({"whh_scale": -1.0}, "whh_scale"),
    ({"device": "tpu"}, "device"), ({"loss": "char_ce"}, "input_source"),
    ({"input_source": "text", "text": "hello world"}, "input_size"), ({"input_source": "text", "text": "hello"}, "seq_len"),
    ({"init": "identity", "kind": "gru"}, "init"),
])
def test_spec_errors_name_the_field(changes, field):
    with pytest.raises(SpecError) as caught:
        RNNSpec(**changes)
    assert caught.value.field == field


def test_messages_still_say_what_is_allowed():
    with pytest.raises(SpecError, match=r"^dropout must be >= 0 and < 1, got 1.5$"):
        RNNSpec(num_layers=2, dropout=1.5)
    with pytest.raises(SpecError, match=r"^num_layers must be between 1 and 16, got 17$"):
        RNNSpec(num_layers=17)
    with pytest.raises(SpecError, match=r"^init_sigma must be > 0, got 0.0$"):
        RNNSpec(init_sigma=0.0)


def test_train_config_is_frozen_and_never_clamped():
    config = TrainConfig(text="hello", seq_length=4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seq_length = 2
    with pytest.raises(TrainConfigError, match="seq_length must be at most len") as caught:
        TrainConfig(text="hello", seq_length=5)
    assert caught.value.field == "seq_length"


@pytest.mark.parametrize("changes, field", [
    ({"epochs": 0}, "epochs"), ({"lr": 0.0}, "lr"), ({"clip": float("nan")}, "clip"), ({"model": "xl"}, "model"),
    ({"optimizer": "rmsprop"}, "optimizer"), ({"seed": -1}, "seed"), ({"text": "a"}, "text"),
])
def test_train_config_errors_name_the_field(changes, field):
    with pytest.raises(TrainConfigError) as caught:
        TrainConfig(**changes)
    assert caught.value.field == field and isinstance(caught.value, ValueError)
