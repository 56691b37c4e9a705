"""Issue 11's debugger tools in the main window: the Gates, Breakpoints, What-if and Truncated BPTT
docks, the form's Input tab, the fused-vs-stepped proof, the run export, and the Debug menu.

main_window.py calls `place_dock_frames(window)` with its own dock frames (part of the first paint),
then `install_docks(window)` before its menus are made (so the docks are in View and Export) and
`install_menu(window)` after. Torch work runs in the Session's worker (`run_job`);
the jobs at the bottom are what runs there, and hand back engine results (numpy) to the docks."""
from __future__ import annotations

import time

from .qt import QtCore, QtGui, QtWidgets


# Each dock beside a panel of the window, as a tab.
DOCKS_BESIDE = {"Gates": "Hidden activations", "Breakpoints": "Network", "What-if": "Gradients",
                "Truncated BPTT": "Gradients"}


def place_dock_frames(window) -> None:
    """The debugger's docks as empty frames, tabified beside the window's own (part of the window's
    first paint and of its saved layout); DebuggerTools fills them."""
    # Tabified while hidden: a second visible dock tabified before the window is shown leaves a
    # stale tab bar drawn over the panels (Qt 6.11).
    for name in DOCKS_BESIDE:
        window._add_dock(name)
        window.docks[name].hide()
    for name, other in DOCKS_BESIDE.items():
        window.tabifyDockWidget(window.docks[other], window.docks[name])
    for name in DOCKS_BESIDE:
        window.docks[name].show()
    # The docks tabified last are the current tabs; show the window's own first, once it is laid out.
    QtCore.QTimer.singleShot(0, lambda: [window.docks[n].raise_() for n in set(DOCKS_BESIDE.values())])


class DebuggerTools(QtCore.QObject):
    """Makes the debugger's docks (the window feeds the frame-fed ones) and runs their jobs and dialogs."""

    def __init__(self, window):
        super().__init__(window)
        from .breakpoints_dock import BreakpointsDock
        from .input_tab import InputShapeTab
        from .panels.gates import GatesPanel
        from .truncation_dock import TruncationDock
        from .whatif_dock import WhatIfDock

        self.window = window
        self.gates, self.breakpoints, self.whatif = GatesPanel(), BreakpointsDock(), WhatIfDock()
        self.truncation = TruncationDock()
        self.input_tab = InputShapeTab(window.form)
        window.form.tabs.addTab(self.input_tab, "Input")
        for name, widget in (("Gates", self.gates), ("Breakpoints", self.breakpoints), ("What-if", self.whatif),
                             ("Truncated BPTT", self.truncation)):
            window.set_dock_widget(name, widget)  # into the frames place_dock_frames made and laid out
        # Fed by the window like its own panels: one (dock, panel) pair each in window.panels.
        window.panels += [(window.docks[name], panel) for name, panel in
                          (("Gates", self.gates), ("What-if", self.whatif), ("Truncated BPTT", self.truncation))]
        # Connected before the window's own apply_frame: so take the frame handed over, not window.frame.
        window.session.frame_ready.connect(self._frame_ready)
        self.gates.seek.connect(window.seek_time)
        self.whatif.seek.connect(window.seek_time)
        self.breakpoints.run_requested.connect(self.run_until)
        self.whatif.edit_requested.connect(self.edit)
        self.whatif.undo_requested.connect(self.undo_edits)
        self.truncation.seek.connect(window.seek_time)
        self.truncation.compute_requested.connect(self.truncate)
        self.last_hit = None
        self.proof_dialog = None
        # Where the last Run until stopped, kept in the status bar (the phase/t read-out changes every frame).
        self.stop_label = QtWidgets.QLabel("")
        self.stop_label.setStyleSheet("color: #c00000; font-weight: bold")
        window.statusBar().insertPermanentWidget(0, self.stop_label)  # left of the window's read-out

    def _frame_ready(self, frame) -> None:
        self.breakpoints.set_layers(int(frame.trace.hidden.shape[0]))
        if frame.position == 0:  # reset or a new build: the last stop no longer describes what is shown
            self.stop_label.setText("")

    # -- what-if --------------------------------------------------------------------------
    def edit(self, request: dict) -> None:
        session = self.window.session
        if session.read_only:
            self.window.show_error("edits need a live run: a loaded trace is read-only (build the network)")
            return
        session.run_job(edit_job, self._edited, request)

    def undo_edits(self) -> None:
        if not self.window.session.read_only:
            self.window.session.run_job(undo_job, self._edited)

    def _edited(self, result) -> None:
        original, edits = result
        self.window.docks["What-if"].raise_()  # first, as the split above
        self.whatif.set_edits(original, edits)
        self.truncation.clear()
        self.window.log(("what-if: " + edits[-1].describe()) if edits else "what-if: edits undone, back to the original run")


    # -- breakpoints ----------------------------------------------------------------------
    def run_until(self) -> None:
        """Step in the worker until a ticked breakpoint holds; say where in the status bar and Messages."""
        session = self.window.session
        if session.read_only:
            self.window.show_error("breakpoints need a live run: a loaded trace is read-only (build the network)")
            return
        self.window.log("run until: " + ("; ".join(c.describe() for c in self.breakpoints.conditions() if c.enabled)
                                         or "no breakpoint ticked: to the end"))
        session.run_job(run_until_job, self._stopped, self.breakpoints.conditions(), session.device)

    def _stopped(self, hit) -> None:
        self.last_hit = hit
        w = self.window
        if hit is None:
            text = "ran to the end: no breakpoint held"
        else:
            text = hit.message
            _, layer, direction, _ = hit.cell
            w.layer_box.setValue(layer)  # show the layer and direction where it stopped
            index = w.direction_box.findData(direction)
            if index >= 0:
                w.direction_box.setCurrentIndex(index)
        w.statusBar().showMessage(text)
        self.stop_label.setText(text)
        w.log(text)
        self.breakpoints.show_hit(text, hit is not None)


    # -- export -------------------------------------------------------------------------
    def export_run(self, folder=None):
        """Slides and a GIF of the whole schedule (the open lesson's text on the title slide)."""
        from .windows.run_export import ask_and_export, export_with_progress

        try:
            self.exporter = export_with_progress(self.window, folder) if folder else ask_and_export(self.window)
        except (ValueError, OSError) as exc:
            self.window.show_error(str(exc))
            return None
        return self.exporter

    # -- truncated BPTT ------------------------------------------------------------------
    def truncate(self, k: int) -> None:
        if self.window.session.read_only:
            self.window.show_error("the truncation split needs a live run: a loaded trace has no graph to replay")
            return
        self.window.session.run_job(truncation_job, self._truncated, int(k))

    def _truncated(self, split) -> None:
        # Shown first: a dock tabbed away missed the frames since, and is drawn with the current one
        # as it comes back; the split then belongs to that frame.
        self.window.docks["Truncated BPTT"].raise_()
        self.truncation.set_split(split)
        name, total, kept, dropped, cosine = split.whh_summary()[0]
        self.window.log(f"truncated BPTT k={split.k}: {name} keeps {kept:.4g} of {total:.4g} (drops {dropped:.4g}, "
                        f"cosine {cosine:.4f})")

    # -- fused vs stepped ----------------------------------------------------------------
    def show_proof(self):
        """Run to the end (the proof needs the whole run), then the fused module, in the worker."""
        from .proof_dialog import ProofDialog

        session = self.window.session
        if session.read_only:
            self.window.show_error("the proof needs a live run: a loaded trace has no module to run fused")
            return None
        if self.proof_dialog is None:
            self.proof_dialog = ProofDialog(self.window)
            self.proof_dialog.resize(1200, 640)
        self.proof_dialog.show()
        self.proof_dialog.raise_()
        session.run_job(proof_job, self._proved)
        return self.proof_dialog

    def _proved(self, proof) -> None:
        self.proof_dialog.show_proof(proof)
        worst = max(c.max_abs_diff for c in proof.checks)
        self.window.log(f"fused vs stepped: {'equal' if proof.all_equal else 'NOT equal'} on {len(proof.checks)} "
                        f"tensors (largest difference {worst:.2e}); out.grad differs from dL/dh_t by up to "
                        f"{proof.max_relative_gap:.0%}")


