"""`rnnviz bench engine`: the module's own forward+backward vs `rnnviz.record`, side by side in one process."""
from __future__ import annotations

import json
import statistics
import time

SIZES = [(100, 32, 64, 128, 2), (512, 32, 128, 256, 2), (1000, 8, 64, 512, 1)]
QUICK_SIZES = [(50, 8, 16, 32, 2)]
TARGETS = {"rnn": 1.10, "gru": 1.10, "lstm": 1.5}


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000.0


def bench_pair(kind: str, size, repeats: int) -> dict:
    """Median ms of module fwd+bwd and of record(), in alternating pairs so both see the same machine load.

    Each trace is dropped at once, as a session that records again does, so record() reuses the
    buffers of the run before (engine/buffers.py). `fresh_ms` is record() after buffers.release():
    the first run of a process, every page of it new memory.
    """
    import torch

    from rnnviz.engine import buffers
    from rnnviz.engine.record import record

    T, B, I, H, L = size
    torch.manual_seed(0)
    module = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[kind](I, H, num_layers=L)
    x = torch.randn(T, B, I)

    def fused():
        module.zero_grad(set_to_none=True)
        out, _ = module(x)
        out.sum().backward()

    def ours():
        record(module, x)

    for _ in range(2):  # warm-up: allocator, oneDNN primitives, the buffers of a first run
        fused(), ours()
    module_ms, record_ms, fresh_ms = [], [], []
    for pair in range(repeats):
        # which runs first alternates, so neither always finds the caches the other left
        if pair % 2 == 0:
            module_ms.append(_timed(fused))
            record_ms.append(_timed(ours))
        else:
            record_ms.append(_timed(ours))
            module_ms.append(_timed(fused))
        buffers.release()
        fresh_ms.append(_timed(ours))
    m, r = statistics.median(module_ms), statistics.median(record_ms)
    # each pair ran back to back, so its ratio sees one machine load; the median of pairs is the figure
    ratios = [b / a for a, b in zip(module_ms, record_ms)]
    return {"kind": kind, "T": T, "B": B, "I": I, "H": H, "L": L, "module_ms": m, "record_ms": r,
            "ratio": statistics.median(ratios), "ratio_of_medians": r / m, "target": TARGETS[kind],
            "fresh_ms": statistics.median(fresh_ms),
            "fresh_ratio": statistics.median(f / a for a, f in zip(module_ms, fresh_ms))}


def bench_interactive_step(repeats: int, hidden: int = 512) -> dict:
    """Median ms of one Runner.step() (forward cell, then backward cell) at (T, B, I, H, L) = (50, 8, 64, H, 1)."""
    import torch

    from rnnviz.engine.runner import Runner

    torch.manual_seed(0)
    module = torch.nn.RNN(64, hidden)
    runner = Runner(module, torch.randn(50, 8, 64))
    forward_ms, backward_ms = [], []
    for _ in range(repeats):
        runner.reset()
        forward_ms += [_timed(runner.step) for _ in range(runner.num_forward)]
        backward_ms += [_timed(runner.step) for _ in range(len(runner.schedule) - runner.num_forward)]
    return {"H": hidden, "forward_step_ms": statistics.median(forward_ms),
            "backward_step_ms": statistics.median(backward_ms)}


WATCH_SIZES = [(35, 20, 1000, 200, 2), (100, 32, 100, 256, 2)]
WATCH_QUICK_SIZES = [(20, 8, 50, 32, 2)]
WATCH_TARGETS = {"rnn": 1.2, "gru": 1.2, "lstm": 1.6}


def bench_watched_step(kind: str, size, repeats: int) -> dict:
    """A training step (forward, cross-entropy, backward, SGD step) plain vs inside rnnviz.watch.

    Embedding(V, H) -> nn.RNN/GRU/LSTM(H, H, L) -> Linear(H, V) on (T, B) token ids; median of
    alternating pairs, so both see the same machine load. The watched time is the step only;
    reading w.traces (numpy copies of every h_t and dL/dh_t) is timed apart.
    """
    import torch

    from rnnviz.engine.watch import watch

    T, B, V, H, L = size
    torch.manual_seed(0)
    recurrent = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[kind]
    embed, rnn, decoder = torch.nn.Embedding(V, H), recurrent(H, H, L), torch.nn.Linear(H, V)
    model = torch.nn.ModuleDict({"embed": embed, "rnn": rnn, "decoder": decoder})
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    data, target = torch.randint(0, V, (T, B)), torch.randint(0, V, (T, B))

    def step():
        optimizer.zero_grad(set_to_none=True)
        out, _ = rnn(embed(data))
        loss = torch.nn.functional.cross_entropy(decoder(out).reshape(-1, V), target.reshape(-1))
        loss.backward()
        optimizer.step()

    watchers = []

    def watched():
        with watch(model) as w:
            step()
        watchers.append(w)

    step(), watched()  # warm-up
    plain_ms, watched_ms, read_ms = [], [], []
    for _ in range(repeats):
        plain_ms.append(_timed(step))
        watched_ms.append(_timed(watched))
        read_ms.append(_timed(lambda: watchers[-1].traces))
        watchers.clear()
    ratios = [b / a for a, b in zip(plain_ms, watched_ms)]
    return {"kind": kind, "T": T, "B": B, "V": V, "H": H, "L": L, "plain_ms": statistics.median(plain_ms),
            "watched_ms": statistics.median(watched_ms), "traces_ms": statistics.median(read_ms),
            "ratio": statistics.median(ratios), "target": WATCH_TARGETS[kind]}


