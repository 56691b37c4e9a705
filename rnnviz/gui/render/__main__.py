"""Regenerate the README's screenshots: `python -m rnnviz.gui.render assets` (`make screenshots`)."""
from __future__ import annotations

import sys
from pathlib import Path

# (file, preset, --at, caption): every picture the README shows, rendered from the real window.
SHOTS = [
    ("debugger-seed-rnn.png", "seed-rnn", "backward:2", "nn.RNN(4, 2, num_layers=3) half-way back through time"),
    ("debugger-seed-rnncell.png", "seed-rnncell", "forward:1", "nn.RNNCell(4, 2): the cell equation with every shape"),
    ("vanishing-gradient.png", "vanishing-tanh", "end", "tanh RNN: ‖dL/dh_t‖ falls by orders of magnitude towards t=0"),
    ("lstm-memory.png", "lstm-memory", "end", "the same sequence on an LSTM: the gradient at h_0 stays alive"),
    ("batch-first.png", "batch-first", "forward:2", "batch_first=True: input and out swap seq and batch, h_n does not"),
]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    folder = Path(argv[0] if argv else "assets")
    folder.mkdir(parents=True, exist_ok=True)
    from ..headless import render_offscreen_without_display

    render_offscreen_without_display()
    from .capture import render

    for name, preset, at, caption in SHOTS:
        render(preset, folder / name, (1600, 1000), at)
        print(f"wrote {folder / name}: {caption}")
    from .own_model import render_own_model  # the window on a user's own model

    print(f"wrote {render_own_model(folder / 'own-model.png')}: examples/seq2seq_factory.py, its decoder part")
    from .debugger import save_all as save_debugger  # gates, breakpoints, proof, what-if, ...

    for path in save_debugger(folder):
        print(f"wrote {path}")
    from .views import save_all  # the training, presentation, spectral and compare views

    for path in save_all(folder):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
