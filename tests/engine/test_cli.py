import subprocess
import sys

import numpy as np
import pytest

from rnnviz.cli import main
from rnnviz.engine.trace import load_trace


def test_trace_seed_rnncell_prints_the_tutorials_blocks(capsys):
    assert main(["trace", "--preset", "seed-rnncell"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    for t in range(3):
        start = lines.index(f"{'=' * 30} {t} {'=' * 30}")
        assert lines[start + 1] == "Input Size: torch.Size([5, 4])"
        assert lines[start + 2] == "outputs size: torch.Size([5, 2])"
        assert lines[start + 3].startswith("tensor([[")
    assert "|dL/dh| L0" in out


def test_trace_seed_rnn_prints_out_and_h_n_sizes_and_a_norm_table(capsys, tmp_path):
    path = tmp_path / "seed.npz"
    assert main(["trace", "--preset", "seed-rnn", "-o", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Output size: torch.Size([6, 5, 2])" in out
    assert "Hidden size: torch.Size([3, 5, 2])" in out
    header = next(line for line in out.splitlines() if line.lstrip().startswith("t "))
    for layer in range(3):
        assert f"|h| L{layer}" in header and f"|dL/dh| L{layer}" in header
    trace = load_trace(path)
    rows = [line.split() for line in out.splitlines() if line.split() and line.split()[0].isdigit()]
    assert len(rows) == 6
    assert float(rows[2][1]) == pytest.approx(trace.hidden_norm[0, 0, 2], rel=1e-4)
    assert float(rows[2][2]) == pytest.approx(trace.grad_norm[0, 0, 2], rel=1e-4)


def test_presets_lists_one_line_each(capsys):
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split()[0] for line in lines]
    for name in ("seed-rnncell", "seed-rnn", "vanishing-tanh", "exploding-relu", "lstm-memory", "char-hello"):
        assert name in names


@pytest.mark.parametrize("argv, expected", [
    (["trace", "--preset", "nope"], "unknown preset 'nope'"),
    (["trace", "--bogus"], "unrecognized arguments: --bogus"),
    (["trace", "--spec", "/nonexistent/spec.json"], "cannot read spec file"),
])
def test_errors_are_one_line_on_stderr_with_exit_code_2(argv, expected, capsys):
    with pytest.raises(SystemExit) if "--bogus" in argv else _no_raise():
        code = main(argv)
        assert code == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1 and "Traceback" not in err


def test_bad_spec_file(tmp_path, capsys):
    path = tmp_path / "spec.json"
    path.write_text('{"kind": "rnn", "hidden_size": 0}')
    assert main(["trace", "--spec", str(path)]) == 2
    assert "hidden_size must be between 1 and 65536, got 0" in capsys.readouterr().err


def test_console_script_runs_headless_without_traceback():
    result = subprocess.run([sys.executable, "-m", "rnnviz", "trace", "--preset", "nope"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.startswith("rnnviz: unknown preset")
    assert "Traceback" not in result.stderr


def test_bench_engine_quick_prints_a_table(capsys):
    assert main(["bench", "engine", "--quick", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "ratio" in out and all(kind in out for kind in ("rnn ", "gru ", "lstm "))
    assert np.isfinite(float(out.split("forward cell ")[1].split()[0]))


class _no_raise:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
