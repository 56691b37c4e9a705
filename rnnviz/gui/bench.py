"""`rnnviz bench gui`: how fast the real window follows the engine, offscreen.

- step -> repainted: from a Step (intention sent) until every panel has been repainted with its frame;
- GUI frame: the GUI-thread part of that step: from the frame's arrival (Session.applied_at) to every
  panel repainted (apply to every panel + paint), i.e. what can stall;
- backward step -> repainted: the same for a BPTT cell (Backward step), from the end of the forward pass;
- play: cells per second Play sustains at full speed with every panel live;
- stall: the longest gap between event-loop ticks during a whole run to the end (forward + backward);
- reset -> repainted, and the first step after a Reset: the frames that redraw everything from empty;
- per panel: the time of each panel's own update call, over every frame above, so a regression has a name
  (a panel whose dock is off screen, tabbed away by default, is not fed: "not fed: off screen").
"""
from __future__ import annotations

import json
import statistics
import time

BIG = dict(kind="rnn", seq_len=1000, batch_size=8, input_size=64, hidden_size=512, num_layers=2)


def _percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _settle(qapp, window, timeout=300.0):
    end = time.monotonic() + timeout
    while not window.is_idle():
        qapp.processEvents()
        time.sleep(0.0002)  # as an idle event loop would: let the worker thread have the GIL
        if time.monotonic() > end:
            raise TimeoutError("the window did not settle")


def _flush(qapp, window) -> None:
    """Until everything changed is on screen: pyqtgraph's scene changes reach their views through a
    queued call: deliver those, then let Qt paint the dirty regions (as a running event loop would)."""
    for _ in range(3):
        qapp.processEvents()


def _time_panels(window) -> dict[str, list[float]]:
    """Wrap every panel's show_frame (the window's (dock, panel) pairs) on the instance, recording ms
    per call by its dock's title. A panel whose inputs did not change returns at once, so its calls
    stay cheap: the table shows what each panel costs when it draws."""
    times: dict[str, list[float]] = {}
    for dock, panel in window.panels:
        calls = times.setdefault(dock.windowTitle(), [])

        def timed(*args, _bound=panel.show_frame, _calls=calls, **kwargs):
            start = time.perf_counter()
            try:
                return _bound(*args, **kwargs)
            finally:
                _calls.append((time.perf_counter() - start) * 1000)

        panel.show_frame = timed
    return times


def _stats(values) -> dict:
    if not values:
        return {"median": float("nan"), "p95": float("nan"), "calls": 0}
    return {"median": statistics.median(values), "p95": _percentile(values, 0.95), "calls": len(values)}


