"""Damaged trace files: each either loads and replays with every step readable, or is refused with
the one error (TraceFileError, one line, naming the file). Nothing else may escape."""
from __future__ import annotations

import io
import json
import os
import tempfile
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

import rnnviz
from rnnviz.engine.build import build
from rnnviz.engine.nonfinite import first_nonfinite
from rnnviz.engine.runner import Runner
from rnnviz.engine.spec import RNNSpec
from rnnviz.engine.trace import TraceFileError, load_trace
from rnnviz.errors import NonFiniteWarning
from rnnviz.engine.replay import ReplayRunner
from rnnviz.engine.step_table import sequence_tensors, step_table

import soakreport

CHECK = "damaged trace files"


def _contents(trace) -> dict:
    buffer = io.BytesIO()
    trace.save(buffer)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def _partial():
    built = build(RNNSpec(kind="gru", num_layers=2, seq_len=4, batch_size=2, hidden_size=3))
    runner = Runner(built.module, built.inputs, built.h0, spec=built.spec)
    for _ in range(5):
        runner.step()
    return runner.snapshot(copy=True)


@pytest.fixture(scope="module")
def originals():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonFiniteWarning)
        traces = [
            rnnviz.record(RNNSpec(kind="lstm", num_layers=2, bidirectional=True, batch_first=True, output_size=3,
                                  seq_len=4, batch_size=2, hidden_size=3)),
            rnnviz.record(RNNSpec(kind="gru_cell", seq_len=3, batch_size=2, hidden_size=2)),
            _partial(),
        ]
    return [_contents(trace) for trace in traces]


def _npz_bytes(contents: dict, compress: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as archive:
        for key, value in contents.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=True)
            archive.writestr(key + ".npy", member.getvalue())
    return buffer.getvalue()


JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
                    max_leaves=12)
DTYPES = ["int8", "int64", "bool", "complex64", "float16", "U3", "S3", "V8", "datetime64[s]", "uint16"]


@st.composite
def damaged(draw, originals):
    contents = dict(draw(st.sampled_from(originals)))
    keys = sorted(contents)
    damage = draw(st.sampled_from(["truncate", "random bytes", "flip bytes", "drop key", "rename key", "extra key",
                                   "wrong dtype", "wrong shape", "zero dimension", "huge header", "object array",
                                   "meta value", "meta text", "meta array"]))
    key = draw(st.sampled_from(keys))
    array_keys = [k for k in keys if k != "meta"]
    array_key = draw(st.sampled_from(array_keys))
    if damage in ("truncate", "flip bytes"):
        data = _npz_bytes(contents, compress=draw(st.booleans()))
        if damage == "truncate":
            return damage, data[:draw(st.integers(0, len(data) - 1))]
        data = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return damage, bytes(data)
    if damage == "random bytes":
        prefix = draw(st.sampled_from([b"", b"PK\x03\x04", b"\x93NUMPY"]))
        return damage, prefix + draw(st.binary(max_size=600))
    if damage == "drop key":
        contents.pop(key)
    elif damage == "rename key":
        contents[draw(st.text(min_size=1, max_size=12).filter(lambda k: "\x00" not in k))] = contents.pop(key)
    elif damage == "extra key":
        contents[draw(st.sampled_from(["gate/X", "param_grad/w", "input_grad", "zzz", "gate/A"]))] = np.zeros(
            draw(st.lists(st.integers(0, 4), max_size=5)), dtype=np.float32)
    elif damage == "wrong dtype":
        try:
            with np.errstate(all="ignore"):
                contents[array_key] = contents[array_key].astype(draw(st.sampled_from(DTYPES)))
        except (TypeError, ValueError):
            contents[array_key] = np.zeros(contents[array_key].shape, dtype=draw(st.sampled_from(DTYPES)))
    elif damage == "wrong shape":
        shape = draw(st.lists(st.integers(0, 7), max_size=6))
        contents[array_key] = np.zeros(shape, dtype=np.float32)
    elif damage == "zero dimension":
        value = contents[array_key]
        if value.ndim:
            axis = draw(st.integers(0, value.ndim - 1))
            contents[array_key] = np.take(value, [], axis=axis)
        else:
            contents[array_key] = np.zeros(0, np.float32)
    elif damage == "huge header":
        return damage, _huge(contents, array_key, draw(st.integers(10**9, 10**15)))
    elif damage == "object array":
        contents[key] = np.array([{"a": 1}, None], dtype=object)
    elif damage == "meta value":
        meta = json.loads(str(contents["meta"]))
        name = draw(st.sampled_from(sorted(meta) + ["first_nonfinite", "records", "spec"]))
        meta[name] = draw(JSON)
        contents["meta"] = np.array(json.dumps(meta))
    elif damage == "meta text":
        contents["meta"] = np.array(draw(st.text(max_size=40)))
    else:
        contents["meta"] = np.arange(draw(st.integers(0, 5)))
    return damage, _npz_bytes(contents, compress=draw(st.booleans()))


def _huge(contents: dict, key: str, count: int) -> bytes:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (count,)})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, value in contents.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, value, allow_pickle=False)
            archive.writestr(name + ".npy", header.getvalue() + b"\0" * 16 if name == key else member.getvalue())
    return buffer.getvalue()


def _replay_everything(trace) -> None:
    """What the window does with a loaded trace: every step's frame data, start to end."""
    replay = ReplayRunner(trace)
    total = len(replay.schedule)
    for position in sorted({0, 1, total // 2, max(total - 1, 0), total}):
        replay.seek(position)
        replay.snapshot()
        record = replay.record_at(position - 1) if position else None
        step_table(trace, record, None, None)
    sequence_tensors(trace)
    first_nonfinite(trace.hidden, trace.hidden_grad, trace.cell, trace.loss)
    assert trace.hidden_norm.shape == trace.hidden.shape[:3]


@hsettings(max_examples=soakreport.cases(150))
@given(data=st.data())
def test_damaged_trace_files_load_and_replay_or_give_the_one_error(originals, data):
    damage, payload = data.draw(damaged(originals))
    soakreport.tried(CHECK)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "damaged.npz")
        with open(path, "wb") as handle:
            handle.write(payload)
        try:
            trace = load_trace(path)
        except TraceFileError as exc:
            message = str(exc)
            assert path in message and "\n" not in message, message
            soakreport.held(CHECK, "refused with TraceFileError")
            return
        _replay_everything(trace)
    soakreport.held(CHECK, "loaded and replayed")
