"""One call of an nn.RNN/GRU/LSTM run by the engine as a torch.autograd.Function.

The user's own forward calls the module; for that call the engine steps every layer on the
module's own parameters, keeping every H_t, and the user's own ``loss.backward()`` reaches
this Function's backward with dL/d(out, h_n[, c_n]). BPTT runs there, keeps every total
dL/dH_t and dL/dX_t, and returns the gradients of the input, h0 and the parameters, so the
model's gradients are exactly what torch's module would have produced.

Two paths, one set of numbers:
- kernels (unpacked input, no proj_size; any layers, directions, dropout): engine/layers.py,
  the layer loop record() drives too: bptt.layer_forward with no graph, and bptt's hand-written
  BPTT in backward, which also yields the per-timestep W_hh / W_ih term norms record() shows.
  An LSTM whose loss reads c_n, or whose c0 needs a gradient, passes dL/dc_n and takes dL/dc0.
- graph (packed inputs and proj_size, which the kernels do not take): the layers are stepped
  with autograd on detached leaves inside forward (a masked step loop), and backward is one
  torch.autograd.grad over that graph.

Shapes: T timesteps, B batch (sorted order when packed), I input, H hidden, P = proj_size or H,
L layers, D directions. x (T, B, I) time-major and padded; h0 (L*D, B, P); c0 (L*D, B, H).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch.nn import functional as F

from .cells import LayerWeights, gru_step, input_projection, lstm_step, rnn_step
from .bptt import _order
from .layers import backward_layers, forward_layers


@dataclass
class CallConfig:
    """What one module call needs: read off the module, never copied from its parameters."""

    kind: str                   # rnn | gru | lstm
    nonlinearity: str
    num_layers: int
    num_directions: int
    hidden_size: int
    proj_size: int
    dropout: float              # applied between layers only when training
    training: bool
    param_names: list[str]      # order of the parameters passed to the Function
    valid: torch.Tensor | None = None        # (T, B) bool for packed input: row b advances at t
    packed_rows: int = 0                     # N = sum(batch_sizes): dropout draws on the packed layout
    with_graph: bool = True                  # False under the caller's torch.no_grad(): forward only


@dataclass
class CallResult:
    """Everything one call produced, detached, filled by forward and then by backward."""

    hidden: dict = field(default_factory=dict)        # (layer, d) -> (T, B, P)
    cell: dict = field(default_factory=dict)          # (layer, d) -> (T, B, H), LSTM
    gates: dict = field(default_factory=dict)         # (layer, d) -> {name: (T, B, G)}
    hidden_grad: dict = field(default_factory=dict)   # (layer, d) -> total dL/dH_t (T, B, P)
    input_grad: torch.Tensor | None = None            # dL/dX_t (T, B, I) through this call
    param_grads: dict = field(default_factory=dict)   # name -> gradient of this call's use
    contributions: dict = field(default_factory=dict) # (layer, d) -> (W_hh, W_ih) term norms (T,), kernel path
    backward_done: bool = False
    on_backward: object = None                        # called once backward has run (watch's flag)


def layer_weights_of(params: dict, layer: int, direction: int) -> tuple[LayerWeights, torch.Tensor | None]:
    """(LayerWeights, W_hr or None) of one layer and direction from name -> tensor."""
    suffix = f"_l{layer}" + ("_reverse" if direction else "")
    names = {role: role + suffix for role in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    w = LayerWeights(names, params[names["weight_ih"]], params[names["weight_hh"]],
                     params.get(names["bias_ih"]), params.get(names["bias_hh"]))
    return w, params.get("weight_hr" + suffix)


def dropout_masks(cfg: CallConfig, T: int, B: int, like: torch.Tensor) -> list[torch.Tensor | None]:
    """Per layer below the top, the dropout multiplier torch's CPU loop would draw, in its order.

    torch calls at::dropout on each layer's (packed) output; dropping a tensor of ones draws the
    same bernoulli noise from the same generator, so noise * out is bit-identical to torch's.
    """
    masks: list = [None] * cfg.num_layers
    if not (cfg.training and cfg.dropout > 0):
        return masks
    width = cfg.num_directions * (cfg.proj_size or cfg.hidden_size)
    for layer in range(cfg.num_layers - 1):
        if cfg.valid is None:
            masks[layer] = F.dropout(like.new_ones(T, B, width), cfg.dropout, True)
        else:
            drawn = F.dropout(like.new_ones(cfg.packed_rows, width), cfg.dropout, True)
            mask = like.new_zeros(T, B, width)
            mask[cfg.valid] = drawn
            masks[layer] = mask
    return masks


def _masked_loop(cfg, x, h0, c0, w, w_hr, reverse):
    """Step one layer and direction in graph; rows of a packed batch advance only while valid."""
    T = x.shape[0]
    gi = input_projection(x, w).unbind(0)
    hidden, cells, gates = [None] * T, [None] * T, {}
    h, c = h0, c0
    for t in _order(T, reverse):
        if cfg.kind == "rnn":
            h_new, step_gates = rnn_step(gi[t], h, w, cfg.nonlinearity)
        elif cfg.kind == "gru":
            h_new, step_gates, _ = gru_step(gi[t], h, w)
        else:
            h_new, c_new, step_gates = lstm_step(gi[t], h, c, w)
            if w_hr is not None:
                h_new = F.linear(h_new, w_hr)   # h_t = W_hr (o_t * tanh c_t)
        if cfg.valid is not None:
            keep = cfg.valid[t].unsqueeze(-1)
            h_new = torch.where(keep, h_new, h)
            if cfg.kind == "lstm":
                c_new = torch.where(keep, c_new, c)
        h = hidden[t] = h_new
        if cfg.kind == "lstm":
            c = cells[t] = c_new
        for name, value in step_gates.items():
            gates.setdefault(name, [None] * T)[t] = value
    return hidden, (cells if cfg.kind == "lstm" else None), gates, h, c


@dataclass
class _Graph:
    leaves: list                # x, h0, c0 (or None), then the parameters
    out: torch.Tensor
    h_n: torch.Tensor
    c_n: torch.Tensor | None
    steps: dict                 # (layer, d) -> list of T hidden tensors in graph


def build_graph(cfg: CallConfig, x, h0, c0, params: list, masks, result: CallResult) -> _Graph:
    """Run the whole call with autograd on detached leaves; fill result's forward fields."""
    with torch.set_grad_enabled(cfg.with_graph):
        x_leaf = x.detach().requires_grad_(True)
        h0_leaf = h0.detach().requires_grad_(True)
        c0_leaf = c0.detach().requires_grad_(True) if c0 is not None else None
        leaves = [p.detach().requires_grad_(p.requires_grad) for p in params]
        named = dict(zip(cfg.param_names, leaves))
        D = cfg.num_directions
        layer_input, steps, h_n, c_n = x_leaf, {}, [], []
        for layer in range(cfg.num_layers):
            outs = []
            for d in range(D):
                w, w_hr = layer_weights_of(named, layer, d)
                index = layer * D + d
                c_start = c0_leaf[index] if c0_leaf is not None else None
                hidden, cells, gates, h_last, c_last = _masked_loop(
                    cfg, layer_input, h0_leaf[index], c_start, w, w_hr, bool(d))
                steps[layer, d] = hidden
                out = torch.stack(hidden)
                outs.append(out)
                h_n.append(h_last)
                result.hidden[layer, d] = out.detach()
                result.gates[layer, d] = {k: torch.stack(v).detach() for k, v in gates.items()}
                if cells is not None:
                    result.cell[layer, d] = torch.stack(cells).detach()
                    c_n.append(c_last)
            layer_input = outs[0] if D == 1 else torch.cat(outs, dim=-1)
            if masks[layer] is not None:
                layer_input = layer_input * masks[layer]
        return _Graph([x_leaf, h0_leaf, c0_leaf, *leaves], layer_input, torch.stack(h_n),
                      torch.stack(c_n) if c_n else None, steps)


