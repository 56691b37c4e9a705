"""The real configuration of one recorded recurrent part, as (label, value) text rows for the window.

Read from the module itself when it is at hand (the user's live model), else from the trace (a
loaded file): its spec when it was built from one, its arrays' shapes, dtype and parameter names.
Plain attribute reads and numpy only: callable from the GUI thread, no torch import.
"""
from __future__ import annotations

KIND_NAMES = {"rnn": "RNN", "gru": "GRU", "lstm": "LSTM", "custom": "custom module"}


def _yes_no(value) -> str:
    return "—" if value is None else ("yes" if value else "no")


def _bias_of(trace) -> bool | None:
    names = list(getattr(trace, "param_grads", None) or {})
    if trace.kind == "custom" or not names:
        return None
    return any(name.startswith("bias_") for name in names)


def _input_size(trace) -> int | None:
    inputs = getattr(trace, "inputs", None)
    shape = getattr(inputs, "shape", ())
    return int(shape[-1]) if len(shape) >= 1 else None


def _mode(training, dropout) -> str:
    """'train (dropout 0.2 applied between layers)', 'eval', or '—' when unknown."""
    if training is None:
        return "—"
    if not training:
        return "eval" + (f" (dropout {dropout:g} off)" if dropout else "")
    return "train" + (f" (dropout {dropout:g} applied between layers)" if dropout else "")


def part_config(trace, module=None, path: str | None = None) -> list[tuple[str, str]]:
    """Rows describing `trace`'s recurrent part: module path, kind, sizes, layers, directions, layout,
    bias, nonlinearity, dropout and mode, dtype, device, T, B."""
    L, D, T, B, H = trace.hidden.shape
    spec = getattr(trace, "spec", None)
    path = path if path is not None else getattr(trace, "module_path", None)
    kind = KIND_NAMES.get(trace.kind, trace.kind) + (" cell" if trace.is_cell and trace.kind != "custom" else "")
    input_size, bias, batch_first = _input_size(trace), _bias_of(trace), trace.batch_first
    dropout, training, proj_size, nonlinearity, hidden_size = None, None, 0, trace.nonlinearity, H
    type_name = type(module).__name__ if module is not None else None
    saved = getattr(trace, "config", None) or {}   # the part's own configuration, kept in the trace file
    if saved:
        type_name = saved.get("type", type_name)
        input_size, bias = saved.get("input_size", input_size), saved.get("bias", bias)
        hidden_size = saved.get("hidden_size", hidden_size)
        batch_first, dropout = saved.get("batch_first", batch_first), saved.get("dropout", dropout)
        proj_size, nonlinearity = saved.get("proj_size", 0) or 0, saved.get("nonlinearity", nonlinearity)
        training = bool(getattr(trace, "train_mode", False))
    elif spec is not None:
        input_size, bias, batch_first, dropout = spec.input_size, spec.bias, spec.batch_first, spec.dropout
        training = False  # the window builds presets in eval mode
    if module is not None:
        input_size = getattr(module, "input_size", input_size)
        hidden_size = getattr(module, "hidden_size", hidden_size)
        bias = getattr(module, "bias", bias)
        batch_first = getattr(module, "batch_first", batch_first)
        dropout = getattr(module, "dropout", dropout)
        training = getattr(trace, "train_mode", None) if saved else getattr(module, "training", training)
        proj_size = getattr(module, "proj_size", 0) or 0
        nonlinearity = getattr(module, "nonlinearity", nonlinearity)
    rows = [("part", path or "—")]
    if type_name:
        rows.append(("module", type_name))
    rows += [
        ("kind", kind),
        ("input_size", "—" if input_size is None else str(input_size)),
        ("hidden_size", str(hidden_size)),
    ]
    if proj_size:
        rows.append(("proj_size", f"{proj_size} (h_t has {proj_size} features)"))
    rows += [
        ("num_layers", str(L)),
        ("directions", "2 (bidirectional)" if D == 2 else "1"),
        ("batch_first", _yes_no(batch_first) if not trace.is_cell else "— (a cell takes one step)"),
        ("bias", _yes_no(bias)),
    ]
    if trace.kind == "rnn":
        rows.append(("nonlinearity", str(nonlinearity)))
    rows += [
        ("dropout", "—" if dropout is None else f"{float(dropout):g}"),
        ("mode", _mode(training, float(dropout or 0.0) if L > 1 else 0.0)),
        ("dtype", str(trace.hidden.dtype)),
        ("device", str(getattr(trace, "device", "cpu"))),
        ("T (timesteps)", str(T)),
        ("B (batch)", str(B)),
    ]
    loss = getattr(trace, "loss", float("nan"))
    loss_name = getattr(trace, "loss_name", "")
    rows.append(("loss", (f"{loss:.6g}" if loss == loss else "—") + (f" ({loss_name})" if loss_name else "")))
    notes = getattr(trace, "notes", None) or []
    if notes:
        rows.append(("note", "; ".join(str(n) for n in notes)))
    if spec is not None:
        rows.append(("built from", f"spec: seed {spec.seed}, init {spec.init}, input {spec.input_source}"))
    return rows


def part_summary(trace, module=None) -> str:
    """'LSTM 2 layers, H=16' for the part picker."""
    L, D, _T, _B, H = trace.hidden.shape
    saved = (getattr(trace, "config", None) or {}).get("type")
    name = type(module).__name__ if module is not None else saved or KIND_NAMES.get(trace.kind, trace.kind)
    layers = f" {L} layers" if L > 1 else ""
    both = " bidirectional" if D == 2 else ""
    return f"{name}{layers}{both}, H={H}"
