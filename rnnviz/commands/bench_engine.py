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
    """Median ms of module fwd+bwd and of record(), alternating runs so both see the same machine load."""
    import torch

    import rnnviz

    T, B, I, H, L = size
    torch.manual_seed(0)
    module = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[kind](I, H, num_layers=L)
    x = torch.randn(T, B, I)

    def fused():
        module.zero_grad(set_to_none=True)
        out, _ = module(x)
        out.sum().backward()

    def ours():
        rnnviz.record(module, x)

    fused(), ours()  # warm-up: allocator, oneDNN primitives
    module_ms, record_ms = [], []
    for _ in range(repeats):
        module_ms.append(_timed(fused))
        record_ms.append(_timed(ours))
    m, r = statistics.median(module_ms), statistics.median(record_ms)
    ratios = [b / a for a, b in zip(module_ms, record_ms)]
    return {"kind": kind, "T": T, "B": B, "I": I, "H": H, "L": L, "module_ms": m, "record_ms": r,
            "ratio": r / m, "ratio_median_of_pairs": statistics.median(ratios), "target": TARGETS[kind]}


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


def run(args) -> int:
    import torch

    sizes = QUICK_SIZES if args.quick else SIZES
    repeats = args.repeats if args.repeats is not None else (3 if args.quick else 7)
    table = not args.json
    if table:
        print(f"rnnviz bench engine: torch {torch.__version__}, {torch.get_num_threads()} threads, float32 CPU, "
              f"median of {repeats} alternating runs (forward + backward)")
        header = f"{'kind':<5} {'(T, B, I, H, L)':<22} {'module ms':>10} {'record ms':>10} {'ratio':>7} {'target':>7}"
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
                      f"{row['ratio']:>6.2f}x {row['target']:>6.2f}x{flag}", flush=True)
    step = bench_interactive_step(max(repeats // 2, 1), hidden=64 if args.quick else 512)
    if args.json:
        print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": rows,
                          "interactive_step": step}, indent=2))
        return 0
    print(f"interactive Runner.step at H={step['H']}, B=8: forward cell {step['forward_step_ms']:.3f} ms, "
          f"backward cell {step['backward_step_ms']:.3f} ms (median)")
    return 0
