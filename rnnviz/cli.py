"""The `rnnviz` command. Headless subcommands never import Qt; the window is imported lazily."""
from __future__ import annotations

import argparse
import os
import sys

from rnnviz.commands.argtypes import float_in, int_in, schedule_point, window_size

SUBCOMMANDS = ("open", "trace", "presets", "train", "bench", "screenshot", "gui")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option as one line and exit code 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        print(f"rnnviz: {message}", file=sys.stderr)
        raise SystemExit(2)


def _budget_option(parser) -> None:
    parser.add_argument("--memory-budget", metavar="SIZE",
                        help="refuse runs estimated to need more memory than this, e.g. 4GiB "
                             "(default: $RNNVIZ_MEMORY_BUDGET or 1GiB)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rnnviz", description="Step through a recurrent network and see its shapes, activations and gradients.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    gui = sub.add_parser("gui", help="open the debugger window (the default)")
    gui.add_argument("file", nargs="?", help="a saved trace (.npz) to browse, read-only")
    gui.add_argument("--preset", help="preset to open (default: seed-rnn)")
    _budget_option(gui)

    own = sub.add_parser("open", help="open the window on your own model: SCRIPT.py:FACTORY, where FACTORY() "
                                      "returns (model, inputs, loss_fn); runs your script, as python would")
    own.add_argument("target", metavar="SCRIPT.py:FACTORY")

    trace = sub.add_parser("trace", help="run a preset headless and print its tensors per timestep")
    trace.add_argument("--preset", default="seed-rnn")
    trace.add_argument("--spec", help="a spec JSON file instead of a preset")
    trace.add_argument("--module", metavar="SCRIPT.py:FACTORY",
                       help="record your own model: FACTORY() in SCRIPT.py returns (model, inputs, loss_fn)")
    trace.add_argument("-o", "--output", help="write the trace (with --module: every recurrent part) to this .npz file")
    _budget_option(trace)

    sub.add_parser("presets", help="list the presets, one line each")

    train = sub.add_parser("train", help="train a character model headless")
    train.add_argument("--preset", default="char-hello")
    train.add_argument("--model", choices=("tutorial", "rnn", "gru", "lstm"), default="tutorial")
    train.add_argument("--text", help="training text (default: the preset's)")
    train.add_argument("--text-file", help="read the training text from this .txt file")
    train.add_argument("--epochs", type=int_in(1, 1_000_000), default=200)
    train.add_argument("--lr", type=float_in(0.0, 100.0), default=None)
    train.add_argument("--optimizer", choices=("sgd", "adam"), default=None)
    train.add_argument("--hidden-size", type=int_in(1, 65536), default=None)
    train.add_argument("--seq-length", type=int_in(1, 100000), default=None,
                       help="characters per window (at most the text's length - 1)")
    train.add_argument("--clip", type=float_in(0.0), default=None, help="clip the gradient norm to this value")
    train.add_argument("--seed", type=int_in(0, 2**63 - 1), default=0)
    train.add_argument("--sample-prefix", default="h")
    train.add_argument("-o", "--output", help="write the training history to this .npz file")

    bench = sub.add_parser("bench", help="print a benchmark table")
    bench.add_argument("target", choices=("engine", "gui", "scale"))
    bench.add_argument("--json", action="store_true", help="print JSON instead of a table")
    bench.add_argument("--repeats", type=int_in(1, 10000), default=None)
    bench.add_argument("--quick", action="store_true", help="small sizes only (a smoke run)")
    bench.add_argument("--all", action="store_true", help="scale: also the full-size LSTM (about 30-45 minutes)")
    bench.add_argument("--window", action="store_true", help="scale: also open the window offscreen and step it")
    _budget_option(bench)

    shot = sub.add_parser("screenshot", help="render the main window offscreen to a PNG")
    shot.add_argument("--preset", default="seed-rnn")
    shot.add_argument("-o", "--output", required=True)
    shot.add_argument("--size", type=window_size, default=(1600, 1000), help="WIDTHxHEIGHT")
    shot.add_argument("--at", type=schedule_point, default="end", help="forward:T, end or backward:T")
    shot.add_argument("--view", default="debugger", help="debugger, training, presentation, compare, spectral")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `rnnviz`, `rnnviz --preset X` and `rnnviz FILE.npz` open the window.
    if not argv or (argv[0] not in SUBCOMMANDS and argv[0] not in ("-h", "--help")):
        argv = ["gui", *argv]
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        print("rnnviz: stopped by Ctrl-C; nothing was written", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `rnnviz trace | head`: the reader left; not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # one line, no traceback: the user sees what went wrong
        from rnnviz.errors import user_message

        print(f"rnnviz: {user_message(exc)}", file=sys.stderr)
        return 2


def _dispatch(args) -> int:
    if getattr(args, "memory_budget", None) is not None:
        # checked here, then handed to every engine call (window, workers) through the environment
        from rnnviz.engine.memory import ENV_VAR, parse_size

        os.environ[ENV_VAR] = str(parse_size(args.memory_budget))
    if args.command == "trace" and getattr(args, "module", None):
        from rnnviz.commands.trace_module import run
    elif args.command == "trace":
        from rnnviz.commands.trace import run
    elif args.command == "presets":
        from rnnviz.commands.presets import run
    elif args.command == "train":
        from rnnviz.commands.train import run
    elif args.command == "bench" and args.target == "engine":
        from rnnviz.commands.bench_engine import run
    elif args.command == "bench" and args.target == "scale":
        from rnnviz.commands.bench_scale import run
    elif args.command == "bench":
        from rnnviz.gui.bench import run
    elif args.command == "screenshot":
        from rnnviz.gui.render.capture import run
    elif args.command == "open":
        from rnnviz.gui.launch import run_open as run
    else:
        from rnnviz.gui.launch import run
    return int(run(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
