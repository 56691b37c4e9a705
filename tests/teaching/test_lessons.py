"""The lessons exist, and the gradient lessons show in numbers what their text promises.

Checked twice: with rnnviz.record (what the debugger shows) and with an independent
retain_grad loop over the module build(spec) returns.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnviz.engine.record as record_module
from rnnviz.engine.build import build
from rnnviz.teaching.lessons import LESSONS, lesson_by_number, lesson_text
from rnnviz.teaching.presets import PRESETS, get_preset


def test_eight_lessons_on_existing_presets():
    assert [lesson.number for lesson in LESSONS] == list(range(1, 9))
    assert [lesson.preset for lesson in LESSONS] == [
        "seed-rnncell", "seed-rnn", "batch-first", "vanishing-tanh", "exploding-relu", "lstm-memory", "char-hello", "vanishing-tanh"]
    for lesson in LESSONS:
        assert lesson.preset in PRESETS
        assert lesson.look_at and lesson.expect and lesson.question.endswith("?")
    assert "Ask:" in lesson_text(lesson_by_number(4))
    with pytest.raises(ValueError, match="no lesson 9"):
        lesson_by_number(9)


def independent_profile(spec) -> np.ndarray:
    """|dL/dh_t| of the top layer by stepping the built module one timestep at a time."""
    built = build(spec)
    x, state = built.inputs, built.h0
    hiddens = []
    for t in range(x.shape[0]):
        _, state = built.module(x[t : t + 1], state)
        if isinstance(state, tuple):
            h = state[0][-1]
            state = (torch.cat([state[0][:-1], h[None]]), state[1])
        else:
            h = state[-1]
            state = torch.cat([state[:-1], h[None]])
        hiddens.append(h)
        h.retain_grad()
    assert spec.loss == "last"  # the sum of the last step's output only
    hiddens[-1].sum().backward()
    return np.array([float(h.grad.norm()) for h in hiddens])


def profile(name: str) -> np.ndarray:
    spec = get_preset(name)
    trace = record_module.record(spec)
    top = trace.grad_norm[-1, 0]
    np.testing.assert_allclose(top, independent_profile(spec), rtol=1e-3)
    return top


@pytest.mark.parametrize("name", ["vanishing-tanh", "exploding-relu", "lstm-memory"])
def test_gradient_lessons_put_the_loss_on_the_last_step(name):
    assert get_preset(name).loss == "last"


def test_vanishing_tanh_first_gradient_is_1e3_smaller():
    g = profile("vanishing-tanh")
    assert g[0] * 1e3 <= g[-1]


def test_exploding_relu_first_gradient_is_1e3_larger():
    g = profile("exploding-relu")
    assert g[0] >= 1e3 * g[-1]


def test_lstm_keeps_dl_dh0_100_times_larger_than_the_rnn():
    lstm, rnn = get_preset("lstm-memory"), get_preset("vanishing-tanh")
    for field in ("seed", "seq_len", "batch_size", "input_size", "input_source"):  # the same sequence
        assert getattr(lstm, field) == getattr(rnn, field)
    torch.testing.assert_close(build(lstm).inputs, build(rnn).inputs)
    assert lstm.forget_bias is not None  # what keeps the cell path open
    assert profile("lstm-memory")[0] >= 100 * profile("vanishing-tanh")[0]


def test_lesson_8_breakpoint_stops_where_the_text_says():
    from rnnviz.engine import breakpoints
    from rnnviz.engine.runner import Runner

    lesson = lesson_by_number(8)
    runner = Runner.from_spec(get_preset(lesson.preset))
    hit = runner.run_until(breakpoints.threshold("grad_norm", "<", 1e-6))
    assert hit.cell == ("backward", 0, 0, 11) and "t=11" in lesson.expect
    assert 5e-7 < hit.value < 7e-7 and 10 < runner.grad_norm[0, 0, 39] < 12  # "about 6e-7", "about 11"
    g = profile("vanishing-tanh")  # lesson 4's 0.6 per step: 1e-3 costs log(1e-3)/log(0.6) ~ 13.5 steps or fewer
    assert all(g[t] <= g[39] * 0.6 ** (39 - t) * 1.0001 for t in range(40))
