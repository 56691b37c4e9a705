"""Session: the state every view shows (runner, spec, selection, the last frame) and its signals,
and the intentions that change it (build, step, back, seek, run, play).

Every intention becomes a generator job (below) run off the GUI thread by a JobQueue, one at a
time, in order. A job yields Frames (numpy snapshots) at most every FRAME_INTERVAL seconds during
long runs; the FrameThrottle applies at most one per display frame, so the event loop never
stalls. Stop sets an event the jobs check every cell (job_queue.py).
"""
from __future__ import annotations

import threading
import time
from functools import wraps

from rnnviz.engine.memory import format_bytes
from rnnviz.engine.nonfinite import locate_nonfinite
from rnnviz.engine.replay import ReplayRunner
from rnnviz.engine.step_table import recurrent_weight, sequence_tensors, step_table
from rnnviz.engine.threads import limit_torch_threads, preload_backward_imports

from .frame import Frame, Selection
from .job_queue import FrameThrottle, JobQueue
from .jobs import Built, DevicesFound, Failed, JobResult, Playing, guarded
from .process import settle_garbage
from .qt import QtCore

FRAME_INTERVAL = 1 / 30     # seconds between frames a long run hands over
# With a window attached (wait_for_draw), a run to end hands over a frame at most this often and
# then waits until the window has drawn it: the paint then has the interpreter to itself instead
# of sharing it with the worker's Python (a shared paint took 30-85 ms instead of 10-15 ms).
DRAWN_FRAME_INTERVAL = 1 / 10
DRAW_WAIT_LIMIT = 0.25      # never wait longer than this for a window that is not drawing
PROGRESS_AFTER = 1.0        # seconds a run goes before it shows a progress bar with Cancel


def make_runner(spec, progress=None, memory_budget=None):
    """The engine's step runner for `spec` (worker thread: builds the module); `progress(done, total,
    what)` sees the build's slow steps and may raise to cancel it; `memory_budget` (bytes, None: the
    engine's default) refuses a spec that would not fit.

    A network too large to step within the budget is recorded instead (to disk when the recording
    is over the budget too) and replayed: a ReplayRunner over the recorded numbers, which the
    window shows read-only. A spec that does not fit even so is refused with the estimate."""
    from rnnviz.engine.build import build
    from rnnviz.engine.memory import MemoryBudgetError
    from rnnviz.engine.record import record_module
    from rnnviz.engine.runner import Runner

    built = build(spec, memory_budget=memory_budget, progress=progress)
    try:
        return Runner.from_built(built, memory_budget=memory_budget)
    except MemoryBudgetError:
        if spec.is_cell:
            raise
    trace = record_module(built.module, built.inputs, built.h0, loss=spec.loss, head=built.head, target=built.target,
                          spec=spec, memory_budget=memory_budget, progress=progress)
    return ReplayRunner(locate_nonfinite(trace), module=built.module)


def replay_notice(runner) -> str | None:
    """The status line of a Build that is replayed rather than stepped (make_runner), else None."""
    if not isinstance(runner, ReplayRunner):
        return None
    trace = runner.trace
    if trace.spooled:
        return (f"too large to step within the memory budget: recorded to disk "
                f"({format_bytes(trace.storage.disk_bytes)}), replaying; the panels show full resolution "
                f"near the cursor and one timestep in {trace.storage.overview_step} elsewhere")
    return "too large to step within the memory budget: recorded, replaying"


def session_job(job):
    """`guarded`, and after a failure a frame of the runner as it now stands: a run that failed
    midway moved it past the last frame shown, and the window must match what stays usable."""
    @wraps(job)
    def wrapped(self, *args):
        runner = self.runner
        failed = False
        for item in guarded(job)(self, *args):
            failed = failed or isinstance(item, Failed)
            yield item
        if failed and runner is not None and runner is self.runner:
            try:
                yield final_frame(runner, self.device, self.read_only)
            except Exception:  # noqa: BLE001 - the message already says what went wrong
                pass
    return wrapped


def final_frame(runner, device: str, read_only: bool = False) -> Frame:
    frame = make_frame(runner, device, read_only)
    frame.final = True
    return frame


def make_frame(runner, device: str, read_only: bool = False) -> Frame:
    """Snapshot the runner (worker thread): the trace so far, the last record and its tensor table."""
    trace = runner.snapshot()
    position = runner.position
    record = runner.record_at(position - 1) if position else None
    rows = step_table(trace, record, runner.module, runner.initial_states)
    weights = {}
    if trace.kind == "rnn":  # the spectral view's W_hh (views of the module's tensors, no copy on CPU)
        weights = {(l, d): recurrent_weight(runner.module, l, d, trace.is_cell)
                   for l in range(trace.num_layers) for d in range(trace.num_directions)}
    return Frame(trace=trace, position=position, total=len(runner.schedule), num_forward=runner.num_forward,
                 record=record, device=device, rows=rows, schedule=runner.schedule, read_only=read_only,
                 sequence=sequence_tensors(trace), run_id=runner.run_id, version=runner.version,
                 recurrent_weights={k: w for k, w in weights.items() if w is not None})


