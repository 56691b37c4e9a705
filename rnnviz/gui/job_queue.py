"""How work reaches the worker thread and frames come back: a queue of generator jobs run one at a
time, and a throttle that applies at most one frame per display frame.

The Session (state and intentions) owns one of each; neither knows what a runner is.
"""
from __future__ import annotations

import threading
import time
from collections import deque

from superqt.utils import GeneratorWorker

from .qt import QtCore

APPLY_INTERVAL_MS = 16      # at most one frame applied per display frame


class JobQueue(QtCore.QObject):
    """Generator jobs, one at a time and in order, each in a superqt GeneratorWorker. What a job
    yields reaches `handle(item)` on the GUI thread; `may_start(job)` can skip a queued job whose
    preconditions no longer hold (e.g. a step with no model). Stop sets `stopped`, which the jobs
    check between cells, and drops what was queued."""

    busy_changed = QtCore.Signal(bool)      # a job started (True) / the queue ran dry (False)
    job_finished = QtCore.Signal()

    def __init__(self, handle, may_start=lambda job: True, parent=None):
        super().__init__(parent)
        self._handle, self._may_start = handle, may_start
        self._queue: deque = deque()
        self._worker: GeneratorWorker | None = None
        self.stopped = threading.Event()

    def submit(self, job, *args) -> None:
        self._queue.append((job, args))
        if self._worker is None:
            self._next()

    def clear(self) -> None:
        """Drop the queued jobs (the running one goes on)."""
        self._queue.clear()

    def stop(self) -> None:
        """Drop the queued jobs and ask the running one to stop at its next check."""
        self._queue.clear()
        if self._worker is not None:
            self.stopped.set()

    def wait(self, timeout_ms: int) -> None:
        """Wait for the running job's thread (a window closing: a job still running after its owner
        is deleted fails to emit)."""
        if self._worker is not None:
            QtCore.QThreadPool.globalInstance().waitForDone(timeout_ms)

    def is_busy(self) -> bool:
        return self._worker is not None

    def has_queued(self) -> bool:
        return bool(self._queue)

    def _next(self) -> None:
        while self._queue:
            job, args = self._queue.popleft()
            if self._may_start(job):
                break
        else:
            self.busy_changed.emit(False)
            return
        self.stopped.clear()
        worker = GeneratorWorker(job, *args)
        worker.yielded.connect(self._handle)
        worker.finished.connect(self._finished)
        self._worker = worker
        self.busy_changed.emit(True)
        # Straight into the pool, not superqt's worker.start(): from a thread with an event loop that
        # defers the start by a 1 ms timer, which adds to every step's latency and leaves a gap in
        # which wait() (a closing window) sees an empty pool while a job is about to run. Its
        # signals are connected above and self._worker keeps it alive, which is all start() adds.
        QtCore.QThreadPool.globalInstance().start(worker)

    def _finished(self) -> None:
        self._worker = None
        self.job_finished.emit()
        self._next()


class FrameThrottle(QtCore.QObject):
    """Frames from the worker, applied at most once per display frame (the newest wins); a job's
    final frame at once. `drawn` is the handshake with the window: a long run waits on it so the
    paint has the interpreter to itself."""

    frame_ready = QtCore.Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.frame = None                   # the frame last applied
        self.applied_at = 0.0               # when it was applied (for `rnnviz bench gui`)
        self.drawn = threading.Event()
        self._pending = None
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._apply_pending)

    def offer(self, frame) -> None:
        self._pending = frame
        if frame.final:  # nothing follows it: no reason to wait for the display-rate throttle
            self._timer.stop()
            self._apply_pending()
        elif not self._timer.isActive():
            wait = APPLY_INTERVAL_MS - (time.perf_counter() - self.applied_at) * 1000
            self._timer.start(max(0, int(wait)))

    def is_idle(self) -> bool:
        return self._pending is None and not self._timer.isActive()

    def _apply_pending(self) -> None:
        frame, self._pending = self._pending, None
        if frame is not None:
            self.applied_at = time.perf_counter()
            self.frame = frame
            self.frame_ready.emit(frame)