def _case(qapp, name, spec, repeats, play_seconds):
    from .main_window import MainWindow
    from .qt import QtCore

    window = MainWindow(spec)
    window.resize(1600, 1000)
    window.show()
    try:
        _settle(qapp, window)
        session = window.session
        panel_times = _time_panels(window)
        latency, frame_cost, reset_ms, first_step_ms = [], [], [], []
        for _ in range(repeats):
            after_reset = False
            if session.runner.position >= session.runner.num_forward or not latency:
                time.sleep(0.02)
                start = time.perf_counter()
                session.reset()
                _settle(qapp, window)
                _flush(qapp, window)
                reset_ms.append((time.perf_counter() - start) * 1000)
                after_reset = True
            time.sleep(0.02)  # let the display-rate throttle expire: measure a lone step
            start = time.perf_counter()
            session.step()
            _settle(qapp, window)
            _flush(qapp, window)
            end = time.perf_counter()
            latency.append((end - start) * 1000)
            if after_reset:
                first_step_ms.append(latency[-1])
            frame_cost.append((end - session.applied_at) * 1000)  # from the frame's arrival: apply + paint

        # Backward steps (BPTT cells) from the end of the forward pass.
        session.run_to_end()
        _settle(qapp, window)
        backward = []
        for _ in range(min(repeats, len(session.runner.schedule) - session.runner.position)):
            time.sleep(0.02)
            start = time.perf_counter()
            session.backward_step()
            _settle(qapp, window)
            _flush(qapp, window)
            backward.append((time.perf_counter() - start) * 1000)

        # Play at full speed, every panel live; a short schedule starts over from Reset.
        session.speed = 1000.0
        played, elapsed = 0, 0.0
        limit = time.perf_counter() + play_seconds
        total = len(session.runner.schedule)
        while time.perf_counter() < limit:
            session.reset()
            _settle(qapp, window)
            start = time.perf_counter()
            session.play(True)
            while time.perf_counter() < limit and session.runner.position < total:
                qapp.processEvents()
                time.sleep(0.0002)
            elapsed += time.perf_counter() - start  # time playing only, not the resets between
            played += session.runner.position
            session.stop()
            _settle(qapp, window)

        # Longest event-loop stall during a whole run to the end.
        session.reset()
        _settle(qapp, window)
        gaps, last = [], [time.perf_counter()]

        def tick():
            now = time.perf_counter()
            gaps.append(now - last[0])
            last[0] = now

        timer = QtCore.QTimer()
        timer.timeout.connect(tick)
        timer.start(1)
        run_start = time.perf_counter()
        session.run_backward()
        _settle(qapp, window)
        run_s = time.perf_counter() - run_start
        timer.stop()
        return {
            "case": name, "shape (T,B,I,H,L)": [spec.seq_len, spec.batch_size, spec.input_size, spec.hidden_size,
                                                spec.num_layers],
            "step_to_repaint_ms": {"median": statistics.median(latency), "p95": _percentile(latency, 0.95)},
            "gui_frame_ms": {"median": statistics.median(frame_cost), "p95": _percentile(frame_cost, 0.95)},
            "backward_step_to_repaint_ms": {"median": statistics.median(backward), "p95": _percentile(backward, 0.95)},
            "play_steps_per_s": played / elapsed,
            "run_to_end_s": run_s, "cells": total,
            "max_event_loop_stall_ms": max(gaps) * 1000 if gaps else 0.0,
            "reset_to_repaint_ms": _stats(reset_ms), "first_step_after_reset_ms": _stats(first_step_ms),
            "panel_update_ms": {label: _stats(values) for label, values in panel_times.items()},
        }
    finally:
        _close(qapp, window)


def _close(qapp, window) -> None:
    """Stop the window's work, let it settle, and close and delete it (a window left alive at exit
    can crash pyqtgraph)."""
    window.session.stop()
    _settle(qapp, window)
    window.close()
    window.deleteLater()
    qapp.processEvents()


def measure(repeats: int = 30, quick: bool = False) -> list[dict]:
    from .headless import render_offscreen_without_display

    render_offscreen_without_display()
    from rnnviz.teaching.presets import get_preset
    from rnnviz.engine.spec import RNNSpec

    from .qt import app

    qapp = app()
    cases = [("seed-rnn", get_preset("seed-rnn"))]
    if quick:
        cases.append(("rnn T=100 H=64", RNNSpec(kind="rnn", seq_len=100, batch_size=4, input_size=8, hidden_size=64)))
    else:
        cases.append(("rnn (1000,8,64,512,2)", RNNSpec(**BIG)))
    return [_case(qapp, name, spec, repeats, 1.0 if quick else 3.0) for name, spec in cases]


def format_table(results: list[dict]) -> str:
    lines = [f"{'case':<24} {'step->repaint ms (med/p95)':>27} {'GUI frame ms (med/p95)':>23} "
             f"{'bwd step ms (med/p95)':>22} {'play steps/s':>13} {'max stall ms':>13} {'run to end s':>13}"]
    for r in results:
        s, g, b = r["step_to_repaint_ms"], r["gui_frame_ms"], r["backward_step_to_repaint_ms"]
        lines.append(f"{r['case']:<24} {s['median']:>14.1f} / {s['p95']:<10.1f} {g['median']:>11.1f} / {g['p95']:<9.1f} "
                     f"{b['median']:>10.1f} / {b['p95']:<9.1f} "
                     f"{r['play_steps_per_s']:>13.0f} {r['max_event_loop_stall_ms']:>13.1f} {r['run_to_end_s']:>13.2f}")
    lines.append("")
    lines.append(f"{'case':<24} {'what':<36} {'ms (median / p95)':>20} {'calls':>6}")
    for r in results:
        rows = [("Reset -> repainted", r["reset_to_repaint_ms"]), ("first Step after Reset -> repainted",
                                                                  r["first_step_after_reset_ms"])]
        rows += [(f"panel update: {label}", stats) for label, stats in r["panel_update_ms"].items()]
        for what, stats in rows:
            if not stats["calls"]:  # a dock tabbed away (or closed) is not fed
                lines.append(f"{r['case']:<24} {what:<36} {'not fed: off screen':>20} {0:>6}")
                continue
            lines.append(f"{r['case']:<24} {what:<36} {stats['median']:>9.1f} / {stats['p95']:<8.1f} {stats['calls']:>6}")
    return "\n".join(lines)


