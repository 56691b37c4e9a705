"""The lecture-mode lessons: each is a preset plus what to look at, what to expect and a question.

Plain data (no Qt): the lecture panel shows it, the tests check that every preset exists and
that the gradient lessons show in numbers what their text promises.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Lesson:
    number: int
    title: str
    preset: str
    look_at: str
    expect: str
    question: str
    view: str = "debugger"  # the window to open: 'debugger' or 'training'


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        1, "RNNCell: the shape of each timestep", "seed-rnncell",
        look_at="The shapes panel while stepping forward one cell at a time: X_t (5, 4), H_{t-1} (5, 2), "
                "W_ih (2, 4), W_hh (2, 2) and the new H_t (5, 2).",
        expect="Every timestep has the same shapes: the cell is one function applied 3 times with the same "
               "weights; only X_t and H_{t-1} change.",
        question="Where does the batch dimension go in X_t · W_ih^T, and why is W_ih stored as (hidden, input)?",
    ),
    Lesson(
        2, "A 3-layer nn.RNN: out vs h_n", "seed-rnn",
        look_at="Step to the end and compare out (6, 5, 2) with h_n (3, 5, 2).",
        expect="out holds the top layer's H_t for every t; h_n holds every layer's last H_T. "
               "out[-1] equals h_n[-1].",
        question="Which tensor would you feed to a classifier of the whole sequence, and which to a "
                 "per-timestep tagger?",
    ),
    Lesson(
        3, "batch_first", "batch-first",
        look_at="The input and out shapes, next to the same panels for seed-rnn. Then type (6, 5, 4) in the "
                "Network dock's Input tab with batch_first off and on: the same shape is read as 6 steps of a "
                "batch of 5 or 5 steps of a batch of 6, and h_n follows the batch.",
        expect="input and out become (batch, seq, feature) = (5, 6, 4) and (5, 6, 2); h_n stays "
               "(layers, batch, hidden) = (3, 5, 2). The numbers are the same.",
        question="Why does batch_first not change h_n?",
    ),
    Lesson(
        4, "Vanishing gradients with tanh", "vanishing-tanh",
        look_at="The gradient profile |dL/dh_t| (log scale) while stepping backward, and the spectral "
                "panel: the eigenvalues of W_hh inside the unit circle.",
        expect="The loss reads only the last step, so every earlier gradient came back through time; "
               "each step multiplies by diag(tanh'(a_t)) W_hh, whose norm is at most sigma_max = 0.6, so "
               "dL/dh_0 is below 0.6^39 ~ 2e-9 of dL/dh_T.",
        question="Pascanu et al.: if sigma_max(W_hh) < 1, can any input sequence make this gradient grow?",
    ),
    Lesson(
        5, "Exploding gradients with relu, tamed by clipping", "exploding-relu",
        look_at="The gradient profile backward in time, the eigenvalues of W_hh = 1.3 I outside the unit "
                "circle, then the Training view with a gradient clip set.",
        expect="Active relu units have phi' = 1, so each step back multiplies the gradient by 1.3: "
               "dL/dh_0 is about 1.3^39 ~ 10^4 times dL/dh_T. With clipping, the post-clip norm is "
               "capped at the limit and the steps where it fired are marked.",
        question="Clipping rescales the whole gradient: does it change its direction? What does it not fix?",
    ),
    Lesson(
        6, "LSTM: keeping the gradient alive", "lstm-memory",
        look_at="The same sequence as lesson 4, on an LSTM: the gradient profile and the forget gate F_t "
                "(the Gates dock draws f_t for every unit and timestep, and how much of it is saturated).",
        expect="The cell state carries the gradient through C_t = F_t * C_{t-1} + ...: with the forget-gate "
               "bias at 2, F_t is near 0.88, the gradient decays slowly, and dL/dh_0 is about 10^8 times "
               "the tanh RNN's.",
        question="What would the forget gate have to be for the gradient to pass through 40 steps unchanged?",
    ),
    Lesson(
        7, "Training the character model", "char-hello", view="training",
        look_at="The loss curve, the |dL/dh_t| image (iteration x t), the gradient norms and the sample "
                "from 'h' as training runs.",
        expect="The loss falls below a tenth of its first value within 200 epochs, and the greedy sample "
               "from 'h' becomes 'hello world'.",
        question="After 'l' comes 'l', 'o' or 'd': what must the hidden state remember to get it right?",
    ),
    Lesson(
        8, "Find where the gradient vanished", "vanishing-tanh",
        look_at="The Breakpoints dock (Debug > Breakpoints): add \"‖dL/dh_t‖ < 1e-6\" and press Run until (F5). "
                "The run goes through the forward pass and back through time, and stops at the first timestep "
                "whose gradient is below the threshold; the status bar and Messages say where.",
        expect="It stops in the backward pass at t=11: ‖dL/dh_11‖ is about 6e-7, while ‖dL/dh_39‖ is about 11. "
               "Everything the loss can teach the first 12 steps arrives through gradients a ten-millionth "
               "the size of the last one's.",
        question="Move the threshold to 1e-3 and 1e-9: how many timesteps does each factor of 1000 cost, and "
                 "which number of lesson 4 predicts it?",
    ),
)


def lesson_by_number(number: int) -> Lesson:
    for lesson in LESSONS:
        if lesson.number == number:
            return lesson
    raise ValueError(f"no lesson {number}; lessons are 1..{len(LESSONS)}")


def lesson_text(lesson: Lesson) -> str:
    """The explanation panel's text, plain."""
    return (f"Lesson {lesson.number}: {lesson.title}\n\nLook at: {lesson.look_at}\n\n"
            f"Expect: {lesson.expect}\n\nAsk: {lesson.question}")
