"""`rnnviz bench scale`: the estimate, the refusal under a small budget, a measured record."""
import json

from rnnviz.cli import main
from rnnviz.engine.memory import ENV_VAR


def test_quick_scale_bench_measures_and_refuses(capsys, monkeypatch):
    monkeypatch.setenv(ENV_VAR, "1GiB")
    assert main(["bench", "scale", "--quick", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [row["kind"] for row in rows] == ["rnn", "lstm"]
    for row in rows:
        assert row["within_budget"] and row["record_s"] > 0 and row["peak_rss"] >= row["base_rss"] > 0
        assert row["estimate"] > 0
    assert main(["bench", "scale", "--quick", "--json", "--memory-budget", "1MiB"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert all(not row["within_budget"] and "over the memory budget of 1.0 MiB" in row["refusal"] for row in rows)
    assert all(row["window"].startswith("Build refused") for row in rows)
