"""Finding the recurrent parts of a user's model, and the messages that name them."""
from __future__ import annotations

from torch import nn

SEQUENCE_TYPES = (nn.RNN, nn.GRU, nn.LSTM)
CELL_TYPES = (nn.RNNCell, nn.GRUCell, nn.LSTMCell)


def is_recurrent(module: nn.Module) -> bool:
    return isinstance(module, SEQUENCE_TYPES + CELL_TYPES)


def recurrent_parts(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(path, module) of every nn.RNN/GRU/LSTM and RNNCell/GRUCell/LSTMCell inside `model`, in order.

    A recurrent module's own children are not searched: it is one part. The root itself counts
    with the path "" only when it is recurrent.
    """
    found, skip = [], []
    for path, module in model.named_modules():
        if any(path.startswith(prefix + ".") for prefix in skip):
            continue
        if is_recurrent(module):
            found.append((path, module))
            skip.append(path)
    return found


def describe(module: nn.Module) -> str:
    """'LSTM, 2 layers, bidirectional' / 'GRUCell': the configuration in a few words."""
    name = type(module).__name__
    if isinstance(module, CELL_TYPES):
        return name
    words = [name, f"{module.num_layers} layer" + ("s" if module.num_layers != 1 else "")]
    if module.bidirectional:
        words.append("bidirectional")
    if getattr(module, "proj_size", 0):
        words.append(f"proj_size {module.proj_size}")
    return ", ".join(words)


def parts_phrase(parts: list[tuple[str, nn.Module]]) -> str:
    return ", ".join(f"{path} ({describe(module)})" for path, module in parts)


def not_recurrent_message(model: nn.Module, parts: list[tuple[str, nn.Module]], call: str = "model, inputs...") -> str:
    """The one-line refusal for a whole model passed the old way, naming the call that works."""
    name = type(model).__name__
    if not parts:
        return (f"{name} is not a recurrent module and contains no nn.RNN/GRU/LSTM or RNNCell/GRUCell/LSTMCell: "
                f"nothing to record; a module stepped one timestep per call as forward(input, hidden) -> "
                f"(output, hidden) is recorded with rnnviz.record(model, inputs, h0) or "
                f"rnnviz.record(model, inputs, h0, step=lambda x_t, h: model(..., x_t, h))")
    first = parts[0][0]
    return (f"{name} is not a recurrent module; it contains {parts_phrase(parts)}: use "
            f"rnnviz.record({call}, loss_fn=...) to record the whole model, or rnnviz.record(model.{first}, ...)")


def no_parts_ran_message(model: nn.Module, parts: list[tuple[str, nn.Module]]) -> str:
    name = type(model).__name__
    if not parts:
        return (f"{name} contains no nn.RNN/GRU/LSTM or RNNCell/GRUCell/LSTMCell: nothing to record")
    return f"{name}'s forward called none of its recurrent parts ({parts_phrase(parts)}): nothing was recorded"