class Session(QtCore.QObject):
    frame_ready = QtCore.Signal(object)     # Frame: apply to the panels
    selection_changed = QtCore.Signal(object)  # Selection: which layer, direction and batch element to show
    error = QtCore.Signal(str)              # one readable line
    built = QtCore.Signal(object)           # the spec now running
    devices_found = QtCore.Signal(list)     # [(device, label)] once torch is loaded
    playing_changed = QtCore.Signal(bool)
    busy_changed = QtCore.Signal(bool)      # a job started (True) / the queue ran dry (False): the progress bar hides
    progress = QtCore.Signal(int, int, str)  # done, total, what: a long job (emitted from the worker thread)
    notice = QtCore.Signal(str)             # a line for Messages that is not an error (e.g. "build cancelled")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.runner = None
        self.spec = None
        self.device = "cpu"
        self.read_only = False
        self.selection = Selection()        # what every view shows: set it with select()
        # Held by the worker while it steps and by the GUI while it reads a frame's arrays (views of
        # the runner's own during runs): the GUI never reads an array the worker is writing.
        self.arrays = threading.Lock()
        self.speed = 10.0                   # play: cells per second
        self.memory_budget: int | None = None  # bytes a Build may use (None: the engine's default)
        self.wait_for_draw = False          # a window sets it: long runs pause while it paints
        self._devices_sent = False
        self._backward_ready = False
        self.jobs = JobQueue(self._yielded, self._may_start, self)
        self.jobs.busy_changed.connect(self.busy_changed)
        self.jobs.job_finished.connect(lambda: self.playing_changed.emit(False))
        self.frames = FrameThrottle(self)
        self.frames.frame_ready.connect(self.frame_ready)
        self._stop = self.jobs.stopped      # what the jobs below check between cells
        self._drawn = self.frames.drawn

    @property
    def frame(self) -> Frame | None:
        """The frame last applied."""
        return self.frames.frame

    @property
    def applied_at(self) -> float:
        return self.frames.applied_at

    # -- intentions (GUI thread) -------------------------------------------------------
    def select(self, selection: Selection, notify: bool = True) -> None:
        """Show another layer, direction or batch element in every view that follows this session
        (`notify=False`: a frame about to be applied shows it anyway)."""
        if selection != self.selection:
            self.selection = selection
            if notify:
                self.selection_changed.emit(selection)

    def build(self, spec) -> None:
        self.stop()
        self._submit(self._build_job, spec)

    def open_trace(self, trace) -> None:
        """Browse a finished trace, read-only: moving along it computes nothing."""
        self.stop()
        self._submit(self._open_job, trace)

    def open_runner(self, factory, spec=None, read_only: bool = False) -> None:
        """Show a runner made by `factory()` (called in the worker thread), e.g. a training iteration
        or a part of a recording (`read_only` for one read from a file)."""
        self.stop()
        self._submit(self._runner_job, factory, spec, read_only)

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

    def run_job(self, job, callback, *args) -> None:
        """Run the generator `job(runner, stopped, arrays, *args)` in the worker, in turn with the
        other intentions (breakpoints, what-if edits, proofs). It may yield Frames; any other value
        it yields is handed to `callback(value)` on the GUI thread. `stopped()` is True after Stop;
        `arrays` is the lock the job holds while it changes the runner (a step, an edit), as the
        Session's own jobs do, so the GUI never reads an array being written. A final frame follows."""
        self._submit(self._custom_job, job, callback, args)

    def play(self, on: bool = True) -> None:
        if on:
            self._submit(self._play_job)
        else:
            self.stop()

    def stop(self) -> None:
        """Interrupt a play or run at once and drop queued intentions."""
        self.jobs.stop()
        self._drawn.set()  # a run waiting for the window to draw stops waiting too

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Stop and wait for the worker thread (a window closing): a job still running after its
        Session is deleted fails to emit ("RuntimeWarning: ... Signal source has been deleted")."""
        self.stop()
        self.jobs.wait(timeout_ms)

    def is_busy(self) -> bool:
        return self.jobs.is_busy()

    def is_idle(self) -> bool:
        return not self.jobs.is_busy() and not self.jobs.has_queued() and self.frames.is_idle()

    def frame_drawn(self) -> None:
        """The window has finished drawing the frame it was handed (GUI thread)."""
        self._drawn.set()

    # -- what jobs hand back (GUI thread) -------------------------------------------------
    def _submit(self, job, *args) -> None:
        self.jobs.submit(job, *args)

    def _may_start(self, job) -> bool:
        """Jobs that move a runner wait for one: without a model they are dropped."""
        return self.runner is not None or job in (self._build_job, self._open_job, self._runner_job)

    def _yielded(self, item) -> None:
        if isinstance(item, Failed):
            from rnnviz.errors import Cancelled, user_message

            self.jobs.clear()
            if isinstance(item.exc, Cancelled):
                self.notice.emit(f"{item.exc}: the previous model is kept")
            else:
                self.error.emit(user_message(item.exc))
        elif isinstance(item, Frame):
            self.frames.offer(item)
        elif isinstance(item, Built):
            self.runner, self.spec, self.device, self.read_only = item.runner, item.spec, item.device, item.read_only
            self.built.emit(item.spec)
            # Here, on the GUI thread: a collection in the worker thread can free Qt objects (widgets
            # of a closed window) off their own thread, which aborts the process.
            settle_garbage()
        elif isinstance(item, DevicesFound):
            self.devices_found.emit(item.devices)
        elif isinstance(item, JobResult):
            item.callback(item.value)
        elif isinstance(item, Playing):
            self.playing_changed.emit(True)

    # -- jobs (worker thread) ------------------------------------------------------------
    @session_job
    def _build_job(self, spec):
        if not self._devices_sent:
            from rnnviz.engine.build import available_devices

            limit_torch_threads()
            yield DevicesFound(available_devices())
            self._devices_sent = True
        runner = make_runner(spec, self._build_progress, self.memory_budget)
        if self._stop.is_set():
            from rnnviz.errors import Cancelled

            raise Cancelled("build cancelled")
        device = spec.device
        notice = replay_notice(runner)
        if notice is not None:
            self.notice.emit(notice)
        yield Built(runner, spec, device, read_only=notice is not None)
        yield final_frame(runner, device, read_only=notice is not None)
        if not self._backward_ready:  # while the user looks at the new network, not on its first Backward step
            preload_backward_imports()
            self._backward_ready = True

    def _build_progress(self, done: int, total: int, what: str) -> None:
        """Build progress (worker thread): Cancel stops the build between its slow steps."""
        if self._stop.is_set():
            from rnnviz.errors import Cancelled

            raise Cancelled("build cancelled")
        self.progress.emit(done, total, f"building: {what}")

    @session_job
    def _open_job(self, trace):
        runner = ReplayRunner(trace)
        yield Built(runner, trace.spec, trace.device, read_only=True)
        yield final_frame(runner, runner.trace.device, read_only=True)

    @session_job
    def _runner_job(self, factory, spec, read_only=False):
        limit_torch_threads()
        runner = factory()
        if runner.module is not None:
            device = str(next(runner.module.parameters()).device)
        else:  # a part read from a file: where it was recorded
            device = runner.trace.device if runner.replays else "cpu"
        yield Built(runner, spec, device, read_only=read_only)
        yield final_frame(runner, device, read_only=read_only)

    @session_job
    def _call_job(self, action):
        with self.arrays:
            action(self.runner)
        yield final_frame(self.runner, self.device, self.read_only)

    @session_job
    def _seek_job(self, position):
        runner = self.runner
        position = max(0, min(int(position), len(runner.schedule)))
        if runner.replays or position <= runner.position:
            with self.arrays:
                runner.seek(position)
        else:  # a live run's forward seeks compute the cells on the way, with frames as they go
            yield from self._advance(runner, position)
            return
        yield final_frame(runner, self.device, self.read_only)

    @session_job
    def _run_job(self, target_of):
        runner = self.runner
        yield from self._advance(runner, target_of(runner))

    def _advance(self, runner, target: int):
        """Step to `target`, handing over a frame every FRAME_INTERVAL (or twice the time a frame
        takes to make, when snapshots are slow: the run itself keeps at least 2/3 of the time). A
        replay has every number already: it jumps."""
        if runner.replays:
            with self.arrays:
                runner.seek(max(runner.position, target))
            yield final_frame(runner, self.device, self.read_only)
            return
        base = DRAWN_FRAME_INTERVAL if self.wait_for_draw else FRAME_INTERVAL
        interval, last = base, time.perf_counter()
        start_position, started = runner.position, last
        while runner.position < target and not self._stop.is_set():
            with self.arrays:
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

    @session_job
    def _custom_job(self, job, callback, args):
        for item in job(self.runner, self._stop.is_set, self.arrays, *args):
            yield item if isinstance(item, Frame) else JobResult(callback, item)
        yield final_frame(self.runner, self.device, self.read_only)

    @session_job
    def _play_job(self):
        runner = self.runner
        yield Playing()
        next_time = time.perf_counter()
        last = 0.0
        while runner.position < len(runner.schedule) and not self._stop.is_set():
            with self.arrays:
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
