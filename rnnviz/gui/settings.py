"""QSettings that honour RNNVIZ_SETTINGS: unset = the user's settings, "" = don't persist, a path = an ini file."""
from __future__ import annotations

import os

from .qt import QtCore


def settings() -> QtCore.QSettings | None:
    """The settings store for window layout, or None when nothing must be persisted."""
    where = os.environ.get("RNNVIZ_SETTINGS")
    if where is None:
        return QtCore.QSettings("rnnviz", "rnnviz")
    if where == "":
        return None
    return QtCore.QSettings(where, QtCore.QSettings.Format.IniFormat)
