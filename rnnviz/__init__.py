"""rnnviz: a debugger for recurrent networks. Step through time; see shapes, activations and gradients.

Importing rnnviz imports neither Qt nor torch: the public names load on first use.
"""
from __future__ import annotations

from rnnviz.version import __version__

__all__ = ["record", "watch", "ModelRecording", "load_recording", "load_trace", "RNNSpec", "Runner", "Trace", "show",
           "__version__"]

_LAZY = {
    "record": ("rnnviz.engine.record", "record"),
    "watch": ("rnnviz.engine.watch", "watch"),
    "ModelRecording": ("rnnviz.engine.model_record", "ModelRecording"),
    "load_recording": ("rnnviz.engine.recording_file", "load_recording"),
    "load_trace": ("rnnviz.engine.trace", "load_trace"),
    "Trace": ("rnnviz.engine.trace", "Trace"),
    "RNNSpec": ("rnnviz.engine.spec", "RNNSpec"),
    "Runner": ("rnnviz.engine.runner", "Runner"),
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module_name, attr = _LAZY[name]
        value = getattr(importlib.import_module(module_name), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rnnviz' has no attribute {name!r}")


def show(model=None, *args, loss_fn=None, **kwargs) -> int:
    """Open the debugger window (blocks until it closes) on a preset name, an RNNSpec, a Trace, or your
    own torch module: ``rnnviz.show(model, *inputs, loss_fn=lambda out: ...)`` records
    ``model(*inputs)`` and the loss once, then steps forward and backward through each recurrent part."""
    from rnnviz.gui.launch import show as _show

    return _show(model, *args, loss_fn=loss_fn, **kwargs)
