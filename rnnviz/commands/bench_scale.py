"""`rnnviz bench scale`: long sequences. Per case, the memory estimate against the budget (a
refusal is the expected answer above it), then, where the machine has room, the real record
in a child process with the budget raised to fit: its time and its peak resident memory.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

CASES = [("rnn", (10000, 64, 64, 1024, 2)), ("lstm", (10000, 64, 64, 1024, 2)),
         ("rnn", (2000, 32, 64, 512, 2)), ("lstm", (2000, 32, 64, 512, 2))]
QUICK_CASES = [("rnn", (500, 8, 16, 64, 2)), ("lstm", (500, 8, 16, 64, 2))]
CHILD_TIMEOUT_S = 600

_CHILD = """
import json, resource, sys, time, torch
import rnnviz
kind, (T, B, I, H, L) = sys.argv[1], map(int, sys.argv[2].split(","))
torch.manual_seed(0)
module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](I, H, num_layers=L)
x = torch.randn(T, B, I)
rnnviz.record(module, x[:8])  # warm both paths (allocator, oneDNN kernels) on a short slice first
module(x[:8])[0].sum().backward()
module.zero_grad(set_to_none=True)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
start = time.perf_counter()
trace = rnnviz.record(module, x)
seconds = time.perf_counter() - start
del trace
start = time.perf_counter()
out, _ = module(x)
out.sum().backward()
module_seconds = time.perf_counter() - start
print(json.dumps({"record_s": seconds, "module_s": module_seconds, "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "base_rss": base}))
"""


def _available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (Linux); None elsewhere."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _measure(kind: str, size, budget: int) -> dict:
    env = dict(os.environ)
    from rnnviz.engine.memory import ENV_VAR

    env[ENV_VAR] = str(budget)
    done = subprocess.run([sys.executable, "-c", _CHILD, kind, ",".join(map(str, size))], capture_output=True,
                          text=True, env=env, timeout=CHILD_TIMEOUT_S)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["exit code %d" % done.returncode])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(args) -> int:
    from rnnviz.engine.memory import MemoryBudgetError, check, estimate, format_bytes, memory_budget

    budget = memory_budget()
    available = _available_bytes()
    cases = QUICK_CASES if args.quick else CASES
    rows = []
    if not args.json:
        print(f"rnnviz bench scale: memory budget {format_bytes(budget)}, available "
              f"{format_bytes(available) if available else 'unknown'}; record runs in a child process "
              f"(float32 CPU), with the budget raised to fit where the machine has room")
    for kind, size in cases:
        T, B, I, H, L = size
        needed = estimate(kind, L, 1, T, B, I, H)
        stepping = estimate(kind, L, 1, T, B, I, H, stepping=True)
        row = {"kind": kind, "T": T, "B": B, "I": I, "H": H, "L": L, "estimate": needed.peak,
               "estimate_text": needed.describe(), "stepping_estimate": stepping.peak}
        try:
            check(needed, budget)
            row["within_budget"] = True
        except MemoryBudgetError as exc:
            row["within_budget"], row["refusal"] = False, str(exc)
        room = available is not None and needed.peak < available // 2
        if room:
            row.update(_measure(kind, size, max(budget, int(needed.peak * 1.2))))
        else:
            row["skipped"] = (f"not run: needs {format_bytes(needed.peak)}, more than half of the "
                              f"{format_bytes(available) if available else 'unknown'} available")
        row["window"] = ("Build refused: stepping needs " + format_bytes(stepping.peak) + ", over the budget"
                         if stepping.peak > budget else
                         f"stepping needs {format_bytes(stepping.peak)}, within the budget; "
                         "window timings are not part of this bench (see rnnviz bench gui)")
        rows.append(row)
        if not args.json:
            _print_row(row, format_bytes)
    if args.json:
        print(json.dumps({"budget": budget, "available": available, "rows": rows}, indent=2))
    return 0


def _print_row(row: dict, format_bytes) -> None:
    shape = f"({row['T']}, {row['B']}, {row['I']}, {row['H']}, {row['L']})"
    print(f"\n{row['kind']} {shape}: record needs {row['estimate_text']}")
    print("  under the budget: " + ("runs" if row["within_budget"] else "refused: " + row["refusal"]))
    if "record_s" in row:
        print(f"  measured with the budget raised: record {row['record_s']:.2f} s (the module's own forward+backward "
              f"{row['module_s']:.2f} s), peak resident "
              f"{format_bytes(row['peak_rss'])} ({format_bytes(row['base_rss'])} before record: torch and the inputs)")
    elif "error" in row:
        print(f"  measured with the budget raised: failed: {row['error']}")
    else:
        print(f"  {row['skipped']}")
    print(f"  window: {row['window']}", flush=True)
