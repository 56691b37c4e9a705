"""`rnnviz bench scale`: long sequences under the memory budget. Per case, in a child process with
the budget as set: the estimate, whether the run is recorded to disk (engine/long_record.py), the
time to record, the spool's size on disk, peak resident memory (VmHWM) after the record and
after replaying it as the window does (ReplayRunner frames: a window of the files around the
cursor, and the step's tensor table), and the time of such a frame. With --window the child also
opens the real window offscreen over the recorded trace (the command itself never imports Qt):
time to its first frame and Step -> every panel repainted.

The full-size LSTM is about 30-45 minutes of the module's own compute on a 2-core CPU, so it is
listed and skipped unless --all is given; the LSTM is measured at the smaller size.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

FULL = (10000, 64, 64, 1024, 2)
CASES = [("rnn", FULL), ("lstm", FULL), ("rnn", (2000, 32, 64, 512, 2)), ("lstm", (2000, 32, 64, 512, 2))]
QUICK_CASES = [("rnn", (500, 8, 16, 64, 2)), ("lstm", (500, 8, 16, 64, 2))]
CHILD_TIMEOUT_S = 4 * 3600
FRAMES = 20

_CHILD = """
import json, resource, statistics, sys, time, torch
import rnnviz
from rnnviz.engine.replay import ReplayRunner
from rnnviz.engine.step_table import step_table

def rss():
    # VmHWM: ru_maxrss would start from the parent's resident size (Linux keeps it across fork and exec)
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

kind, (T, B, I, H, L), frames = sys.argv[1], map(int, sys.argv[2].split(",")), int(sys.argv[3])
torch.manual_seed(0)
module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](I, H, num_layers=L)
x = torch.randn(T, B, I)
rnnviz.record(module, x[:8])  # warm the paths (allocator, oneDNN kernels) on a short slice first
base = rss()
start = time.perf_counter()
trace = rnnviz.record(module, x)
record_s = time.perf_counter() - start
after_record = rss()

def frame(runner):
    snapshot = runner.snapshot()
    step_table(snapshot, runner.record_at(runner.position - 1), runner.module, None)

