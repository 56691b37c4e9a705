"""`rnnviz trace`: the tutorial's per-timestep printout, then a table of |h_t| and |dL/dh_t|."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def load_spec(args):
    """The spec named by --spec FILE or --preset NAME (SpecError / OSError with one-line text)."""
    from rnnviz.teaching.presets import get_preset
    from rnnviz.engine.spec import RNNSpec

    if getattr(args, "spec", None):
        path = Path(args.spec)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: cannot read spec file ({exc.__class__.__name__}: {exc})") from None
        try:
            return RNNSpec.from_json(text)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
    return get_preset(args.preset)


def tutorial_blocks(trace) -> list[str]:
    """What the tutorial prints: per-step blocks for a cell, out/h_n sizes for a module."""
    import torch

    lines = []
    if trace.is_cell:
        for t in range(trace.seq_len):
            lines.append(f"{'=' * 30} {t} {'=' * 30}")
            lines.append(f"Input Size: {torch.Size(trace.inputs[t].shape)}")
            lines.append(f"outputs size: {torch.Size(trace.hidden[0, 0, t].shape)}")
            lines.append(str(torch.from_numpy(trace.hidden[0, 0, t])))
    else:
        lines.append(f"Output size: {torch.Size(trace.output.shape)}")
        lines.append(f"Hidden size: {torch.Size(trace.h_n.shape)}")
        if trace.c_n is not None:
            lines.append(f"Cell size: {torch.Size(trace.c_n.shape)}")
    return lines


def norm_table(trace) -> list[str]:
    """One row per timestep: |h_t| and |dL/dh_t| of every layer (and direction)."""
    columns = []
    for layer in range(trace.num_layers):
        for d in range(trace.num_directions):
            tag = f"L{layer}" + ("" if trace.num_directions == 1 else ("<" if d else ">"))
            columns.append((f"|h| {tag}", trace.hidden_norm[layer, d]))
            columns.append((f"|dL/dh| {tag}", trace.grad_norm[layer, d]))
    width = max(12, *(len(name) + 2 for name, _ in columns))
    header = f"{'t':>5}" + "".join(f"{name:>{width}}" for name, _ in columns)
    rows = [header, "-" * len(header)]
    for t in range(trace.seq_len):
        rows.append(f"{t:>5}" + "".join(f"{values[t]:>{width}.4e}" for _, values in columns))
    return rows


def record_with_progress(spec):
    """rnnviz.record(spec), with a progress line on stderr when it takes more than a second."""
    from rnnviz.engine.build import build
    from rnnviz.engine.nonfinite import locate_nonfinite, warn_if_nonfinite
    from rnnviz.engine.record import record_module

    from .progress import ProgressLine

    with ProgressLine("recording") as line:
        line.update("building")
        built = build(spec, progress=line)
        line.update(f"forward and backward over {spec.seq_len} steps")
        trace = record_module(built.module, built.inputs, built.h0, loss=spec.loss, head=built.head,
                              target=built.target, spec=spec)
    warn_if_nonfinite(locate_nonfinite(trace), stacklevel=2)
    return trace


def run(args) -> int:
    from rnnviz.engine.spec import LOSS_DESCRIPTIONS

    from rnnviz.engine.memory import describe_spec, estimate_spec, format_bytes, memory_budget

    spec = load_spec(args)
    print(f"memory: {describe_spec(spec)} needs {estimate_spec(spec).describe()}; "
          f"budget {format_bytes(memory_budget())}", flush=True)
    trace = record_with_progress(spec)
    if trace.spooled:
        from rnnviz.engine.long_record import describe_storage

        print(f"over the budget: {describe_storage(trace.storage)}", flush=True)
    print("\n".join(tutorial_blocks(trace)))
    print()
    print(f"loss ({spec.loss}: {LOSS_DESCRIPTIONS[spec.loss]}) = {trace.loss:.6g}")
    print("Per-timestep norms: |h_t| and the total gradient |dL/dh_t| (Frobenius over batch x hidden)")
    print("\n".join(norm_table(trace)))
    top = trace.grad_norm[-1, 0]
    if trace.seq_len > 1 and np.all(top > 0):
        print(f"top layer: |dL/dh_0| / |dL/dh_{trace.seq_len - 1}| = {top[0] / top[-1]:.3e}")
    if args.output:
        trace.save(args.output)
        print(f"trace written to {args.output}")
    return 0
