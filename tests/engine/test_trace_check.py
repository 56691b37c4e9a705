"""Every defect of issue 10's trace-file list: each damaged file gives TraceFileError naming the file and field."""
import errno
import io
import json
import zipfile

import numpy as np
import pytest

import rnnviz
from rnnviz.engine.build import build
from rnnviz.engine.runner import Runner
from rnnviz.engine.spec import RNNSpec
from rnnviz.engine.trace import TraceFileError, load_trace


@pytest.fixture(scope="module")
def good_contents(tmp_path_factory):
    path = tmp_path_factory.mktemp("good") / "good.npz"
    rnnviz.record(RNNSpec(kind="lstm", num_layers=2, seq_len=6, batch_size=5, hidden_size=2)).save(path)
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _write(path, contents, **meta_changes):
    contents = dict(contents)
    meta = json.loads(str(contents["meta"]))
    meta.update(meta_changes)
    contents["meta"] = np.array(json.dumps(meta))
    np.savez(path, **contents)
    return path


def _refused(path, *words):
    with pytest.raises(TraceFileError) as info:
        load_trace(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    for word in words:
        assert word in message, message
    return message


def test_zero_timesteps_refused(tmp_path, good_contents):
    contents = dict(good_contents)
    for key in list(contents):
        if key != "meta" and contents[key].ndim == 5:
            contents[key] = contents[key][:, :, :0]
    _refused(_write(tmp_path / "zero.npz", contents, spec=None, records=[]), "'hidden'", "zero dimension")


@pytest.mark.parametrize("change, words", [
    ({"records": 5}, ("'records'", "a list")),
    ({"loss": "abc"}, ("'loss'", "a number or null")),
    ({"operands": "xyz"}, ("'operands'", "a list")),
    ({"records": [{"phase": "forward", "layer": "x", "direction": 0, "t": 0}]}, ("records[0]", "layer")),
    ({"records": [{"phase": "forward", "layer": 7, "direction": 0, "t": 0}]}, ("records[0]", "[0, 1]")),
    ({"is_cell": "yes"}, ("'is_cell'",)),
    ({"spec": {"kind": "lstm", "hidden_size": 3, "num_layers": 2, "seq_len": 6, "batch_size": 5}}, ("hidden_size",)),
])
def test_metadata_types_checked(tmp_path, good_contents, change, words):
    _refused(_write(tmp_path / "meta.npz", good_contents, **change), *words)


@pytest.mark.parametrize("key, value, words", [
    ("hidden", np.array([["a"] * 2] * 2), ("'hidden'",)),
    ("hidden", np.zeros((4, 1, 6, 5, 2), np.float32), ("'hidden_grad'",)),
    ("output", np.zeros(30, np.float32), ("'output'",)),
    ("output", np.zeros((6, 5, 3), np.float32), ("'output'", "(6, 5, 2)")),
    ("hidden_grad", np.zeros((2, 1, 6, 5, 2), np.int64), ("'hidden_grad'", "floating point")),
    ("h_n", np.zeros((2, 5, 3), np.float32), ("'h_n'",)),
    ("gate/Q", np.zeros((2, 1, 6, 5, 2), np.float32), ("gate(s) Q",)),
    ("surprise", np.zeros(3), ("unknown field 'surprise'",)),
])
def test_arrays_checked_against_each_other(tmp_path, good_contents, key, value, words):
    contents = dict(good_contents)
    contents[key] = value
    _refused(_write(tmp_path / "arrays.npz", contents), *words)


def test_object_array_refused_from_its_header(tmp_path, good_contents):
    contents = dict(good_contents)
    contents["hidden"] = np.array([{"a": 1}], dtype=object)
    path = tmp_path / "object.npz"
    np.savez(path, **contents, allow_pickle=True)
    _refused(path, "'hidden'", "object array")


def test_unpacked_size_limited_before_decompressing(tmp_path, good_contents):
    path = _write(tmp_path / "good.npz", good_contents)
    _refused_big = pytest.raises(TraceFileError)
    with _refused_big as info:
        load_trace(path, max_bytes=1000)
    assert "over the limit of 1000 bytes" in str(info.value) and "RNNVIZ_TRACE_MAX_BYTES" in str(info.value)


def test_npy_header_declaring_more_than_the_member_holds(tmp_path, good_contents):
    """A tiny member whose header claims 80 GB: refused from the header, nothing allocated."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**10,)})
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for key, value in good_contents.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, value, allow_pickle=False)
            archive.writestr(key + ".npy", buffer.getvalue())
        archive.writestr("step_ms.npy", header.getvalue() + b"\0" * 64)
    _refused(path, "'step_ms'", "74.5 GiB")


def test_partial_run_saved_from_the_window_loads(tmp_path):
    built = build(RNNSpec(kind="gru", num_layers=2))
    runner = Runner(built.module, built.inputs, built.h0, spec=built.spec)
    for _ in range(3):
        runner.step()
    path = tmp_path / "partial.npz"
    runner.snapshot(copy=True).save(path)
    again = load_trace(path)
    assert len(again.records) == 3 and again.output.size == 0 and np.isnan(again.loss)


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch, good_contents):
    trace = rnnviz.record(RNNSpec(kind="rnn"))
    path = tmp_path / "x.npz"
    trace.save(path)
    before = path.read_bytes()

    def disk_full(handle, **arrays):
        handle.write(b"PK\x03\x04 partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", disk_full)
    with pytest.raises(TraceFileError) as info:
        trace.save(path)
    message = str(info.value)
    assert str(path) in message and "No space left on device" in message and "unchanged" in message
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npz"]   # no temporary file left behind


def test_save_into_a_missing_folder_names_the_path(tmp_path):
    path = tmp_path / "no-such-folder" / "x.npz"
    with pytest.raises(TraceFileError) as info:
        rnnviz.record(RNNSpec(kind="rnn")).save(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("field_offset, value, words", [
    (6, b"\x40\x00", "zip file version 6.4"),    # central directory: version needed to extract
    (8, b"\x01\x00", "encrypted"),                # central directory: general purpose flags, bit 0
])
def test_zip_headers_fuzzing_found(tmp_path, good_contents, field_offset, value, words):
    """Found by the soak: zipfile raises NotImplementedError / RuntimeError for these, not BadZipFile."""
    path = _write(tmp_path / "good.npz", good_contents)
    data = bytearray(path.read_bytes())
    at = data.index(b"PK\x01\x02") + field_offset
    data[at:at + 2] = value
    path.write_bytes(bytes(data))
    _refused(path, words)
