"""`rnnviz presets`: one line per preset."""
from __future__ import annotations


def describe(spec) -> str:
    layers = "" if spec.is_cell else f" x{spec.num_layers}"
    bidir = " bidirectional" if spec.bidirectional else ""
    return (f"{spec.kind}{layers}{bidir} (seq {spec.seq_len}, batch {spec.batch_size}, input {spec.input_size}, "
            f"hidden {spec.hidden_size}) loss={spec.loss}")


def run(args) -> int:
    from rnnviz.teaching.presets import PRESETS

    width = max(len(name) for name in PRESETS)
    for name, spec in PRESETS.items():
        print(f"{name:<{width}}  {describe(spec)}: {spec.description}")
    return 0
