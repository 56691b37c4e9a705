import subprocess
import sys

CHECK = """
import sys
import rnnviz
assert 'torch' not in sys.modules, 'import rnnviz must not import torch'
from rnnviz.engine import build, runner, record, trace, spec, custom
from rnnviz.teaching import presets, codegen, lessons
import rnnviz.cli
from rnnviz.commands import trace as trace_cmd, presets as presets_cmd, bench_engine, trace_module
from rnnviz.engine import watch, parts, layer_function, part_trace, model_record, recording_file
rnnviz.record(presets.get_preset('seed-rnn'))
from rnnviz.train import training, history, config, charmodel
from rnnviz.analysis import spectral
qt = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'pyqtgraph', 'qtpy', 'superqt', 'shiboken6'))
assert not qt, qt
print('clean')
"""


def test_engine_and_headless_commands_import_no_qt():
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "clean"
