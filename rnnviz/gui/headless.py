"""Rendering without a screen (screenshots, `rnnviz bench gui`): set up before Qt is imported."""
from __future__ import annotations

import os


def render_offscreen_without_display() -> None:
    """Use Qt's offscreen platform when there is no X11/Wayland display, and never read or write
    the user's saved window layout (a picture or a benchmark must not depend on it)."""
    os.environ.setdefault("RNNVIZ_SETTINGS", "")
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
