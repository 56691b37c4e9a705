"""A recording of several recurrent parts in one .npz, and reading it back.

File format (format "rnnviz-recording", format_version 1), written with numpy, read with
allow_pickle=False:
  meta            JSON: {"format": "rnnviz-recording", "format_version": 1, "parts": [name, ...]}
  part{i}/{key}   the i-th part (in `parts` order), each key exactly what Trace.save writes for
                  one trace ("part0/hidden", "part0/meta", "part0/param_grad/weight_hh_l0", ...)
load_recording reads this and also a single-trace file (returned as one part).
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from .trace import FORMAT, Trace, TraceFileError, _trace_from_arrays, load_trace

RECORDING_FORMAT = "rnnviz-recording"
RECORDING_VERSION = 1


def save_recording(traces: dict[str, Trace], path) -> None:
    """Write every part of `traces` (name -> Trace) to one .npz."""
    if not traces:
        raise ValueError("nothing to save: the recording holds no recurrent part")
    arrays = {}
    for index, trace in enumerate(traces.values()):
        buffer = io.BytesIO()
        trace.save(buffer)
        buffer.seek(0)
        with np.load(buffer, allow_pickle=False) as inner:
            for key in inner.files:
                arrays[f"part{index}/{key}"] = inner[key]
    meta = {"format": RECORDING_FORMAT, "format_version": RECORDING_VERSION, "parts": list(traces)}
    arrays["meta"] = np.array(json.dumps(meta))
    with open(path, "wb") as handle:
        np.savez_compressed(handle, **arrays)


def _read_meta(name: str, data) -> dict:
    if "meta" not in data.files:
        raise TraceFileError(f"{name}: not an rnnviz trace or recording (no 'meta' entry)")
    try:
        meta = json.loads(str(data["meta"]))
    except (json.JSONDecodeError, TypeError, ValueError) as exc:
        raise TraceFileError(f"{name}: unreadable metadata ({exc})") from None
    if not isinstance(meta, dict):
        raise TraceFileError(f"{name}: unreadable metadata (not a JSON object)")
    return meta


def load_recording(path) -> dict[str, Trace]:
    """{part name: Trace} from a recording file, or {name: trace} from a single-trace file.

    A single trace's name is its module_path, else its file name's stem. TraceFileError names the
    file and what is wrong.
    """
    path = Path(path)
    name = str(path)
    trace_file = load_trace  # single traces go through load_trace's own checks and messages
    try:
        data = np.load(path, allow_pickle=False)
    except (FileNotFoundError, IsADirectoryError, ValueError, OSError, zipfile.BadZipFile, EOFError):
        trace = trace_file(path)      # raises the precise TraceFileError
        return {trace.module_path or path.stem: trace}
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise TraceFileError(f"{name}: a single .npy array, not an rnnviz trace (.npz) file")
    with data:
        meta = _read_meta(name, data)
        if meta.get("format") == FORMAT:
            trace = trace_file(path)
            return {trace.module_path or path.stem: trace}
        if meta.get("format") != RECORDING_FORMAT:
            raise TraceFileError(f"{name}: not an rnnviz trace or recording (format is {meta.get('format')!r})")
        version = meta.get("format_version")
        if not isinstance(version, int) or version < 1:
            raise TraceFileError(f"{name}: invalid format_version {version!r}")
        if version > RECORDING_VERSION:
            raise TraceFileError(f"{name}: written by a newer rnnviz (recording format {version}; this rnnviz reads "
                                 f"up to {RECORDING_VERSION}); upgrade rnnviz")
        parts = meta.get("parts")
        if not isinstance(parts, list) or not parts or not all(isinstance(p, str) for p in parts):
            raise TraceFileError(f"{name}: the recording's 'parts' must be a non-empty list of names")
        if len(set(parts)) != len(parts):
            raise TraceFileError(f"{name}: the recording names a part twice")
        try:
            contents = {key: data[key] for key in data.files if key != "meta"}
        except (ValueError, OSError, zipfile.BadZipFile, EOFError, KeyError) as exc:
            raise TraceFileError(f"{name}: corrupt or truncated ({exc})") from None
    traces = {}
    for index, part in enumerate(parts):
        prefix = f"part{index}/"
        arrays = {key[len(prefix):]: value for key, value in contents.items() if key.startswith(prefix)}
        if not arrays:
            raise TraceFileError(f"{name}: part {part!r} has no arrays (expected keys {prefix}...)")
        traces[part] = _trace_from_arrays(f"{name} [{part}]", arrays)
    return traces
