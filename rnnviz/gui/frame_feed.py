"""How the main window shows a frame: the selection boxes and the status line at once, then its
panels in turn (one per event-loop turn during a run, all at once for the last frame of a job),
skipping the panels whose dock is off screen until they are back; and seeking from a panel's time
axis. A mixin of MainWindow, which owns the state it reads (`frame`, `panels`, `_panel_queue`,
`session`, the selection boxes, `_offscreen`)."""
from __future__ import annotations

from .frame import Frame, Selection
from .offscreen_docks import on_screen
from .qt import QtCore


class FrameFeed:
    @property
    def selection(self) -> Selection:
        return self.session.selection

    def _selection_changed(self, *_args) -> None:
        self.session.select(Selection(self.layer_box.value(), self.direction_box.currentData() or 0, self.batch_box.value()))

    def _show_selection(self, _selection) -> None:
        if self.frame is not None:
            self.apply_frame(self.frame, immediate=True)

    def _sync_selection(self, trace) -> None:
        L, D, T, B, H = trace.hidden.shape
        for box, top in ((self.layer_box, L - 1), (self.batch_box, B - 1)):
            if box.maximum() != top:
                with QtCore.QSignalBlocker(box):
                    box.setRange(0, top)
        if self.direction_box.count() != D:
            with QtCore.QSignalBlocker(self.direction_box):
                self.direction_box.clear()
                self.direction_box.addItem("0 (forward)", 0)
                if D == 2:
                    self.direction_box.addItem("1 (reverse)", 1)
        # Quietly: the frame being applied is drawn next anyway, for the (clamped) selection.
        self.session.select(Selection(self.layer_box.value(), self.direction_box.currentData() or 0, self.batch_box.value()),
                            notify=False)

    def apply_frame(self, frame: Frame, immediate: bool = False) -> None:
        """Show `frame`: status and transport now, then the panels: all at once when this is the last
        frame of its job (one paint: lowest latency for a Step), else one panel per event-loop turn
        during a run or play (a turn paints one panel, not three: shorter stalls)."""
        immediate = immediate or frame.final or self.session.is_idle()
        self.frame = frame
        self._sync_selection(frame.trace)
        self.transport.set_position(frame.position, frame.total, frame.num_forward)
        cell = frame.cell
        where = "—" if cell is None else None
        self.status_text.setText(
            f"phase: {frame.phase}    layer: {where or cell.layer}    direction: {where or cell.direction}    "
            f"t: {where or cell.t}    device: {frame.device}    {frame.ms:.2f} ms/step")
        self.loss_label.setText(self._loss_text(frame))
        fresh = not self._panel_queue
        self._panel_queue = list(self.panels)
        if immediate:
            self._immediate = True
            while self._panel_queue:
                self._update_next_panel()
            self._immediate = False
            self.session.frame_drawn()
        elif fresh:
            QtCore.QTimer.singleShot(1, self._update_next_panel)

    def _loss_text(self, frame: Frame) -> str:
        text, news = self.loss_report.text(frame)
        if news:
            self.statusBar().showMessage(news, 15000)
            self.log(news)
        return text

    def _update_next_panel(self) -> None:
        if not self._panel_queue or self.frame is None:
            return
        dock, panel = self._panel_queue.pop(0)
        if on_screen(dock) or not self.isVisible():
            with self.session.arrays:  # the worker does not step while a panel reads the frame
                panel.show_frame(self.frame, self.selection)
            self._offscreen.drawn(dock)
        else:  # closed, or tabbed away behind another dock: drawn when it is on screen again
            self._offscreen.skipped(dock)
        if self._panel_queue and not self._immediate:
            QtCore.QTimer.singleShot(1, self._update_next_panel)
        elif not self._panel_queue and not self._immediate:
            QtCore.QTimer.singleShot(0, self.session.frame_drawn)  # after this panel's paint

    def _redraw_panel(self, widget) -> None:
        for dock, panel in self.panels:
            if panel is widget and self.frame is not None:
                widget.show_frame(self.frame, self.selection)
                self._offscreen.drawn(dock)

    def _redraw_stale(self, widget) -> bool:
        """A panel skipped while its dock was off screen, now back: drawn at once unless the worker
        is stepping or a panel is being drawn (the lock is held), then OffscreenDocks tries again."""
        if self.session is None or not self.session.arrays.acquire(blocking=False):
            return False
        try:
            self._redraw_panel(widget)
        finally:
            self.session.arrays.release()
        return True

    def seek_time(self, t: int) -> None:
        """Jump to the cell of timestep t (selected layer and direction; backward cells in the backward phase)."""
        frame = self.frame
        if frame is None or not frame.schedule:
            return
        phase = "backward" if frame.phase == "backward" else "forward"
        sel = self.selection
        for index, cell in enumerate(frame.schedule):
            if cell.phase == phase and cell.t == t and cell.layer == sel.layer and cell.direction == sel.direction:
                self.session.seek(index + 1)
                return
