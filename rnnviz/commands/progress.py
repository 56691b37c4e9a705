"""A progress line on stderr for long CLI work: nothing for the first second, then what is being
done and for how long, rewritten in place on a terminal (a new line every few seconds otherwise)."""
from __future__ import annotations

import sys
import threading
import time

SHOW_AFTER = 1.0       # seconds of silence before the first line
TTY_EVERY = 0.25
PIPE_EVERY = 5.0


class ProgressLine:
    """`with ProgressLine("training") as line: ... line.update("epoch 3 of 200")`."""

    def __init__(self, label: str, stream=None, show_after: float = SHOW_AFTER):
        self.label = label
        self.stream = stream or sys.stderr
        self.show_after = show_after
        self.detail = ""
        self.shown = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rnnviz-progress", daemon=True)
        self._start = time.perf_counter()

    def update(self, detail: str) -> None:
        self.detail = detail  # a str assignment is atomic: the printing thread reads it as it is

    def __call__(self, done: int, total: int, what: str) -> None:
        """The engine's progress(done, total, what) callback shape."""
        self.update(what)

    def __enter__(self) -> "ProgressLine":
        self._start = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()
        if self.shown and self._is_tty():
            self.stream.write("\n")
            self.stream.flush()

    def _is_tty(self) -> bool:
        return bool(getattr(self.stream, "isatty", lambda: False)())

    def _run(self) -> None:
        if self._done.wait(self.show_after):
            return
        tty = self._is_tty()
        while True:
            elapsed = time.perf_counter() - self._start
            text = f"{self.label}: {self.detail + ', ' if self.detail else ''}{elapsed:.0f} s (Ctrl-C stops)"
            try:
                self.stream.write(f"\r{text}\x1b[K" if tty else text + "\n")
                self.stream.flush()
            except (OSError, ValueError):  # stderr closed: nothing to show progress on
                return
            self.shown = True
            if self._done.wait(TTY_EVERY if tty else PIPE_EVERY):
                return
