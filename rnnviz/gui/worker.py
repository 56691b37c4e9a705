"""Session: owns the runner and drives it off the GUI thread.

Every intention (build, step, back, seek, run, play) becomes a generator run by a superqt
GeneratorWorker, one at a time, in order. The generator yields Frames (numpy snapshots) at most
every FRAME_INTERVAL seconds during long runs; the window applies at most one Frame per display
frame (a QTimer), so the event loop never stalls. Stop sets an event the loop checks every cell.
"""
from __future__ import annotations

import gc
import os
import sys
import threading
import time
from collections import deque

from superqt.utils import GeneratorWorker

from .frame import Frame
from .qt import QtCore
from .replay import ReplayRunner
from .tensors import step_tensors

FRAME_INTERVAL = 1 / 30     # seconds between frames a long run hands over
# With a window attached (wait_for_draw), a run to end hands over a frame at most this often and
# then waits until the window has drawn it: the paint then has the interpreter to itself instead
# of sharing it with the worker's Python (a shared paint took 30-85 ms instead of 10-15 ms).
DRAWN_FRAME_INTERVAL = 1 / 10
DRAW_WAIT_LIMIT = 0.25      # never wait longer than this for a window that is not drawing
APPLY_INTERVAL_MS = 16      # at most one frame applied per display frame
PROGRESS_AFTER = 1.0        # seconds a run goes before it shows a progress bar with Cancel
# The GUI thread paints in C++ but calls back into Python for every pyqtgraph item (paint,
# boundingRect): hundreds of GIL acquisitions per frame, each waiting up to the switch interval while
# the worker runs Python. At CPython's default 5 ms (or even 0.5 ms) a 20 ms paint took 150-200 ms.
SWITCH_INTERVAL = 0.00005
# A runner holds thousands of Python objects (per-cell states, records, autograd nodes); a full
# (generation 2) garbage collection walks them all with the GIL held: 100-160 ms with nothing
# painted, measured at (T,B,I,H,L)=(1000,8,64,512,2). So: after each build, collect once and freeze
# what survives (never scanned again), and collect the older generations rarely.
GC_THRESHOLDS = (10000, 50, 1000)


def settle_garbage() -> None:
    """Collect once (after a build: a pause the user expects), then freeze the survivors."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class _Failed:
    """Yielded by a job that raised: superqt drops RuntimeErrors (e.g. CUDA OOM) from generators."""

    def __init__(self, exc: BaseException):
        self.exc = exc


def _guarded(job):
    """Wrap a job generator so any exception is yielded as _Failed instead of raised, followed by a
    frame of the runner as it now stands (a run that failed midway moved it past the last frame shown)."""
    def wrapped(self, *args):
        runner = self.runner
        try:
            yield from job(self, *args)
        except Exception as exc:  # noqa: BLE001 - every torch error (out of memory included) becomes a message
            yield _Failed(exc)
            if runner is not None and runner is self.runner:
                try:
                    yield final_frame(runner, self.device, self.read_only)
                except Exception:  # noqa: BLE001 - the message above already says what went wrong
                    pass
    wrapped.__name__ = job.__name__
    return wrapped


def torch_threads() -> None:
    """One intra-op thread (RNNVIZ_TORCH_THREADS overrides): a cell is a few small matmuls, and on a
    small machine torch's spinning OpenMP threads starve the GUI thread (measured on 2 cores: forward
    cell 0.6 ms with 1 thread, 3.9 ms with 2, and event-loop stalls of 200-300 ms)."""
    import torch

    torch.set_num_threads(int(os.environ.get("RNNVIZ_TORCH_THREADS", "1")))


def make_runner(spec, progress=None):
    """The engine's step runner for `spec` (the replay of record() while the runner is unavailable);
    `progress(done, total, what)` sees the build's slow steps and may raise to cancel it."""
    try:
        from rnnviz.engine.runner import Runner
    except ImportError:
        from rnnviz.engine.build import build
        from rnnviz.engine.record import record_module

        built = build(spec, progress)
        trace = record_module(built.module, built.inputs, built.h0, loss=spec.loss, head=built.head,
                              target=built.target, spec=spec)
        return ReplayRunner(trace, h0=built.h0, module=built.module)
    return Runner.from_spec(spec, progress)


def final_frame(runner, device: str, read_only: bool = False) -> Frame:
    frame = make_frame(runner, device, read_only)
    frame.final = True
    return frame


def make_frame(runner, device: str, read_only: bool = False) -> Frame:
    """Snapshot the runner (worker thread): the trace so far, the last record and its tensor table."""
    trace = runner.snapshot()
    position = runner.position
    record = None
    if position:
        records = getattr(runner, "records", None)
        if isinstance(runner, ReplayRunner):
            record = runner.record_at(position - 1)
        elif records:
            record = records[position - 1]
    schedule = runner.schedule
    cell = schedule[position - 1] if position else None
    rows = step_tensors(trace, cell, record, getattr(runner, "module", None), getattr(runner, "h0", None))
    return Frame(trace=trace, position=position, total=len(schedule), num_forward=runner.num_forward,
                 record=record, device=device, rows=rows, schedule=schedule, read_only=read_only)


