"""One runner protocol: the live Runner and the replay of its trace walk the same schedule, give the
same typed records and the same tensor table; records survive the file as typed objects."""
from __future__ import annotations

import io

import numpy as np
import pytest

from rnnviz.engine.operands import Operand
from rnnviz.teaching.presets import get_preset
from rnnviz.engine.protocol import StepRunner
from rnnviz.engine.record import record
from rnnviz.engine.replay import ReplayRunner
from rnnviz.engine.runner import Runner
from rnnviz.engine.schedule import Cell, StepRecord, full_schedule
from rnnviz.engine.step_table import sequence_tensors, step_table
from rnnviz.engine.trace import load_trace


def _saved_and_loaded(trace, tmp_path):
    path = tmp_path / "t.npz"
    trace.save(path)
    return load_trace(path)


def test_both_runners_implement_the_protocol():
    runner = Runner.from_spec(get_preset("seed-rnn"))
    replay = ReplayRunner(record(get_preset("seed-rnn")))
    assert isinstance(runner, StepRunner) and isinstance(replay, StepRunner)
    assert runner.schedule == replay.schedule == full_schedule(3, 1, 6)
    assert all(isinstance(c, Cell) for c in replay.schedule)


def test_records_are_typed_in_memory_and_in_a_loaded_file(tmp_path):
    runner = Runner.from_spec(get_preset("lstm-memory"))
    runner.seek(runner.num_forward + 2)
    loaded = _saved_and_loaded(runner.snapshot(copy=True), tmp_path)
    assert len(loaded.records) == runner.position
    for ours, theirs in zip(runner.records, loaded.records):
        assert isinstance(theirs, StepRecord) and theirs.cell == ours.cell
        assert theirs.h_norm == pytest.approx(ours.h_norm) and theirs.operands == ours.operands
        assert all(isinstance(op, Operand) for op in theirs.operands)
    assert loaded.records[-1].grad_norm == pytest.approx(runner.records[-1].grad_norm)


def test_version_counts_every_change():
    runner = Runner.from_spec(get_preset("seed-rnn"))
    seen = {runner.version}
    runner.step()
    seen.add(runner.version)
    runner.back()
    seen.add(runner.version)
    assert len(seen) == 3
    replay = ReplayRunner(record(get_preset("seed-rnn")))
    before = replay.version
    replay.seek(0)
    assert replay.version == before  # nothing moved
    replay.seek(4)
    assert replay.version == before + 1


@pytest.mark.parametrize("preset", ["lstm-memory", "batch-first", "seed-rnncell"])
def test_replay_table_equals_the_live_table(preset):
    spec = get_preset(preset)
    runner = Runner.from_spec(spec)
    replay = ReplayRunner(record(spec), module=runner.module)
    for position in (1, runner.num_forward, runner.num_forward + 1, len(runner.schedule)):
        runner.seek(position)
        replay.seek(position)
        live = step_table(runner.snapshot(), runner.record_at(position - 1), runner.module, runner.initial_states)
        again = step_table(replay.snapshot(), replay.record_at(position - 1), replay.module, replay.initial_states)
        assert [r["name"] for r in live] == [r["name"] for r in again]
        for a, b in zip(live, again):
            if a.get("norm") is not None:
                assert b["norm"] == pytest.approx(a["norm"], rel=1e-5, abs=1e-7), a["name"]


def test_table_reads_the_real_initial_state():
    import torch

    torch.manual_seed(0)
    module = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True).double()
    h0, c0 = torch.randn(4, 2, 4, dtype=torch.float64), torch.randn(4, 2, 4, dtype=torch.float64)
    runner = Runner(module, torch.randn(5, 2, 3, dtype=torch.float64), (h0, c0))
    runner.seek(5)  # layer 0, direction 1 starts at t = T-1 from h0[1]
    row = {r["name"]: r for r in step_table(runner.snapshot(), runner.record_at(4), runner.module, runner.initial_states)}
    assert runner.record_at(4).cell == Cell("forward", 0, 0, 4)
    runner.seek(6)
    row = {r["name"]: r for r in step_table(runner.snapshot(), runner.record_at(5), runner.module, runner.initial_states)}
    assert runner.record_at(5).cell == Cell("forward", 0, 1, 4)
    assert row["H_{t-1}"]["norm"] == pytest.approx(float(np.linalg.norm(h0[1].numpy())))
    assert row["C_{t-1}"]["mean"] == pytest.approx(float(c0[1].mean()))


def test_sequence_shapes_follow_torch():
    runner = Runner.from_spec(get_preset("seed-rnn"))
    runner.run_forward()
    trace = runner.snapshot()
    shapes = {name: shape for name, shape, _ in sequence_tensors(trace)}
    assert shapes["out"] == trace.output.shape and shapes["h_n"] == trace.h_n.shape


def test_a_bad_record_entry_in_a_file_names_the_problem(tmp_path):
    trace = Runner.from_spec(get_preset("seed-rnn")).snapshot(copy=True)
    buffer = io.BytesIO()
    trace.save(buffer)
    path = tmp_path / "bad.npz"
    with np.load(io.BytesIO(buffer.getvalue()), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    import json

    meta = json.loads(str(arrays["meta"]))
    meta["records"] = [{"phase": "forward"}]
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    from rnnviz.engine.trace import TraceFileError

    with pytest.raises(TraceFileError, match="records"):
        load_trace(path)



def test_a_custom_module_replays_with_typed_operands(tmp_path):
    from rnnviz.train.config import TrainConfig
    from rnnviz.train.training import iteration_run, train

    history, _ = train(TrainConfig(epochs=1, sample_every=0))  # the tutorial's i2h/i2o model: record_custom
    run = iteration_run(history, 0)
    trace = run.trace()
    assert trace.kind == "custom" and all(isinstance(op, Operand) for op in trace.operands[0])
    replay = ReplayRunner(trace, module=run.module)
    replay.seek(1)
    rows = {r["name"]: r for r in step_table(replay.snapshot(), replay.record_at(0), replay.module, replay.initial_states)}
    assert rows["H_t"]["norm"] == pytest.approx(float(np.linalg.norm(trace.hidden[0, 0, 0].astype(np.float64))))
    assert _saved_and_loaded(trace, tmp_path).operands == trace.operands
