"""The main window's File, Run and View menus, filled once its panels and Session exist (the menu
titles are part of the window's first paint)."""
from __future__ import annotations

from .qt import QtCore, QtGui


def fill_menus(window) -> None:
    from . import files

    menu = window.menus["&File"]
    for text, slot, keys in (("&Open trace…", lambda: files.open_trace(window), "Ctrl+O"),
                             ("&Save trace…", lambda: files.save_trace(window), "Ctrl+S"),
                             ("Open s&pec…", lambda: files.open_spec(window), None),
                             ("Save sp&ec…", lambda: files.save_spec(window), None)):
        action = menu.addAction(text)
        action.triggered.connect(slot)
        if keys:
            action.setShortcut(QtGui.QKeySequence(keys))
    export = menu.addMenu("&Export panel")
    for name, dock in window.docks.items():
        export.addAction(name).triggered.connect(lambda *_, n=name, d=dock: window.export_panel(n, d.widget()))
    menu.addSeparator()
    menu.addAction("&Quit", QtGui.QKeySequence("Ctrl+Q"), window.close)

    run = window.menus["&Run"]
    t, s = window.transport, window.session
    window.actions_by_key = {}
    for text, key, slot in (("Play / pause", "Space", lambda: t.play_button.toggle()),
                            ("Step", "Right", s.step), ("Step back", "Left", s.back),
                            ("Backward step", "B", s.backward_step), ("Reset", "Home", s.reset),
                            ("Run to end", "End", s.run_to_end), ("Backward to t=0", None, s.run_backward),
                            ("Stop", "Esc", window.stop_playing)):
        action = run.addAction(text)
        action.triggered.connect(lambda *_, f=slot: f())
        if key:
            action.setShortcut(QtGui.QKeySequence(key))
            action.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
            window.actions_by_key[key] = action

    view = window.menus["&View"]
    for dock in window.docks.values():
        view.addAction(dock.toggleViewAction())
    view.addSeparator()
    view.addAction("Restore default layout", window.restore_default_layout)
    from .view_menu import add_view_actions  # issue #4: training, presentation (F11), lessons, spectral, compare

    add_view_actions(window, view)
