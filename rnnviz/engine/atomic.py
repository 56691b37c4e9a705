"""Saving without ever leaving a half-written file: write beside it, then rename over it."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, write, error=OSError) -> None:
    """Write through a temporary file in the same folder, then rename it over `path`: a full disk or
    any failure leaves the file that was there untouched (`error` naming `path`)."""
    handle = None
    try:
        handle = tempfile.NamedTemporaryFile("wb", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False)
        with handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, _new_file_mode(path))
        os.replace(handle.name, path)
    except (OSError, ValueError) as exc:
        if handle is not None:
            try:
                os.unlink(handle.name)
            except OSError:
                pass
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        kept = " (the file that was there is unchanged)" if path.exists() else ""
        raise error(f"{path}: could not be saved: {reason}{kept}") from None


def _new_file_mode(path: Path) -> int:
    """The existing file's permissions, or what the umask gives a new file (tempfiles start at 0600)."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
