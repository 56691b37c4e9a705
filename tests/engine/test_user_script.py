"""SCRIPT.py:FACTORY, shared by `rnnviz open` and `rnnviz trace --module`: the user's script imported by
its path, FACTORY() called, and every way it can go wrong named in one line."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rnnviz.engine.user_script import FactoryError, load_factory, split_spec

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_factory_gives_a_model_its_inputs_and_a_loss_that_backpropagates():
    model, args, loss_fn = load_factory(f"{ROOT / 'examples' / 'seq2seq_factory.py'}:factory")
    assert type(model).__name__ == "Seq2Seq" and model.training
    assert [tuple(a.shape) for a in args] == [(3, 7), (5, 3)]
    loss = loss_fn(model(*args))
    assert loss.dim() == 0
    loss.backward()
    assert model.encoder.weight_hh_l0_reverse.grad.abs().sum() > 0  # the loss reaches both parts
    assert model.decoder.weight_hh_l1.grad.abs().sum() > 0


def test_a_single_tensor_is_one_argument_and_the_factory_name_defaults(tmp_path):
    (tmp_path / "neighbour.py").write_text("SIZE = 3\n")
    (tmp_path / "lm.py").write_text(
        "import torch\nfrom neighbour import SIZE\n"  # the script's own imports of its folder work
        "def factory():\n    return torch.nn.GRU(SIZE, 2), torch.zeros(4, 1, SIZE), None\n")
    model, args, loss_fn = load_factory(str(tmp_path / "lm.py"))
    assert isinstance(model, torch.nn.GRU) and len(args) == 1 and args[0].shape == (4, 1, 3) and loss_fn is None


def test_split_spec():
    assert split_spec("a/b.py:make") == (Path("a/b.py"), "make")
    assert split_spec("a/b.py") == (Path("a/b.py"), "factory")
    assert split_spec("C:\\work\\b.py") == (Path("C:\\work\\b.py"), "factory")


SCRIPTS = {
    "no_factory.py": "def make():\n    pass\n\nclass Net:\n    pass\n",
    "raises.py": "def factory():\n    x = 1\n    raise ValueError('no data folder ./data')\n",
    "pair.py": "import torch\ndef factory():\n    return torch.nn.GRU(2, 2), torch.zeros(3, 1, 2)\n",
    "not_module.py": "def factory():\n    return 'gru', (), None\n",
    "bad_inputs.py": "import torch\ndef factory():\n    return torch.nn.GRU(2, 2), 3, None\n",
    "empty_inputs.py": "import torch\ndef factory():\n    return torch.nn.GRU(2, 2), (), None\n",
    "bad_loss.py": "import torch\ndef factory():\n    return torch.nn.GRU(2, 2), torch.zeros(3, 1, 2), 'nll'\n",
    "import_error.py": "import torch\nfrom torch import nope\n",
    "exits.py": "import sys\nsys.exit(3)\n",
    "syntax.py": "def factory(:\n",
    "constant.py": "factory = 3\n",
}


@pytest.mark.parametrize("spec, expected", [
    ("missing.py:factory", "missing.py: no such file; give SCRIPT.py:FACTORY with the path to your script"),
    ("no_factory.py:factory", "no_factory.py has no function 'factory'; it defines Net, make; give SCRIPT.py:FACTORY"),
    ("raises.py:factory", "raises.py:factory() raised ValueError: no data folder ./data (line 3)"),
    ("pair.py", "pair.py:factory() must return (model, inputs, loss_fn), got a tuple of 2"),
    ("not_module.py:factory", "model must be a torch.nn.Module, got str"),
    ("bad_inputs.py:factory", "inputs must be a tensor or a tuple of forward's arguments, got int"),
    ("empty_inputs.py:factory", "inputs is empty; give the arguments of GRU.forward"),
    ("bad_loss.py:factory", "loss_fn must be callable (output -> scalar loss) or None, got str"),
    ("import_error.py:factory", "import_error.py: importing it raised ImportError: cannot import name 'nope'"),
    ("exits.py:factory", "the script called sys.exit(3) while being imported"),
    ("syntax.py:factory", "importing it raised SyntaxError"),
    ("constant.py:factory", "constant.py: factory is not a function (it is int)"),
    ("notes.txt:factory", "notes.txt: not a Python file (.py)"),
    (".:factory", ".: is a folder"),
    ("pair.py:9lives", "'9lives' is not a function name"),
])
def test_every_factory_error_is_one_line_naming_the_problem(tmp_path, monkeypatch, spec, expected):
    for name, text in SCRIPTS.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "notes.txt").write_text("hello")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FactoryError) as caught:
        load_factory(spec)
    message = str(caught.value)
    assert len(message.splitlines()) == 1
    assert expected in message