class Session(QtCore.QObject):
    frame_ready = QtCore.Signal(object)     # Frame: apply to the panels
    error = QtCore.Signal(str)              # one readable line
    built = QtCore.Signal(object)           # the spec now running
    devices_found = QtCore.Signal(list)     # [(device, label)] once torch is loaded
    busy_changed = QtCore.Signal(bool)
    playing_changed = QtCore.Signal(bool)
    progress = QtCore.Signal(int, int, str)  # done, total, what: a long job (emitted from the worker thread)
    notice = QtCore.Signal(str)             # a line for Messages that is not an error (e.g. "build cancelled")

    def __init__(self, parent=None):
        super().__init__(parent)
        # torch releases the GIL in every op, and the GUI thread takes it back once per Python
        # callback: a short switch interval keeps either from waiting long for the other.
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
        gc.set_threshold(*GC_THRESHOLDS)
        self.runner = None
        self.spec = None
        self.device = "cpu"
        self.read_only = False
        self.frame: Frame | None = None     # the frame last applied
        self.speed = 10.0                   # play: cells per second
        self._queue: deque = deque()
        self._worker: GeneratorWorker | None = None
        self._stop = threading.Event()
        self._drawn = threading.Event()
        self.wait_for_draw = False          # a window sets it: long runs pause while it paints

        self._pending: Frame | None = None
        self._devices_sent = False
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._apply_pending)
        self._last_apply = 0.0
        self.applied_at = 0.0

    # -- intentions (GUI thread) -------------------------------------------------------
    def build(self, spec) -> None:
        self.stop()
        self._submit(self._build_job, spec)

    def open_trace(self, trace) -> None:
        """Browse a finished trace, read-only: moving along it computes nothing."""
        self.stop()
        self._submit(self._open_job, trace)

    def open_runner(self, factory, spec=None) -> None:
        """Show a runner made by `factory()` (called in the worker thread), e.g. a training iteration."""
        self.stop()
        self._submit(self._runner_job, factory, spec)

    def step(self, count: int = 1) -> None:
        self._submit(self._run_job, lambda r: min(r.position + count, len(r.schedule)))

    def back(self) -> None:
        self._submit(self._call_job, lambda r: r.back())

    def reset(self) -> None:
        self.stop()
        self._submit(self._call_job, lambda r: r.reset())

    def seek(self, position: int) -> None:
        self._submit(self._seek_job, position)

    def run_to_end(self) -> None:
        """Forward pass to its end; once in the backward pass, on to t=0."""
        self._submit(self._run_job, lambda r: r.num_forward if r.position < r.num_forward else len(r.schedule))

    def backward_step(self) -> None:
        self._submit(self._run_job, lambda r: r.num_forward + 1 if r.position < r.num_forward
                     else min(r.position + 1, len(r.schedule)))

    def run_backward(self) -> None:
        self._submit(self._run_job, lambda r: len(r.schedule))

    def run_to(self, position: int) -> None:
        self._submit(self._run_job, lambda r: max(0, min(position, len(r.schedule))))

    def play(self, on: bool = True) -> None:
        if on:
            self._submit(self._play_job)
        else:
            self.stop()

    def stop(self) -> None:
        """Interrupt a play or run at once and drop queued intentions."""
        self._queue.clear()
        if self._worker is not None:
            self._stop.set()
            self._drawn.set()  # a run waiting for the window to draw stops waiting too

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Stop and wait for the worker thread (a window closing): a job still running after its
        Session is deleted fails to emit ("RuntimeWarning: ... Signal source has been deleted")."""
        self.stop()
        if self._worker is not None:
            QtCore.QThreadPool.globalInstance().waitForDone(timeout_ms)

    def is_busy(self) -> bool:
        return self._worker is not None

    def is_idle(self) -> bool:
        return self._worker is None and not self._queue and self._pending is None and not self._timer.isActive()

    # -- scheduling ---------------------------------------------------------------------
    def _submit(self, job, *args) -> None:
        self._queue.append((job, args))
        if self._worker is None:
            self._next()

    def _next(self) -> None:
        if not self._queue:
            self.busy_changed.emit(False)
            return
        job, args = self._queue.popleft()
        if job not in (self._build_job, self._open_job, self._runner_job) and self.runner is None:
            self._next()
            return
        self._stop.clear()
        worker = GeneratorWorker(job, *args)
        worker.yielded.connect(self._yielded)
        worker.finished.connect(self._finished)
        self._worker = worker
        self.busy_changed.emit(True)
        worker.start()

    def _finished(self) -> None:
        self._worker = None
        self.playing_changed.emit(False)
        self._next()

    def _yielded(self, item) -> None:
        if isinstance(item, _Failed):
            from rnnviz.errors import Cancelled, user_message

            self._queue.clear()
            if isinstance(item.exc, Cancelled):
                self.notice.emit(f"{item.exc}: the previous model is kept")
            else:
                self.error.emit(user_message(item.exc))
        elif isinstance(item, Frame):
            self._pending = item
            if item.final:  # nothing follows it: no reason to wait for the display-rate throttle
                self._timer.stop()
                self._apply_pending()
            elif not self._timer.isActive():
                wait = APPLY_INTERVAL_MS - (time.perf_counter() - self._last_apply) * 1000
                self._timer.start(max(0, int(wait)))
        elif isinstance(item, tuple) and item[0] == "built":
            _, runner, spec, device = item
            self.runner, self.spec, self.device, self.read_only = runner, spec, device, False
            self.built.emit(spec)
        elif isinstance(item, tuple) and item[0] == "opened":
            self.runner, self.spec, self.device, self.read_only = item[1], item[2], item[3], True
            self.built.emit(item[2])
        elif isinstance(item, tuple) and item[0] == "devices":
            self.devices_found.emit(item[1])
        elif item == "playing":
            self.playing_changed.emit(True)

    def frame_drawn(self) -> None:
        """The window has finished drawing the frame it was handed (GUI thread)."""
        self._drawn.set()

    def _apply_pending(self) -> None:
        frame, self._pending = self._pending, None
        if frame is not None:
            self._last_apply = self.applied_at = time.perf_counter()  # applied_at: for `rnnviz bench gui`
            self.frame = frame
            self.frame_ready.emit(frame)

    # -- jobs (worker thread) ------------------------------------------------------------
    @_guarded
    def _build_job(self, spec):
        if not self._devices_sent:
            from rnnviz.engine.build import available_devices

            torch_threads()
            yield ("devices", available_devices())
            self._devices_sent = True
        runner = make_runner(spec, self._build_progress)
        if self._stop.is_set():
            from rnnviz.errors import Cancelled

            raise Cancelled("build cancelled")
        device = spec.device
        yield ("built", runner, spec, device)
        settle_garbage()
        yield final_frame(runner, device)

    def _build_progress(self, done: int, total: int, what: str) -> None:
        """Build progress (worker thread): Cancel stops the build between its slow steps."""
        if self._stop.is_set():
            from rnnviz.errors import Cancelled

            raise Cancelled("build cancelled")
        self.progress.emit(done, total, f"building: {what}")

    @_guarded
    def _open_job(self, trace):
        runner = ReplayRunner(trace)
        yield ("opened", runner, trace.spec, getattr(trace, "device", "cpu"))
        settle_garbage()
        yield final_frame(runner, runner.trace.device, read_only=True)

    @_guarded
    def _runner_job(self, factory, spec):
        torch_threads()
        runner = factory()
        module = getattr(runner, "module", None)
        device = str(next(module.parameters()).device) if module is not None else "cpu"
        yield ("built", runner, spec, device)
        settle_garbage()
        yield final_frame(runner, device)

    @_guarded
    def _call_job(self, action):
        action(self.runner)
        yield final_frame(self.runner, self.device, self.read_only)

    @_guarded
    def _seek_job(self, position):
        runner = self.runner
        position = max(0, min(int(position), len(runner.schedule)))
        if self.read_only or position <= runner.position:
            runner.seek(position)
        else:  # forward seeks compute the cells on the way, with frames as they go
            yield from self._advance(runner, position)
            return
        yield final_frame(runner, self.device, self.read_only)

    @_guarded
    def _run_job(self, target_of):
        runner = self.runner
        yield from self._advance(runner, target_of(runner))

    def _advance(self, runner, target: int):
        """Step to `target`, handing over a frame every FRAME_INTERVAL (or twice the time a frame
        takes to make, when snapshots are slow: the run itself keeps at least 2/3 of the time)."""
        base = DRAWN_FRAME_INTERVAL if self.wait_for_draw else FRAME_INTERVAL
        interval, last = base, time.perf_counter()
        start_position, started = runner.position, last
        while runner.position < target and not self._stop.is_set():
            runner.step()
            if time.perf_counter() - last >= interval and runner.position < target:
                if last - started >= PROGRESS_AFTER:  # long runs get a bar and Cancel (= Stop)
                    self.progress.emit(runner.position - start_position, target - start_position,
                                       f"running to step {target}")
                start = time.perf_counter()
                self._drawn.clear()
                yield make_frame(runner, self.device, self.read_only)
                if self.wait_for_draw:
                    self._drawn.wait(DRAW_WAIT_LIMIT)
                last = time.perf_counter()
                interval = max(base, 2 * (last - start))
        yield final_frame(runner, self.device, self.read_only)

    @_guarded
    def _play_job(self):
        runner = self.runner
        yield "playing"
        next_time = time.perf_counter()
        last = 0.0
        while runner.position < len(runner.schedule) and not self._stop.is_set():
            runner.step()
            now = time.perf_counter()
            if now - last >= min(FRAME_INTERVAL, 1.0 / self.speed):
                yield make_frame(runner, self.device, self.read_only)
                last = now
            next_time += 1.0 / self.speed
            delay = next_time - time.perf_counter()
            if delay > 0:
                self._stop.wait(delay)
            else:
                next_time = time.perf_counter()
        yield final_frame(runner, self.device, self.read_only)
