"""Recording any module with the tutorial's cell signature ``forward(input, hidden) -> (output, hidden)``."""
from __future__ import annotations

import numpy as np
import torch

from .build import compute_loss
from .operands import Operand
from .trace import Trace


def _state_tensor(hidden) -> torch.Tensor:
    """The hidden state tensor of a step's result (the first of a tuple, as LSTMs return (h, c))."""
    return hidden[0] if isinstance(hidden, (tuple, list)) else hidden


def record_custom(module, inputs, h0=None, *, loss: str = "sum", target=None) -> Trace:
    """Step `module` over inputs (seq, batch, feature), one call per timestep, and read dL/dh_t."""
    if not isinstance(inputs, torch.Tensor) or inputs.dim() != 3:
        shape = tuple(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
        raise ValueError(f"Expected input of size (seq, batch, feature) for a cell-signature module, got {shape}")
    T, B = inputs.shape[0], inputs.shape[1]
    hidden = h0
    if hidden is None:
        if not hasattr(module, "init_hidden"):
            raise ValueError(f"{type(module).__name__} has no init_hidden(batch): pass h0 to record()")
        hidden = module.init_hidden(B)
    named = list(module.named_parameters())
    with torch.enable_grad():
        outputs, states = [], []
        for t in range(T):
            result = module(inputs[t], hidden)
            if not (isinstance(result, (tuple, list)) and len(result) == 2):
                raise ValueError(f"{type(module).__name__}.forward(input, hidden) must return (output, hidden)")
            out_t, hidden = result
            outputs.append(out_t)
            states.append(_state_tensor(hidden))
        if states[0].dim() != 2 or states[0].shape[0] != B:
            raise ValueError(f"the hidden state must be (batch, hidden) = ({B}, H), got {tuple(states[0].shape)}")
        output = torch.stack(outputs)
        loss_value = compute_loss(loss, output, target)
        wanted = [p for _, p in named] + states
        grads = torch.autograd.grad(loss_value, wanted, allow_unused=True)
    grads = [torch.zeros_like(w) if g is None else g for w, g in zip(wanted, grads)]
    as_np = lambda t: t.detach().cpu().numpy()  # noqa: E731
    hidden_all = torch.stack(states)[None, None]                   # (1, 1, T, B, H)
    hidden_grad = torch.stack(grads[len(named):])[None, None]
    saturation = (hidden_all.abs() > 0.95).double().mean(dim=(-2, -1))
    nan = np.full(hidden_all.shape[:3], np.nan)
    return Trace(
        kind="custom", is_cell=True, nonlinearity="tanh", batch_first=False,
        inputs=as_np(inputs), output=as_np(output), hidden=as_np(hidden_all), hidden_grad=as_np(hidden_grad),
        h_n=as_np(states[-1]), loss=float(loss_value.detach()), loss_name=loss,
        param_grads={n: as_np(g) for (n, _), g in zip(named, grads)},
        saturation=as_np(saturation), whh_grad_contrib_norm=nan, wih_grad_contrib_norm=nan.copy(),
        device=str(inputs.device),
        equation=f"(output_t, H_t) = {type(module).__name__}(X_t, H_{{t-1}})",
        operands=[[Operand("X_t", (B, inputs.shape[2]), dtype_name(inputs), str(inputs.device)),
                   Operand("H_t", tuple(states[0].shape), dtype_name(states[0]), str(inputs.device)),
                   Operand("output_t", tuple(outputs[0].shape), dtype_name(outputs[0]), str(inputs.device))]],
    )


def dtype_name(tensor) -> str:
    return str(tensor.dtype).removeprefix("torch.")
