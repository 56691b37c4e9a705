"""`SCRIPT.py:FACTORY`: the user's own model, made by their own code, for `rnnviz open` and `rnnviz trace --module`.

The script is imported from its path because the user named it on the command line: running it is
their choice, like `python SCRIPT.py`. Nothing is unpickled. FACTORY() must return
``(model, inputs, loss_fn)``: an nn.Module, its forward's positional arguments (a tuple, or one
tensor), and a callable ``loss_fn(output) -> scalar`` (or None for rnnviz's default loss).
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import torch
from torch import nn

DEFAULT_FACTORY = "factory"


class FactoryError(ValueError):
    """The script or its factory cannot give a model: one line naming what is wrong and what to do."""


def split_spec(spec_string: str) -> tuple[Path, str]:
    """'path/to/script.py:make' -> (path, 'make'); the factory name defaults to `factory`."""
    text = str(spec_string).strip()
    path, sep, name = text.rpartition(":")
    if not sep or not name or "/" in name or "\\" in name or not path:  # no ':NAME' (or a Windows drive only)
        path, name = text, DEFAULT_FACTORY
    if not name.isidentifier():
        raise FactoryError(f"{text}: {name!r} is not a function name; give SCRIPT.py:FACTORY, e.g. examples/seq2seq_factory.py:factory")
    return Path(path), name


def import_script(path: Path):
    """Import the file at `path` as a module, with its folder on sys.path (as `python path` would)."""
    if not path.exists():
        raise FactoryError(f"{path}: no such file; give SCRIPT.py:FACTORY with the path to your script")
    if path.is_dir():
        raise FactoryError(f"{path}: is a folder; give the .py file that defines the factory")
    if path.suffix != ".py":
        raise FactoryError(f"{path}: not a Python file (.py); give SCRIPT.py:FACTORY")
    name = f"rnnviz_user_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise FactoryError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # the script's own imports of its neighbours
    sys.modules[name] = module      # dataclasses and pickling inside the script look themselves up here
    try:
        spec.loader.exec_module(module)
    except SystemExit as exc:
        del sys.modules[name]
        raise FactoryError(f"{path}: the script called sys.exit({exc.code}) while being imported; "
                           "guard its main code with `if __name__ == \"__main__\":`") from None
    except Exception as exc:
        del sys.modules[name]
        raise FactoryError(f"{path}: importing it raised {type(exc).__name__}: {_first_line(exc)}{_where(exc, path)}") from None
    return module


def load_factory(spec_string: str) -> tuple[nn.Module, tuple, object]:
    """Import SCRIPT.py, call FACTORY() and check what it returns: (model, args tuple, loss_fn or None)."""
    path, name = split_spec(spec_string)
    module = import_script(path)
    factory = getattr(module, name, None)
    if factory is None:
        found = sorted(n for n, v in vars(module).items()
                       if callable(v) and not n.startswith("_") and getattr(v, "__module__", None) == module.__name__)
        hint = f"; it defines {', '.join(found)}" if found else ""
        raise FactoryError(f"{path} has no function {name!r}{hint}; give SCRIPT.py:FACTORY")
    if not callable(factory):
        raise FactoryError(f"{path}: {name} is not a function (it is {type(factory).__name__}); give SCRIPT.py:FACTORY")
    try:
        made = factory()
    except Exception as exc:
        raise FactoryError(f"{path}:{name}() raised {type(exc).__name__}: {_first_line(exc)}{_where(exc, path)}") from None
    return check_factory_result(made, f"{path}:{name}()")


def check_factory_result(made, where: str) -> tuple[nn.Module, tuple, object]:
    """(model, inputs, loss_fn) as the factory's contract says, or FactoryError saying what came back."""
    shape = "must return (model, inputs, loss_fn)"
    if not isinstance(made, (tuple, list)):
        raise FactoryError(f"{where} {shape}, got {type(made).__name__}")
    if len(made) != 3:
        raise FactoryError(f"{where} {shape}, got a {type(made).__name__} of {len(made)}")
    model, inputs, loss_fn = made
    if not isinstance(model, nn.Module):
        raise FactoryError(f"{where} {shape}: model must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(inputs, torch.Tensor):
        args = (inputs,)
    elif isinstance(inputs, (tuple, list)):
        args = tuple(inputs)
    else:
        raise FactoryError(f"{where} {shape}: inputs must be a tensor or a tuple of forward's arguments, "
                           f"got {type(inputs).__name__}")
    if not args:
        raise FactoryError(f"{where} {shape}: inputs is empty; give the arguments of {type(model).__name__}.forward")
    if loss_fn is not None and not callable(loss_fn):
        raise FactoryError(f"{where} {shape}: loss_fn must be callable (output -> scalar loss) or None, "
                           f"got {type(loss_fn).__name__}")
    return model, args, loss_fn


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"


def _where(exc: BaseException, path: Path) -> str:
    """' (line N)' of the deepest frame in the user's script, so they know where to look."""
    line = None
    tb = exc.__traceback__
    target = str(path.resolve())
    while tb is not None:
        if str(Path(tb.tb_frame.f_code.co_filename).resolve()) == target:
            line = tb.tb_lineno
        tb = tb.tb_next
    if line is None and isinstance(exc, SyntaxError) and exc.lineno:
        line = exc.lineno
    return f" (line {line})" if line else ""