def edit_job(runner, stopped, arrays, request):
    if runner.replays:
        raise ValueError("edits need a live run: this runner only replays a finished trace")
    with arrays:
        runner.edit(**request)
    yield runner.original(), list(runner.edits)


def undo_job(runner, stopped, arrays):
    if not runner.replays:
        with arrays:
            runner.undo_edits()
        yield None, []


def truncation_job(runner, stopped, arrays, k):
    from rnnviz.engine.truncation import truncation_split

    if _ran_to_end(runner, stopped, arrays, "the truncation split"):
        yield truncation_split(runner, k)


def proof_job(runner, stopped, arrays):
    from rnnviz.engine.proof import fused_vs_stepped

    if _ran_to_end(runner, stopped, arrays, "the proof"):
        yield fused_vs_stepped(runner)


def _ran_to_end(runner, stopped, arrays, what: str) -> bool:
    """Step a live run to its end (what a split or proof reads); False when stopped first."""
    if runner.replays:
        raise ValueError(f"{what} needs a live run: this runner only replays a finished trace")
    while not runner.done and not stopped():
        with arrays:
            runner.step()
    return runner.done


def run_until_job(runner, stopped, arrays, conditions, device):
    """Worker side of Run until: step, check, a frame now and then, and the Hit (or None) at the end."""
    from rnnviz.engine.breakpoints import check

    from .session import DRAWN_FRAME_INTERVAL, make_frame

    if runner.replays:
        raise ValueError("breakpoints need a live run: this runner only replays a finished trace")
    hit, last = None, time.perf_counter()
    while runner.position < len(runner.schedule) and not stopped():
        with arrays:
            runner.step()
        hit = check(runner, conditions)
        if hit is not None:
            break
        if time.perf_counter() - last >= DRAWN_FRAME_INTERVAL:
            yield make_frame(runner, device)
            last = time.perf_counter()
    yield hit


def install_docks(window) -> DebuggerTools:
    window.debugger = DebuggerTools(window)
    return window.debugger


def install_menu(window) -> None:
    """The Debug menu (after File, Run and View)."""
    tools = window.debugger
    menu = window.menuBar().addMenu("&Debug")
    action = menu.addAction("Run &until breakpoint", tools.run_until)
    action.setShortcut(QtGui.QKeySequence("F5"))
    action.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
    menu.addAction("&Breakpoints…", lambda: (window.docks["Breakpoints"].show(), window.docks["Breakpoints"].raise_()))
    menu.addAction("&Gates over time", lambda: (window.docks["Gates"].show(), window.docks["Gates"].raise_()))
    menu.addAction("&What-if edits", lambda: (window.docks["What-if"].show(), window.docks["What-if"].raise_()))
    menu.addAction("&Truncated BPTT", lambda: (window.docks["Truncated BPTT"].show(),
                                               window.docks["Truncated BPTT"].raise_()))
    menu.addSeparator()
    menu.addAction("&Fused vs stepped proof…", tools.show_proof)
    menu.addSeparator()
    menu.addAction("E&xport run / lesson as GIF and slides…", tools.export_run)
    tools.menu = menu
