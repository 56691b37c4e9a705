"""rnnviz: a debugger for recurrent networks. Step through time; see shapes, activations and gradients.

Importing rnnviz imports neither Qt nor torch: the public names load on first use.
"""
from __future__ import annotations

from rnnviz.version import __version__

__all__ = ["record", "load_trace", "RNNSpec", "Runner", "Trace", "show", "__version__"]

_LAZY = {
    "record": ("rnnviz.engine.record", "record"),
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


def show(target=None) -> int:
    """Open the debugger window on a preset name, an RNNSpec or a Trace (blocks until it closes)."""
    from rnnviz.gui.launch import show as _show

    return _show(target)