def backward_graph(cfg: CallConfig, graph: _Graph, grads, result: CallResult) -> list:
    """Gradients of x, h0, c0 and the parameters for dL/d(out, h_n[, c_n]); keeps every dL/dH_t."""
    outputs = [graph.out, graph.h_n] + ([graph.c_n] if graph.c_n is not None else [])
    wanted = [t for t in graph.leaves if t is not None and t.requires_grad]
    hidden_keys = list(graph.steps)
    step_tensors = [h for key in hidden_keys for h in graph.steps[key]]
    with torch.enable_grad():
        found = torch.autograd.grad(outputs, wanted + step_tensors, grads[:len(outputs)], allow_unused=True)
    by_leaf = {id(t): g for t, g in zip(wanted, found)}
    leaf_grads = [None if t is None else _zeros_if_none(by_leaf.get(id(t)), t) if t.requires_grad else None
                  for t in graph.leaves]
    rest = iter(found[len(wanted):])
    for key in hidden_keys:
        result.hidden_grad[key] = torch.stack([_zeros_if_none(next(rest), h) for h in graph.steps[key]])
    result.input_grad = leaf_grads[0]
    result.param_grads = {n: g for n, g in zip(cfg.param_names, leaf_grads[3:]) if g is not None}
    return leaf_grads