def print_watched_steps(quick: bool, repeats: int, as_json: bool) -> list:
    rows = []
    if not as_json:
        print()
        print("watched training step: Embedding -> RNN/GRU/LSTM -> Linear, cross-entropy, SGD; plain step vs the same "
              "step inside rnnviz.watch (median of alternating pairs)")
        header = (f"{'kind':<5} {'(T, B, V, H, L)':<24} {'plain ms':>9} {'watched ms':>11} {'ratio':>7} {'target':>7}"
                  f" {'w.traces ms':>12}")
        print(header)
        print("-" * len(header), flush=True)
    for size in WATCH_QUICK_SIZES if quick else WATCH_SIZES:
        for kind in ("rnn", "gru", "lstm"):
            row = bench_watched_step(kind, size, repeats)
            rows.append(row)
            if not as_json:
                shape = f"({row['T']}, {row['B']}, {row['V']}, {row['H']}, {row['L']})"
                flag = "" if row["ratio"] <= row["target"] else "  over"
                print(f"{kind:<5} {shape:<24} {row['plain_ms']:>9.1f} {row['watched_ms']:>11.1f} {row['ratio']:>6.2f}x "
                      f"{row['target']:>6.2f}x {row['traces_ms']:>12.1f}{flag}", flush=True)
    return rows


def run(args) -> int:
    import torch

    sizes = QUICK_SIZES if args.quick else SIZES
    repeats = args.repeats if args.repeats is not None else (3 if args.quick else 7)
    table = not args.json
    if table:
        print(f"rnnviz bench engine: torch {torch.__version__}, {torch.get_num_threads()} threads, float32 CPU, "
              f"{repeats} alternating pairs (forward + backward); ms are medians, ratio is the median of the pairs' ratios; "
              "fresh: record() with no buffers left from a run before (a process's first run)")
        header = (f"{'kind':<5} {'(T, B, I, H, L)':<22} {'module ms':>10} {'record ms':>10} {'ratio':>7} {'target':>7}"
                  f" {'fresh ms':>9} {'fresh':>7}")
        print(header)
        print("-" * len(header), flush=True)
    rows = []
    for size in sizes:
        for kind in ("rnn", "gru", "lstm"):
            row = bench_pair(kind, size, repeats)
            rows.append(row)
            if table:
                shape = f"({row['T']}, {row['B']}, {row['I']}, {row['H']}, {row['L']})"
                flag = "" if row["ratio"] <= row["target"] else "  over"
                print(f"{row['kind']:<5} {shape:<22} {row['module_ms']:>10.1f} {row['record_ms']:>10.1f} "
                      f"{row['ratio']:>6.2f}x {row['target']:>6.2f}x {row['fresh_ms']:>9.1f} {row['fresh_ratio']:>6.2f}x"
                      f"{flag}", flush=True)
    step = bench_interactive_step(max(repeats // 2, 1), hidden=64 if args.quick else 512)
    watched = print_watched_steps(args.quick, repeats, args.json)
    worst = max(rows, key=lambda row: row["ratio"] / row["target"])
    if args.json:
        print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": rows,
                          "interactive_step": step, "watched_step": watched, "worst": worst}, indent=2))
        return 0
    print(f"interactive Runner.step at H={step['H']}, B=8: forward cell {step['forward_step_ms']:.3f} ms, "
          f"backward cell {step['backward_step_ms']:.3f} ms (median)")
    verdict = "within" if worst["ratio"] <= worst["target"] else "OVER"
    print(f"worst ratio: {worst['kind']} ({worst['T']}, {worst['B']}, {worst['I']}, {worst['H']}, {worst['L']}) "
          f"{worst['ratio']:.2f}x, target {worst['target']:.2f}x: {verdict}")
    return 0
