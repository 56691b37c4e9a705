"""The window on the user's own model: record it once off the GUI thread, then step through each
recurrent part's finished trace (a ReplayRunner), one part at a time, picked in the Network dock.

Torch work (the recording, reading the parts' modules) runs inside Session jobs; this module itself
never imports torch.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..engine.replay import ReplayRunner


@dataclass
class OpenedModel:
    """One recording of the user's model: per recurrent part (keyed by module path) its trace, its
    module (for the tensor table's weights; None when unknown) and its configuration rows."""

    name: str
    traces: dict
    modules: dict
    configs: dict = field(default_factory=dict)
    summaries: dict = field(default_factory=dict)
    source: str = ""        # the file it was read from; "" for the live model

    @property
    def paths(self) -> list[str]:
        return list(self.traces)


def is_torch_module(obj) -> bool:
    """True for a torch.nn.Module (torch is loaded whenever the user holds one: no import here)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


def record_parts(model, args: tuple, kwargs: dict, loss_fn) -> dict:
    """The engine's whole-model recording as {module path: Trace} (worker thread)."""
    from rnnviz.engine.record import record_parts as engine_record_parts

    return engine_record_parts(model, *args, loss_fn=loss_fn, **kwargs)


def _part_module(model, path: str, only_part: bool):
    """The part's module inside `model` (the model itself when it is the only part and has no such path).
    A part called twice in one forward is keyed 'rnn#2': the same module."""
    try:
        return model.get_submodule(re.sub(r"#\d+$", "", path))
    except AttributeError:
        return model if only_part else None


def describe(name: str, traces: dict, modules: dict, source: str = "") -> OpenedModel:
    """Configuration rows and picker summaries of every part (reads module attributes: worker thread)."""
    from rnnviz.engine.part_config import part_config, part_summary

    opened = OpenedModel(name, traces, modules, source=source)
    for path, trace in traces.items():
        opened.configs[path] = part_config(trace, modules.get(path), path)
        opened.summaries[path] = part_summary(trace, modules.get(path))
    return opened


def record_model(model, args: tuple, kwargs: dict, loss_fn) -> OpenedModel:
    """Record every recurrent part of `model` under its own forward and loss (worker thread)."""
    traces = record_parts(model, args, kwargs, loss_fn)
    name = type(model).__name__
    if not traces:
        raise ValueError(f"{name} ran no recurrent part (nn.RNN/GRU/LSTM or their cells) in forward: "
                         "nothing to step through; check the inputs reach the recurrent layers")
    modules = {path: _part_module(model, path, len(traces) == 1) for path in traces}
    return describe(name, traces, modules)


def carried_position(position: int, num_forward: int, total: int, new_forward: int, new_total: int) -> int:
    """The same point of the pass in another part: as far through the same phase (start, end of the
    forward pass and end stay exactly that)."""
    if position <= num_forward:
        return round(position / num_forward * new_forward) if num_forward else 0
    backward = total - num_forward
    done = (position - num_forward) / backward if backward else 1.0
    return new_forward + round(done * (new_total - new_forward))


def initial_state(trace):
    """(h0, c0) as the tensor table takes them ([layer][direction] -> (B, H); c0 None unless an LSTM),
    from the trace's own (L*D, B, H) arrays, for H_{t-1} and C_{t-1} at the first step; None when the
    trace does not keep them."""
    h0, c0 = trace.h0, trace.c0
    if h0 is None:
        return None
    L, D = trace.hidden.shape[:2]

    def per_layer(state):
        return None if state is None else state.reshape(L, D, *state.shape[1:])

    return per_layer(h0), per_layer(c0)


def part_runner(opened: OpenedModel, path: str | None = None, position_from: tuple | None = None) -> ReplayRunner:
    """A runner over one part's trace (the first part by default), tagged with the recording and the
    part; at the point of the pass `position_from` = (position, num_forward, total) of the part shown
    before, or at 0."""
    path = opened.paths[0] if path is None else path
    trace = opened.traces[path]
    runner = ReplayRunner(trace, module=opened.modules.get(path))
    runner.initial_states = initial_state(trace)
    runner.own_model, runner.part_path = opened, path
    if position_from is not None:
        runner.seek(carried_position(*position_from, runner.num_forward, len(runner.schedule)))
    return runner


def open_model(window, model, args: tuple = (), kwargs: dict | None = None, loss_fn=None) -> None:
    """Record `model(*args, **kwargs)` and `loss_fn(output)` in the worker, then show its first part.
    A failure is one line in Messages; what the window showed before stays."""
    kwargs = dict(kwargs or {})
    window.log(f"recording {type(model).__name__} (forward, loss and backward, once)…")
    window.session.open_runner(lambda: part_runner(record_model(model, tuple(args), kwargs, loss_fn)), None)


def open_parts(window, name: str, traces: dict, modules: dict | None = None) -> None:
    """Show already recorded parts ({module path: Trace}) as the user's model `name`."""
    modules = dict(modules or {})
    window.session.open_runner(lambda: part_runner(describe(name, dict(traces), modules)), None)


def choose_part(window, opened: OpenedModel, path: str) -> None:
    """Switch the panels to part `path` of the same recording (the user's model or a file), at the
    same point of the pass."""
    runner = window.session.runner
    where = None
    if runner is not None:
        where = (runner.position, runner.num_forward, len(runner.schedule))
    window.session.open_runner(lambda: part_runner(opened, path, where), None, read_only=bool(opened.source))


def load_parts(path) -> dict:
    """{part: Trace} of a recording file (several parts) or of a single-trace file."""
    from rnnviz.engine.recording_file import load_recording

    return load_recording(path)


def open_file_parts(window, parts: dict, source: str) -> None:
    """Browse the parts read from `source`, read-only: one trace as a trace file, several as a
    recording with a part picker (the user's model's own way, from the file)."""
    if len(parts) == 1:
        window.open_trace(next(iter(parts.values())), source)
        return
    opened = describe(Path(source).name, dict(parts), {}, source)
    window.session.open_runner(lambda: part_runner(opened), None, read_only=True)
