"""A live run's recurrent weight gradients, dL/dparam summed over the backward cells done so far,
in cached blocks so that a long backward run does not redo every cell on each frame."""
from __future__ import annotations

import numpy as np
import torch

BLOCK = 32  # backward cells per cached partial sum of the weight gradients


def weight_grad_sum(keys: list, w, forward: dict, backward: dict) -> dict[str, torch.Tensor]:
    """The weight and bias gradient terms of the backward cells `keys`, summed in one batch."""
    grad_gi = torch.cat([backward[k].grad_gi for k in keys])
    grad_gh = torch.cat([backward[k].grad_gh for k in keys])
    sums = {"weight_ih": grad_gi.T @ torch.cat([forward[k].x.detach() for k in keys]),
            "weight_hh": grad_gh.T @ torch.cat([forward[k].h_prev.detach() for k in keys])}
    if w.bias_ih is not None:
        sums["bias_ih"], sums["bias_hh"] = grad_gi.sum(0), grad_gh.sum(0)
    return sums


class WeightGradSums:
    """Per (layer, direction): the running prefix sums of its full blocks of BLOCK backward cells,
    and the open block's sum. The result depends only on which cells are done, so going
    back and stepping again gives the very same numbers."""

    def __init__(self):
        self._block_prefix: dict[tuple, list] = {}
        self._open_sums: dict[tuple, tuple] = {}   # (layer, direction) -> (cells done, their open block's sums)

    def clear(self) -> None:
        self._block_prefix.clear()
        self._open_sums.clear()

    def undone(self, layer_direction: tuple, done: int) -> None:
        """A backward cell of `layer_direction` was undone, `done` of its cells remain: drop what it reopens."""
        del self._block_prefix.get(layer_direction, [])[done // BLOCK + 1:]
        self._open_sums.pop(layer_direction, None)

    @torch.no_grad()
    def sums(self, weights: dict, done_cells: dict, forward: dict, backward: dict) -> dict[str, np.ndarray]:
        """torch's parameter name -> dL/dparam over the cells of `done_cells` ((layer, direction) ->
        its backward cells done, in order) for every (layer, direction) of `weights`."""
        result = {}
        for (l, d), w in weights.items():
            done = done_cells.get((l, d), [])
            roles = ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if w.bias_ih is not None else ())
            # prefix[k]: zeros + blocks[0] + ... + blocks[k-1], added in that order as ever, kept so a
            # frame adds only the open block's cells (not every block again); undone() drops the
            # prefixes a step back reopens
            prefix = self._block_prefix.get((l, d))
            if prefix is None:
                prefix = self._block_prefix[l, d] = [{role: torch.zeros_like(getattr(w, role)) for role in roles}]
            full = len(done) // BLOCK
            while len(prefix) <= full:
                start = (len(prefix) - 1) * BLOCK
                block = weight_grad_sum(done[start:start + BLOCK], w, forward, backward)
                prefix.append({role: prefix[-1][role] + block[role] for role in roles})
            rest = None
            if len(done) > full * BLOCK:  # the open block: summed again only when its layer moved
                cached = self._open_sums.get((l, d))
                if cached is None or cached[0] != len(done):
                    cached = (len(done), weight_grad_sum(done[full * BLOCK:], w, forward, backward))
                    self._open_sums[l, d] = cached
                rest = cached[1]
            for role in roles:
                value = prefix[full][role] if rest is None else prefix[full][role] + rest[role]
                result[w.names[role]] = value.cpu().numpy()
        return result
