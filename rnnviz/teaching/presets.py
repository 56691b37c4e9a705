"""Named specs for the tutorial, the lessons and the debugger's default."""
from __future__ import annotations

from ..engine.spec import RNNSpec, SpecError

DEFAULT_PRESET = "seed-rnn"

PRESETS: dict[str, RNNSpec] = {
    "seed-rnncell": RNNSpec(
        kind="rnn_cell", input_size=4, hidden_size=2, seq_len=3, batch_size=5,
        description="The tutorial's nn.RNNCell(4, 2): 3 timesteps of a (5, 4) batch, one cell step each",
    ),
    "seed-rnn": RNNSpec(
        kind="rnn", input_size=4, hidden_size=2, num_layers=3, seq_len=6, batch_size=5,
        description="The tutorial's nn.RNN(4, 2, num_layers=3) on a (6, 5, 4) input: out vs h_n",
    ),
    "batch-first": RNNSpec(
        kind="rnn", input_size=4, hidden_size=2, num_layers=3, seq_len=6, batch_size=5, batch_first=True,
        description="seed-rnn with batch_first=True: input and out swap seq and batch, h_n does not",
    ),
    # Orthogonal W_hh scaled to 0.6 has every singular value 0.6, so Pascanu's sufficient
    # condition (sigma_max < 1) holds exactly as the lesson states it. A Gaussian W_hh scaled to
    # radius 0.6 has sigma_max ~ 1.1: it vanishes too, but the condition would not explain why.
    "vanishing-tanh": RNNSpec(
        kind="rnn", input_size=4, hidden_size=32, seq_len=40, batch_size=4, loss="last",
        init="orthogonal", whh_scale=0.6,
        description="tanh RNN, W_hh = 0.6 x orthogonal (sigma_max 0.6), loss on the last step: |dL/dh_t| shrinks towards t=0",
    ),
    # W_hh = 1.3 I (Le et al.'s IRNN, scaled): units that start active stay active (phi' = 1),
    # so each step back multiplies dL/dh by 1.3: 1.3^39 ~ 3e4, for every seed tried. An
    # orthogonal W_hh at 1.5 grew 0.4x..2e5x depending on the seed (dying relu units).
    "exploding-relu": RNNSpec(
        kind="rnn", input_size=4, hidden_size=32, seq_len=40, batch_size=4, loss="last",
        nonlinearity="relu", init="identity", whh_scale=1.3,
        description="relu RNN, W_hh = 1.3 I, loss on the last step: |dL/dh_t| grows 1.3x per step towards t=0",
    ),
    # Same input as vanishing-tanh (seed, T, B, I). The forget-gate bias of 2 (f_t ~ 0.88) is
    # what keeps the cell path open: with torch's default (f_t ~ 0.5) dL/dh_0 was only 6-80x
    # the RNN's; with 2 it is ~1e8x (Gers et al. 2000, Jozefowicz et al. 2015 use >= 1).
    "lstm-memory": RNNSpec(
        kind="lstm", input_size=4, hidden_size=32, seq_len=40, batch_size=4, loss="last", forget_bias=2.0,
        description="vanishing-tanh's sequence on an LSTM, forget-gate bias 2: the gradient at h_0 stays alive",
    ),
    "char-hello": RNNSpec(
        kind="rnn", input_size=8, hidden_size=16, output_size=8, seq_len=10, batch_size=1,
        input_source="text", text="hello world", loss="char_ce",
        description="One-hot characters of 'hello world', a Linear head, next-character cross-entropy",
    ),
}


def preset_names() -> list[str]:
    return list(PRESETS)


def get_preset(name: str) -> RNNSpec:
    """The preset's spec; SpecError naming the known presets when `name` is unknown."""
    try:
        return PRESETS[name]
    except KeyError:
        raise SpecError(f"unknown preset {name!r}; known presets: {', '.join(PRESETS)}") from None
