"""The worker's pieces without threads: frames, the tensor table, the replay runner, the spec form."""
from __future__ import annotations

import numpy as np
import pytest

import rnnviz
from rnnviz.teaching.presets import get_preset


def test_make_frame_and_tensor_table_match_the_engine():
    from rnnviz.engine.runner import Runner
    from rnnviz.gui.session import make_frame

    runner = Runner.from_spec(get_preset("lstm-memory"))
    runner.seek(3)
    frame = make_frame(runner, "cpu")
    assert frame.position == 3 and frame.t == 2 and frame.phase == "forward"
    rows = {row["name"]: row for row in frame.rows}
    h = runner.hidden[0, 0, 2]
    assert rows["H_t"]["shape"] == (4, 32)
    assert rows["H_t"]["norm"] == pytest.approx(float(np.linalg.norm(h.astype(np.float64))), rel=1e-6)
    assert rows["C_{t-1}"]["max"] == pytest.approx(float(runner.cell[0, 0, 1].max()))
    assert rows["W_hh"]["shape"] == (128, 32) and rows["W_hh"]["nan"] == 0
    np.testing.assert_allclose(rows["X_t"]["mean"], runner.inputs[2].double().mean().item(), rtol=1e-6)


def test_replay_runner_masks_what_is_not_reached_yet():
    from rnnviz.engine.replay import ReplayRunner

    trace = rnnviz.record(get_preset("seed-rnn"))
    replay = ReplayRunner(trace)
    assert len(replay.schedule) == 36 and replay.num_forward == 18
    replay.seek(19)  # the forward pass and the first backward cell
    snap = replay.snapshot()
    np.testing.assert_array_equal(snap.hidden, trace.hidden)
    assert np.isfinite(snap.hidden_grad[2, 0, 5]).all() and np.isnan(snap.hidden_grad[:, :, :5]).all()
    record = replay.record_at(0)
    assert record.equation.startswith("H_t = tanh(") and record.operands[0].name == "X_t"


def test_equation_tokens_transpose_weights():
    from rnnviz.gui.panels.equation import equation_text

    ops = {"H_t": (5, 2), "X_t": (5, 4), "W_ih": (2, 4), "H_{t-1}": (5, 2)}
    assert equation_text("H_t = tanh(X_t · W_ih^T + H_{t-1})", ops) == \
        "H_t (5x2) = tanh(X_t (5x4) · W_ih^T (4x2) + H_{t-1} (5x2))"


def test_parse_units():
    from rnnviz.gui.panels.activations import parse_units

    assert parse_units("0, 3, 5-7", 10) == [0, 3, 5, 6, 7]
    assert parse_units("", 10) == [0, 1, 2, 3]
    assert parse_units("42, x", 3) == [0, 1, 2]


def test_settings_env(monkeypatch, tmp_path):
    from rnnviz.gui.settings import settings

    monkeypatch.setenv("RNNVIZ_SETTINGS", "")
    assert settings() is None
    monkeypatch.setenv("RNNVIZ_SETTINGS", str(tmp_path / "layout.ini"))
    assert settings().fileName() == str(tmp_path / "layout.ini")


def test_session_generator_runs_without_threads():
    """The job generators are plain generators: drive one by hand (coverage does not see threads)."""
    from rnnviz.gui.frame import Frame
    from rnnviz.gui.jobs import Built, Failed
    from rnnviz.gui.session import Session

    session = Session()
    items = list(session._build_job(get_preset("seed-rnncell")))
    built = [i for i in items if isinstance(i, Built)][0]
    session.runner, session.spec = built.runner, built.spec
    frames = [i for i in session._run_job(lambda r: 4) if isinstance(i, Frame)]
    assert frames[-1].position == 4 and frames[-1].phase == "backward"
    failed = list(session._seek_job("not a number"))
    # the error, then a frame of the runner as it stands (unmoved), so the window matches it
    assert isinstance(failed[0], Failed) and isinstance(failed[-1], Frame) and failed[-1].position == 4


def test_job_queue_wait_right_after_submit_waits_for_the_job(qtbot):
    """A window closing just after a Build was submitted must wait for that job, not see an empty pool."""
    import threading

    from rnnviz.gui.job_queue import JobQueue

    done = threading.Event()

    def job():
        threading.Event().wait(0.2)
        done.set()
        yield "finished"

    from rnnviz.gui.qt import QtCore

    queue = JobQueue(handle=lambda item: None)
    seen = {}

    def close_right_after_submit():  # from inside the event loop, as a window's close handler runs
        queue.submit(job)
        queue.wait(5000)
        seen["job done when wait returned"] = done.is_set()

    QtCore.QTimer.singleShot(0, close_right_after_submit)
    qtbot.waitUntil(lambda: bool(seen), timeout=10000)
    assert seen == {"job done when wait returned": True}
    qtbot.waitUntil(lambda: not queue.is_busy(), timeout=5000)


def test_a_replay_says_so_and_refuses_what_needs_a_live_run():
    from rnnviz.engine.replay import ReplayRunner
    from rnnviz.engine.runner import Runner
    from rnnviz.gui.debugger import edit_job, proof_job

    live = Runner.from_spec(get_preset("seed-rnn"))
    replay = ReplayRunner(rnnviz.record(get_preset("seed-rnn")))
    assert (live.replays, replay.replays) == (False, True)
    import threading

    for job in (edit_job(replay, lambda: False, threading.Lock(), {}), proof_job(replay, lambda: False, threading.Lock())):
        with pytest.raises(ValueError, match="needs a live run|need a live run"):
            next(job)