def _zeros_if_none(grad, like):
    return torch.zeros_like(like) if grad is None else grad


def kernel_forward(cfg: CallConfig, x, h0, c0, params: list, masks, result: CallResult):
    """Unpacked, no proj_size: every layer through engine/layers.py (no graph); returns
    (out, h_n, c_n or None, the StackForward backward needs)."""
    named = dict(zip(cfg.param_names, params))
    weights = {(layer, d): layer_weights_of(named, layer, d)[0]
               for layer in range(cfg.num_layers) for d in range(cfg.num_directions)}
    stack = forward_layers(cfg.kind, cfg.nonlinearity, weights, x, h0, c0, masks)
    for key, run in stack.runs.items():
        result.hidden[key], result.gates[key] = run.hidden, run.gates
        if run.cell is not None:
            result.cell[key] = run.cell
    c_n = stack.c_n
    return stack.output, torch.stack(stack.h_n), None if c_n is None else torch.stack(c_n), stack


def kernel_backward(cfg: CallConfig, stack, grad_out, grad_h_n, grad_c_n, masks, result: CallResult):
    """engine/layers.py's BPTT from the top layer down, with the per-timestep W_hh / W_ih term
    norms record() takes; returns (dx, dh0, dc0 or None, parameter grads by name). grad_c_n is None
    unless an LSTM's dL/dc_n or dL/dc0 is wanted."""
    grads = backward_layers(stack, grad_out, masks=masks, grad_h_n=grad_h_n, grad_c_n=grad_c_n, input_grad=True,
                            initial_grads=True)
    for key in stack.runs:
        result.hidden_grad[key] = grads.hidden_grad[key]
        result.contributions[key] = grads.contributions[key]
    dc0 = None if grads.c0_grads is None else torch.stack(grads.c0_grads)
    return grads.input_grad, torch.stack(grads.h0_grads), dc0, grads.param_grads


class RecurrentCall(torch.autograd.Function):
    """apply(cfg, result, x, h0, c0, *params) -> (out (T, B, D*P), h_n[, c_n]); see the module docstring."""

    @staticmethod
    def forward(ctx, cfg: CallConfig, result: CallResult, x, h0, c0, *params):
        T, B = x.shape[0], x.shape[1]
        masks = dropout_masks(cfg, T, B, x)
        fast = cfg.valid is None and not cfg.proj_size
        ctx.cfg, ctx.result, ctx.masks, ctx.fast = cfg, result, masks, fast
        if fast:
            out, h_n, c_n, runs = kernel_forward(cfg, x, h0, c0, params, masks, result)
            ctx.runs = runs
            ctx.inputs = (x, h0, c0, params)
            return (out, h_n) if c_n is None else (out, h_n, c_n)
        ctx.graph = build_graph(cfg, x, h0, c0, params, masks, result)
        graph = ctx.graph
        if graph.c_n is not None:
            return graph.out.detach(), graph.h_n.detach(), graph.c_n.detach()
        return graph.out.detach(), graph.h_n.detach()

    @staticmethod
    def backward(ctx, *grads):
        cfg, result = ctx.cfg, ctx.result
        needs = ctx.needs_input_grad[2:]
        if ctx.fast:
            x, h0, c0, params = ctx.inputs
            # bptt's own LSTM backward (prepacked weights) unless dL/dc_n or dL/dc0 is in play
            through_cell = cfg.kind == "lstm" and (bool(grads[2].any()) or needs[2])
            dx, dh0, dc0, by_name = kernel_backward(cfg, ctx.runs, grads[0], grads[1],
                                                    grads[2] if through_cell else None, ctx.masks, result)
            result.input_grad = dx
            result.param_grads = {n: by_name[n] for n, p in zip(cfg.param_names, params) if p.requires_grad}
            leaf_grads = [dx, dh0, dc0] + [result.param_grads.get(n) for n in cfg.param_names]
        else:
            leaf_grads = backward_graph(cfg, ctx.graph, grads, result)
            ctx.graph = None   # free the graph: one backward per call, as torch's own module
        result.backward_done = True
        if result.on_backward is not None:
            result.on_backward()
        returned = [g if need else None for g, need in zip(leaf_grads, needs)]
        return (None, None, *returned)
