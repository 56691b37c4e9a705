"""Pickle payloads in every container a user can open never run: each would create a marker file."""
from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

import rnnviz
from rnnviz.cli import main
from rnnviz.engine.spec import RNNSpec, SpecError
from rnnviz.engine.trace import TraceFileError, load_trace
from rnnviz.train.history import TrainingHistory

import soakreport

CHECK = "pickle payloads in opened files"


class Payload:
    """Unpickling this calls Path.touch(marker): the marker file existing means code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _object_npz(path: Path, marker: Path, good: dict, key: str) -> Path:
    contents = dict(good)
    contents[key] = np.array([Payload(marker), 1], dtype=object)
    np.savez(path, **contents, allow_pickle=True)
    return path


def _raw_pickle_member(path: Path, marker: Path, good: dict) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for key, value in good.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, value, allow_pickle=False)
            archive.writestr(key + ".npy", buffer.getvalue() if key != "hidden" else pickle.dumps(Payload(marker)))
    return path


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    path = tmp_path_factory.mktemp("good") / "good.npz"
    rnnviz.record(RNNSpec(kind="lstm", seq_len=3)).save(path)
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def _openers():
    def cli(path):
        return main([str(path)])  # `rnnviz FILE.npz`: loads before any window opens

    def history(path):
        return TrainingHistory.load(path)

    def spec(path):
        return RNNSpec.from_json(Path(path).read_text(encoding="utf-8", errors="replace"))

    return {"load_trace": load_trace, "rnnviz FILE": cli, "TrainingHistory.load": history, "spec JSON": spec}


@pytest.mark.parametrize("container", ["object array in hidden", "object array as meta", "raw pickle member",
                                       "pickle file named .npz", "pickle as .npy"])
@pytest.mark.parametrize("opener", sorted(_openers()))
def test_pickle_payloads_never_run(tmp_path, good, container, opener, capsys):
    marker = tmp_path / "PWNED"
    path = tmp_path / "payload.npz"
    if container == "object array in hidden":
        _object_npz(path, marker, good, "hidden")
    elif container == "object array as meta":
        _object_npz(path, marker, good, "meta")
    elif container == "raw pickle member":
        _raw_pickle_member(path, marker, good)
    elif container == "pickle file named .npz":
        path.write_bytes(pickle.dumps(Payload(marker)))
    else:
        path = tmp_path / "payload.npy"
        np.save(path, np.array([Payload(marker)], dtype=object), allow_pickle=True)
    soakreport.tried(CHECK)
    try:
        result = _openers()[opener](path)
    except (TraceFileError, SpecError, ValueError) as exc:
        assert "\n" not in str(exc)
    else:
        assert opener == "rnnviz FILE" and result == 2 and "rnnviz:" in capsys.readouterr().err
    assert not marker.exists(), f"{opener} ran a pickle payload from {container}"
    soakreport.held(CHECK, "refused, nothing unpickled")


def test_the_payload_really_would_run(tmp_path):
    """The control: unpickling the payload does create the marker, so its absence above means something."""
    marker = tmp_path / "PWNED"
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.exists()
