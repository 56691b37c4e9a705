"""The README's picture of the window on a user's own model (`make screenshots`): the example factory's
encoder-decoder, recorded by the engine, its decoder picked, half-way back through time."""
from __future__ import annotations

import os
from pathlib import Path

EXAMPLE_FACTORY = "examples/seq2seq_factory.py:factory"


def render_own_model(output, factory: str = EXAMPLE_FACTORY, part: str | None = "decoder",
                     at: str = "backward:2", size=(1600, 1000)) -> Path:
    """Open the window on FACTORY()'s model as `rnnviz open` does, pick `part`, advance to `at`, save a PNG."""
    os.environ.setdefault("RNNVIZ_SETTINGS", "")
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from rnnviz.engine.user_script import load_factory

    from ..launch import window_for
    from ..qt import app
    from .capture import target_position, wait_idle

    model, args, loss_fn = load_factory(factory)
    qapp = app()
    window = window_for(model, *args, loss_fn=loss_fn)
    try:
        window.resize(*size)
        window.show()
        wait_idle(window)
        if window.session.runner is None:
            raise RuntimeError(f"{factory}: the model could not be recorded: "
                               + window.messages.toPlainText().strip().splitlines()[-1])
        picker = window.network.config.picker
        if part is not None and picker.findData(part) >= 0:
            picker.setCurrentIndex(picker.findData(part))
            picker.activated.emit(picker.currentIndex())
            wait_idle(window)
        runner = window.session.runner
        window.session.run_to(target_position(runner.schedule, runner.num_forward, at))
        wait_idle(window)
        qapp.processEvents()
        if not window.grab().save(str(output)):
            raise OSError(f"could not write {output}")
    finally:
        window.close()
        window.deleteLater()
        qapp.processEvents()
    return Path(output)
