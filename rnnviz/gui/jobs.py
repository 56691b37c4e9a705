"""Work done off the GUI thread: one error wrapper and the typed messages jobs hand back.

superqt's GeneratorWorker drops some exceptions raised inside generators (RuntimeErrors such as a
CUDA out-of-memory), so a job never raises: `guarded` turns any exception into a Failed message,
which the receiving view shows as one line. Used by the debugger's Session, the training view and
the compare view.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import wraps


@dataclass
class Failed:
    """The job raised `exc`; nothing follows it."""

    exc: BaseException


@dataclass
class Built:
    """A runner to drive from now on (built from a spec, a training iteration, or a trace to browse)."""

    runner: object
    spec: object
    device: str
    read_only: bool = False


@dataclass
class DevicesFound:
    devices: list          # [(device, label)] once torch is loaded


@dataclass
class JobResult:
    """Something a custom job (Session.run_job) found, for `callback` on the GUI thread."""

    callback: object
    value: object


class Playing:
    """Play has started (its frames follow)."""


def guarded(job):
    """Wrap a generator function so any exception is yielded as Failed instead of raised."""
    @wraps(job)
    def wrapped(*args, **kwargs):
        try:
            yield from job(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every torch error becomes a message
            yield Failed(exc)
    return wrapped
