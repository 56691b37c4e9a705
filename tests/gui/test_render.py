"""The README's pictures come from these renderers (`make screenshots`): each one must still run
on the window as it is and write a picture with something drawn in it."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtGui

from rnnviz.gui.render import views


def _distinct_colours(path) -> int:
    image = QtGui.QImage(str(path)).convertToFormat(QtGui.QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), dtype=np.uint32, count=image.width() * image.height())
    return len(np.unique(pixels))


@pytest.mark.parametrize("render", [
    lambda out: views.render_presentation(out, size=(1280, 800), lesson=8),
    lambda out: views.render_spectral(out),
    lambda out: views.render_compare(out),
], ids=["presentation", "spectral", "compare"])
def test_each_view_renders_a_picture(qtbot, tmp_path, render):
    path = render(tmp_path / "view.png")
    assert path.exists() and _distinct_colours(path) > 50
