"""`rnnviz trace --module path/to/script.py:factory -o run.npz`: record a user's own model headless.

factory() returns (model, inputs, loss_fn): inputs a tuple of forward arguments or a single
tensor. The script is the user's own code, imported by their choice from its file path; data
files are never unpickled here. -o writes one .npz holding every recurrent part
(rnnviz.load_recording reads it; see rnnviz/engine/recording_file.py).
"""
from __future__ import annotations


def record_factory(target: str) -> dict:
    """Run the factory named by 'path/to/script.py:factory' and record its model: {part name: Trace}."""
    from rnnviz.engine.record import record_parts
    from rnnviz.engine.user_script import load_factory

    model, args, loss_fn = load_factory(target)
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
