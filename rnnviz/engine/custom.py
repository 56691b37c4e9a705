"""Recording any module with the tutorial's cell signature ``forward(input, hidden) -> (output, hidden)``.

Or any step callable ``step(x_t, hidden) -> (output, hidden)``, e.g. an adapter for a forward
with extra arguments: ``step=lambda x_t, h: model(category, x_t, h)``.
"""
from __future__ import annotations

import numpy as np
import torch

from .build import compute_loss
from .cells import saturation as cell_saturation
from .operands import Operand
from .trace import Trace


def _state_tensor(hidden) -> torch.Tensor:
    """The hidden state tensor of a step's result: the first tensor, depth first ((h, c), nested tuples)."""
    while isinstance(hidden, (tuple, list)) and hidden:
        hidden = hidden[0]
    if not isinstance(hidden, torch.Tensor):
        raise ValueError(f"the hidden state must be a tensor or a (nested) tuple of tensors, got {type(hidden).__name__}")
    return hidden


def _as_rows(state: torch.Tensor) -> torch.Tensor:
    """A state as (rows, H): (B, H) as is, (1, B, H) or (1, 1, H) flattened over its leading axes."""
    return state if state.dim() == 2 else state.reshape(-1, state.shape[-1])


def record_custom(module, inputs, h0=None, *, loss: str = "sum", target=None, loss_fn=None, head=None,
                  step=None) -> Trace:
    """Step `module` (or `step`) over inputs along their first axis, one call per timestep, and read dL/dh_t.

    The loss is loss_fn(y[, target]) with y = head(outputs) or the stacked outputs (T, ...);
    without loss_fn a 0-d y is the loss, else the named `loss` on y.
    """
    name = type(module).__name__
    if step is None:
        step = module
        if not isinstance(inputs, torch.Tensor) or inputs.dim() != 3:
            shape = tuple(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
            raise ValueError(f"Expected input of size (seq, batch, feature) for a cell-signature module, got {shape}: "
                             f"{name} contains no nn.RNN/GRU/LSTM or cell, so rnnviz steps it one timestep per call "
                             f"as forward(input, hidden) -> (output, hidden)")
    elif not callable(step):
        raise TypeError(f"step must be callable (x_t, hidden) -> (output, hidden), got {type(step).__name__}")
    if not isinstance(inputs, torch.Tensor) or inputs.dim() == 0:
        raise ValueError(f"inputs must be a tensor whose first axis is time, got {type(inputs).__name__}")
    T = inputs.shape[0]
    B = inputs.shape[1] if inputs.dim() > 1 else 1
    hidden = h0
    if hidden is None:
        if not hasattr(module, "init_hidden"):
            raise ValueError(f"{name} has no init_hidden(batch): pass h0 to record()")
        hidden = module.init_hidden(B)
    named = list(module.named_parameters())
    differentiable = inputs.is_floating_point()
    with torch.enable_grad():
        x = inputs.detach().requires_grad_(True) if differentiable else inputs
        outputs, states = [], []
        for t in range(T):
            try:
                result = step(x[t], hidden)
            except TypeError as exc:
                if t > 0 or step is not module:
                    raise
                raise TypeError(f"{name} contains no nn.RNN/GRU/LSTM or RNNCell/GRUCell/LSTMCell, so rnnviz steps it "
                                f"as forward(input, hidden) -> (output, hidden), which failed ({exc}); for another "
                                f"signature pass step=lambda x_t, h: ... to rnnviz.record") from None
            if not (isinstance(result, (tuple, list)) and len(result) == 2):
                raise ValueError(f"{name}.forward(input, hidden) must return (output, hidden); use step= for another signature")
            out_t, hidden = result
            outputs.append(out_t)
            states.append(_state_tensor(hidden))
        shapes = {tuple(s.shape) for s in states}
        if len(shapes) != 1 or states[0].dim() not in (2, 3):
            raise ValueError(f"the hidden state must keep one (batch, hidden) or (1, batch, hidden) shape, got {sorted(shapes)}")
        output = torch.stack(outputs)
        y = head(output) if head is not None else output
        if loss_fn is not None:
            loss_value = loss_fn(y) if target is None else loss_fn(y, target)
        elif y.dim() == 0:
            loss_value = y
        else:
            loss_value = compute_loss(loss, y, target)
        if not isinstance(loss_value, torch.Tensor) or loss_value.numel() != 1:
            raise ValueError(f"the loss must be a scalar tensor, got {getattr(loss_value, 'shape', type(loss_value).__name__)}")
        loss_value = loss_value.reshape(())
        head_named = [(f"head.{n}", p) for n, p in head.named_parameters()] if head is not None else []
        params = [(n, p) for n, p in named + head_named if p.requires_grad]
        wanted = [p for _, p in params] + states + ([x] if differentiable else [])
        grads = torch.autograd.grad(loss_value, wanted, allow_unused=True)
    grads = [torch.zeros_like(w) if g is None else g for w, g in zip(wanted, grads)]
    as_np = lambda t: t.detach().cpu().numpy()  # noqa: E731
    hidden_all = torch.stack([_as_rows(s) for s in states])[None, None]          # (1, 1, T, B, H)
    hidden_grad = torch.stack([_as_rows(g) for g in grads[len(params):len(params) + T]])[None, None]
    saturation = cell_saturation(hidden_all, "tanh").double()
    nan = np.full(hidden_all.shape[:3], np.nan)
    rows = hidden_all.shape[3]
    return Trace(
        kind="custom", is_cell=True, nonlinearity="tanh", batch_first=False,
        inputs=as_np(inputs), output=as_np(output), hidden=as_np(hidden_all), hidden_grad=as_np(hidden_grad),
        h_n=as_np(states[-1]), loss=float(loss_value.detach()), loss_name="loss_fn" if loss_fn is not None else loss,
        param_grads={n: as_np(g) for (n, _), g in zip(params, grads)},
        head_output=as_np(y) if head is not None and y.dim() > 0 else None,
        input_grad=as_np(grads[-1]) if differentiable else None,
        saturation=as_np(saturation), whh_grad_contrib_norm=nan, wih_grad_contrib_norm=nan.copy(),
        device=str(inputs.device),
        equation=f"(output_t, H_t) = {name}(X_t, H_{{t-1}})",
        operands=[[Operand("X_t", tuple(inputs.shape[1:]), dtype_name(inputs), str(inputs.device)),
                   Operand("H_t", (rows, hidden_all.shape[4]), dtype_name(states[0]), str(inputs.device)),
                   Operand("output_t", tuple(outputs[0].shape), dtype_name(outputs[0]), str(inputs.device))]],
    )


def dtype_name(tensor) -> str:
    return str(tensor.dtype).removeprefix("torch.")
