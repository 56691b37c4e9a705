"""`rnnviz bench scale`: the estimate, recording to disk over the budget, a measured record and replay."""
import json

from rnnviz.cli import main
from rnnviz.engine.memory import ENV_VAR


def test_quick_scale_bench_records_in_memory_then_to_disk(capsys, monkeypatch):
    monkeypatch.setenv(ENV_VAR, "1GiB")
    assert main(["bench", "scale", "--quick", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [row["kind"] for row in rows] == ["rnn", "lstm"]
    for row in rows:
        assert not row["to_disk"] and not row["spooled"] and row["record_s"] > 0
        assert row["peak_rss"] >= row["peak_rss_record"] >= row["base_rss"] > 0
        assert row["step_frame_ms_p95"] >= row["step_frame_ms_median"] > 0
    assert main(["bench", "scale", "--quick", "--json", "--memory-budget", "8MiB"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    for row in rows:
        assert row["to_disk"] and row["spooled"] and row["disk"] == row["planned_disk"] > 0
        assert row["planned_memory"] <= 8 << 20 and 1 <= row["chunk"] < 500
    assert main(["bench", "scale", "--quick", "--json", "--memory-budget", "64KiB"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert all("even with its large arrays on disk" in row["refusal"] for row in rows)


def test_scale_bench_skips_the_full_size_lstm_unless_asked(monkeypatch):
    from rnnviz.commands import bench_scale

    measured = []
    monkeypatch.setattr(bench_scale, "_measure", lambda kind, size, budget, window=False: measured.append((kind, size)) or {"error": "x"})
    args = type("Args", (), {"quick": False, "json": True, "all": False})()
    bench_scale.run(args)
    assert ("lstm", bench_scale.FULL) not in measured and ("rnn", bench_scale.FULL) in measured
