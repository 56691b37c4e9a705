import io
import json
import zipfile

import numpy as np
import pytest

import rnnviz
from rnnviz.teaching.presets import get_preset
from rnnviz.engine.trace import FORMAT_VERSION, TraceFileError, load_trace


@pytest.fixture(scope="module")
def lstm_trace():
    return rnnviz.record(get_preset("lstm-memory").replace(seq_len=8, bidirectional=True, num_layers=2))


def test_exact_round_trip(tmp_path, lstm_trace):
    path = tmp_path / "run.npz"
    lstm_trace.save(path)
    again = load_trace(path)
    for name in ("inputs", "output", "hidden", "hidden_grad", "cell", "h_n", "c_n", "grad_norm",
                 "whh_grad_contrib_norm", "saturation"):
        np.testing.assert_array_equal(getattr(again, name), getattr(lstm_trace, name), err_msg=name)
    assert again.param_grads.keys() == lstm_trace.param_grads.keys()
    for name in lstm_trace.param_grads:
        np.testing.assert_array_equal(again.param_grads[name], lstm_trace.param_grads[name])
    assert again.gates.keys() == {"I", "F", "G", "O"}
    assert again.spec == lstm_trace.spec and again.loss == lstm_trace.loss
    assert again.operands == lstm_trace.operands and again.equation == lstm_trace.equation


def test_file_is_plain_npz_without_pickles(tmp_path, lstm_trace):
    path = tmp_path / "run.npz"
    lstm_trace.save(path)
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
    assert meta["format"] == "rnnviz-trace" and meta["format_version"] == FORMAT_VERSION
    assert meta["spec"]["kind"] == "lstm" and "torch_version" in meta


def _rewrite_meta(source, target, **changes):
    with np.load(source, allow_pickle=False) as data:
        contents = {k: data[k] for k in data.files}
    meta = json.loads(str(contents["meta"]))
    meta.update(changes)
    contents["meta"] = np.array(json.dumps(meta))
    np.savez(target, **contents)


def test_bad_files_give_one_line_naming_the_file(tmp_path, lstm_trace):
    good = tmp_path / "good.npz"
    lstm_trace.save(good)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:500])
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.zeros(3))
    newer = tmp_path / "newer.npz"
    _rewrite_meta(good, newer, format_version=FORMAT_VERSION + 1)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, meta=np.array([{"a": 1}], dtype=object))
    cases = {
        tmp_path / "missing.npz": "no such file",
        truncated: "truncated.npz",
        text: "not an rnnviz trace",
        foreign: "no 'meta' entry",
        newer: "written by a newer rnnviz",
        pickled: "pickled.npz",
        tmp_path: "is a directory",
    }
    for path, expected in cases.items():
        with pytest.raises(TraceFileError) as info:
            load_trace(path)
        message = str(info.value)
        assert expected in message and str(path) in message and "\n" not in message


def test_save_to_a_stream(lstm_trace):
    buffer = io.BytesIO()
    lstm_trace.save(buffer)
    assert zipfile.is_zipfile(io.BytesIO(buffer.getvalue()))
