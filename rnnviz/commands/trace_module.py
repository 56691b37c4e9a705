"""`rnnviz trace --module path/to/script.py:factory -o run.npz`: record a user's own model headless.

factory() returns (model, inputs, loss_fn): inputs a tuple of forward arguments or a single
tensor. The script is the user's own code, imported by their choice from its file path; data
files are never unpickled here. -o writes one .npz holding every recurrent part
(rnnviz.load_recording reads it; see rnnviz/engine/recording_file.py).
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def load_factory(target: str):
    """The callable named by 'path/to/script.py:factory' (ValueError with one line on any problem)."""
    script, sep, attr = target.rpartition(":")
    if not sep or not script or not attr:
        raise ValueError(f"--module {target!r}: expected path/to/script.py:factory")
    path = Path(script)
    if not path.is_file():
        raise ValueError(f"--module {target!r}: no such file {script}")
    module_name = f"rnnviz_user_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ValueError(f"--module {target!r}: {script} cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent.resolve()))   # the script's own sibling imports work
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise ValueError(f"--module {target!r}: importing {script} failed ({type(exc).__name__}: {exc})") from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ValueError(f"--module {target!r}: {script} has no callable {attr!r}")
    return factory


def record_factory(target: str) -> dict:
    """Run the factory and record its model: {part name: Trace}."""
    import torch

    from rnnviz.engine.model_record import record_parts

    made = load_factory(target)()
    if not (isinstance(made, (tuple, list)) and len(made) == 3):
        raise ValueError(f"--module {target!r}: the factory must return (model, inputs, loss_fn), "
                         f"got {type(made).__name__}")
    model, inputs, loss_fn = made
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"--module {target!r}: the factory's model must be a torch nn.Module, got {type(model).__name__}")
    args = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    return record_parts(model, *args, loss_fn=loss_fn)


def run(args) -> int:
    from rnnviz.commands.trace import norm_table
    from rnnviz.engine.recording_file import save_recording

    traces = record_factory(args.module)
    for name, trace in traces.items():
        config = ", ".join(f"{k}={v}" for k, v in trace.config.items())
        print(f"== {name}: {config}")
        print(f"loss = {trace.loss:.6g}; {trace.seq_len} timesteps, batch {trace.batch_size}"
              + (", train mode" if trace.train_mode else ""))
        for note in trace.notes:
            print(f"note: {note}")
        print("\n".join(norm_table(trace)))
        print()
    if args.output:
        save_recording(traces, args.output)
        print(f"recording of {len(traces)} part(s) ({', '.join(traces)}) written to {args.output}")
    return 0