runner = ReplayRunner(trace, module=module)
start = time.perf_counter()
runner.seek(runner.num_forward // 2)
frame(runner)
open_ms = 1000 * (time.perf_counter() - start)
step_ms = []
for phase_start in (runner.num_forward // 2, runner.num_forward + (len(runner.schedule) - runner.num_forward) // 2):
    runner.seek(phase_start)
    for _ in range(frames):
        start = time.perf_counter()
        runner.step()
        frame(runner)
        step_ms.append(1000 * (time.perf_counter() - start))
step_ms.sort()
window = None
if sys.argv[4] == "window":  # the real window, offscreen, in this child: the command itself never imports Qt
    from rnnviz.gui.bench import measure_trace_window
    window = measure_trace_window(trace, frames)
print(json.dumps({"window": window, "record_s": record_s, "base_rss": base, "peak_rss_record": after_record, "peak_rss": rss(),
                  "spooled": trace.spooled, "disk": trace.storage.disk_bytes if trace.spooled else 0,
                  "chunk": trace.storage.chunk if trace.spooled else None,
                  "overview_step": trace.storage.overview_step if trace.spooled else None,
                  "open_frame_ms": open_ms, "step_frame_ms_median": statistics.median(step_ms),
                  "step_frame_ms_p95": step_ms[int(0.95 * (len(step_ms) - 1))]}))
"""


def _measure(kind: str, size, budget: int, window: bool = False) -> dict:
    from rnnviz.engine.memory import ENV_VAR

    env = {**os.environ, ENV_VAR: str(budget)}
    try:
        done = subprocess.run([sys.executable, "-c", _CHILD, kind, ",".join(map(str, size)), str(FRAMES),
                               "window" if window else "-"],
                              capture_output=True, text=True, env=env, timeout=CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish in {CHILD_TIMEOUT_S} s"}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["exit code %d" % done.returncode])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _plan(kind: str, size, budget: int) -> dict:
    from rnnviz.engine.memory import MemoryBudgetError, estimate, plan_spool

    T, B, I, H, L = size
    needed = estimate(kind, L, 1, T, B, I, H)
    row = {"estimate": needed.peak, "estimate_text": needed.describe(), "to_disk": needed.peak > budget}
    if row["to_disk"]:
        try:
            plan = plan_spool(kind, L, 1, T, B, I, H, budget=budget)
            row.update(planned_disk=plan.disk, planned_memory=plan.needed.peak, planned_text=plan.needed.describe())
        except MemoryBudgetError as exc:
            row["refusal"] = str(exc)
    return row


def run(args) -> int:
    from rnnviz.engine.memory import format_bytes, memory_budget

    budget = memory_budget()
    cases = QUICK_CASES if args.quick else CASES
    run_all = getattr(args, "all", False)
    rows = []
    if not args.json:
        print(f"rnnviz bench scale: memory budget {format_bytes(budget)}; each case records in a child process "
              f"(float32 CPU, {os.cpu_count()} cores), then replays {2 * FRAMES} frames as the window does")
    for kind, size in cases:
        T, B, I, H, L = size
        row = {"kind": kind, "T": T, "B": B, "I": I, "H": H, "L": L, **_plan(kind, size, budget)}
        if "refusal" in row:
            pass
        elif kind == "lstm" and size == FULL and not run_all:
            row["skipped"] = ("not run: about 30-45 minutes of the module's own compute on 2 cores; "
                              "rnnviz bench scale --all runs it")
        else:
            row.update(_measure(kind, size, budget, getattr(args, "window", False)))
        rows.append(row)
        if not args.json:
            _print_row(row, format_bytes)
    if args.json:
        print(json.dumps({"budget": budget, "rows": rows}, indent=2))
    return 0


def _print_row(row: dict, format_bytes) -> None:
    shape = f"(T, B, I, H, L) = ({row['T']}, {row['B']}, {row['I']}, {row['H']}, {row['L']})"
    print(f"\n{row['kind']} {shape}: in memory it needs {row['estimate_text']}")
    if "refusal" in row:
        print(f"  refused: {row['refusal']}")
        return
    if row["to_disk"]:
        print(f"  over the budget: recorded to disk, {format_bytes(row['planned_disk'])} of files, "
              f"{row['planned_text']} in memory")
    else:
        print("  within the budget: recorded in memory")
    if "skipped" in row:
        print(f"  {row['skipped']}")
    elif "error" in row:
        print(f"  failed: {row['error']}")
    else:
        where = (f"to disk ({format_bytes(row['disk'])}, chunks of {row['chunk']} timesteps, overview every "
                 f"{row['overview_step']})" if row["spooled"] else "in memory")
        print(f"  record {row['record_s']:.1f} s {where}; peak resident {format_bytes(row['peak_rss_record'])} after "
              f"the record, {format_bytes(row['peak_rss'])} after replaying ({format_bytes(row['base_rss'])} before: "
              f"torch, the module and its inputs)")
        print(f"  replay frame (worker side: window + step table): first {row['open_frame_ms']:.1f} ms, then median "
              f"{row['step_frame_ms_median']:.1f} ms, p95 {row['step_frame_ms_p95']:.1f} ms; the GUI paint is "
              f"`rnnviz bench gui`'s", flush=True)
        if row.get("window"):
            w = row["window"]
            print(f"  window (offscreen, --window): open to first frame {w['open_ms']:.0f} ms; Step -> every panel "
                  f"repainted median {w['step_ms']['median']:.1f} ms, p95 {w['step_ms']['p95']:.1f} ms; Backward "
                  f"step median {w['backward_step_ms']['median']:.1f} ms, p95 {w['backward_step_ms']['p95']:.1f} ms",
                  flush=True)