def measure_first_paint(runs: int) -> dict:
    """Seconds from process start to the default window's first paint, its panels painted and its first
    Build drawn: `python -m rnnviz` in fresh processes (first_paint.startup), medians of `runs`,
    alternating with torch imported before the window."""
    from .first_paint import startup

    launches, torch_first = [], []
    for _ in range(runs):
        launches.append(startup())
        torch_first.append(startup(torch_first=True))

    def median(key, results):
        return statistics.median(r[key] for r in results)

    loaded = sorted({name for r in launches for name in r["loaded_at_first_paint"]})
    return {"runs": runs, "first_paint_s": median("first_paint_s", launches),
            "panels_painted_s": median("panels_painted_s", launches),
            "first_frame_s": median("first_frame_s", launches), "loaded_at_first_paint": loaded,
            "first_paint_torch_imported_first_s": median("first_paint_s", torch_first)}


def format_first_paint(result: dict) -> str:
    loaded = ", ".join(result["loaded_at_first_paint"]) or "none of numpy, pyqtgraph, superqt, torch"
    processes = "1 fresh process" if result["runs"] == 1 else f"{result['runs']} fresh processes"
    return (f"start-up, `python -m rnnviz`, median of {processes}: first paint "
            f"{result['first_paint_s']:.2f} s (loaded by then: {loaded}); panels painted "
            f"{result['panels_painted_s']:.2f} s; first Build drawn {result['first_frame_s']:.2f} s; "
            f"first paint with torch imported before the window: {result['first_paint_torch_imported_first_s']:.2f} s")


def run(args) -> int:
    repeats = args.repeats if args.repeats is not None else (10 if args.quick else 30)
    startup = measure_first_paint(1 if args.quick else 5)
    results = measure(repeats, args.quick)
    if args.json:
        print(json.dumps({"first_paint": startup, "cases": results}, indent=2))
    else:
        print(format_first_paint(startup))
        print()
        print(format_table(results))
    return 0


def measure_trace_window(trace, steps: int = 20) -> dict:
    """The window over a finished trace, offscreen (`rnnviz bench scale --window` runs it in its child
    on runs recorded to disk): ms from MainWindow() to its first frame drawn, then Step -> every panel
    repainted in the middle of the forward pass and of the backward pass (`steps` each)."""
    from .headless import render_offscreen_without_display

    render_offscreen_without_display()
    from .main_window import MainWindow
    from .qt import app

    qapp = app()
    start = time.perf_counter()
    window = MainWindow(None, trace=trace)
    window.resize(1600, 1000)
    window.show()
    try:
        _settle(qapp, window)
        _flush(qapp, window)
        open_ms = (time.perf_counter() - start) * 1000
        session, runner = window.session, window.session.runner
        latency = {"forward": [], "backward": []}
        middles = {"forward": runner.num_forward // 2, "backward": (runner.num_forward + len(runner.schedule)) // 2}
        for phase, position in middles.items():
            session.seek(position)
            _settle(qapp, window)
            for _ in range(steps):
                time.sleep(0.02)  # a lone step, past the display-rate throttle
                start = time.perf_counter()
                session.step()
                _settle(qapp, window)
                _flush(qapp, window)
                latency[phase].append((time.perf_counter() - start) * 1000)
        return {"open_ms": open_ms, "step_ms": _stats(latency["forward"]), "backward_step_ms": _stats(latency["backward"])}
    finally:
        _close(qapp, window)
