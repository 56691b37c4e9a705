"""Open one training iteration (its weights and batch) in the step-through debugger window."""
from __future__ import annotations

from rnnviz.engine.spec import RNNSpec, SpecError


def iteration_spec(config, run, iteration: int) -> RNNSpec | None:
    """A spec that describes the iteration's network in the Network form (None if none fits).

    The runner gets the real module, so the spec is for display; it names the iteration.
    """
    if config.model == "tutorial":
        return None
    T = int(run.inputs.shape[0])
    try:
        return RNNSpec(
            kind=config.model, input_size=int(run.inputs.shape[2]), hidden_size=config.hidden_size,
            output_size=int(run.inputs.shape[2]), seq_len=T, batch_size=1, input_source="text",
            text=config.text, loss="char_ce",
            description=f"training iteration {iteration}: that iteration's weights and batch",
        )
    except SpecError:  # a text too short for the window: show no form, the runner still works
        return None


def _runner_for(run, label: str = ""):
    """A live Runner for nn.RNN/GRU/LSTM (steps compute, weights shown); a replay for the tutorial model.

    `label` tags the runner so the window can tell it from one it built itself.
    """
    if run.head is not None:
        from rnnviz.engine.runner import Runner

        runner = Runner(run.module, run.inputs, head=run.head, loss=run.loss, target=run.target)
    else:
        from rnnviz.engine.replay import ReplayRunner

        runner = ReplayRunner(run.trace(), module=run.module)
    runner.label = label
    return runner


def open_run(window, run, spec=None, label: str = "") -> None:
    """Show `run` (a DebugRun) in `window` (a MainWindow), at position 0, ready to step."""
    session = window.session
    if spec is not None:
        window.form.set_spec(spec)
    session.open_runner(lambda: _runner_for(run, label), spec)
    if label:
        window.log(f"opened {label}")
        window.setWindowTitle(f"rnnviz — {label}")

        def retitle(*_args):
            # Runs after the window's own handler, which titles it by preset.
            if window.session.runner.label == label:
                window.session.built.disconnect(retitle)
                window.setWindowTitle(f"rnnviz — {label}")

        window.session.built.connect(retitle)
