"""The second round of frame-latency paths (issue 8, window): docks off screen are not fed and catch
up when shown, heatmaps skip columns of NaN, the equations are laid out ahead, the tensor table's
columns only widen and the gradient names axis is sized before the backward pass. Each must show
what the eager path showed: the engine's numbers."""
from __future__ import annotations

import numpy as np

from guihelp import wait_idle
from rnnviz.gui.offscreen_docks import on_screen
from rnnviz.gui.panels.heatmap import Heatmap
from rnnviz.gui.panels.equation import equation_text
from rnnviz.gui.qt import QtGui, pg


def _steps(qtbot, window, count, action=None):
    for _ in range(count):
        (action or window.session.step)()
        wait_idle(qtbot, window)


def test_a_tabbed_away_dock_is_not_fed_and_shows_the_current_frame_when_its_tab_is_raised(qtbot, make_window):
    window = make_window("lstm-memory")
    gates_dock = window.docks["Gates"]  # tabbed behind Hidden activations by default
    assert gates_dock.isVisible() and not on_screen(gates_dock) and on_screen(window.docks["Hidden activations"])
    gates = window.debugger.gates
    before = gates.frame
    _steps(qtbot, window, 4)
    assert gates.frame is before  # not fed while tabbed away (it says isVisible() all the same)
    assert window.activations.frame is window.frame

    gates_dock.raise_()
    assert on_screen(gates_dock) and not on_screen(window.docks["Hidden activations"])
    assert gates.frame is window.frame  # drawn at once, before it paints
    sel = window.selection
    trace = window.frame.trace
    for key in ("I", "F", "G", "O"):
        np.testing.assert_array_equal(gates.gate_values(key), trace.gates[key][sel.layer, sel.direction, :, sel.batch].T)

    activations_frame = window.activations.frame
    _steps(qtbot, window, 2)  # now Hidden activations is the one tabbed away
    assert window.activations.frame is activations_frame and gates.frame is window.frame
    window.docks["Hidden activations"].raise_()
    assert window.activations.frame is window.frame
    np.testing.assert_array_equal(window.activations.heatmap.data,
                                  window.frame.trace.hidden[sel.layer, sel.direction, :, sel.batch].T)


def test_a_closed_dock_reopened_shows_the_current_frame(qtbot, window):
    dock = window.docks["Gradients"]
    window.session.run_to_end()
    wait_idle(qtbot, window)
    dock.close()
    _steps(qtbot, window, 3, window.session.backward_step)
    dock.toggleViewAction().trigger()
    sel = window.selection
    np.testing.assert_array_equal(window.gradients.heatmap.data,
                                  window.frame.trace.hidden_grad[sel.layer, sel.direction, :, sel.batch].T)


def test_heatmap_colours_nan_columns_blank_exactly_as_a_full_colouring(qtbot):
    plot = pg.PlotItem()
    heatmap = Heatmap(plot, "value", levels=(-2.0, 3.0))
    rng = np.random.default_rng(0)
    block = rng.normal(size=(7, 9)).astype(np.float32)
    block[:, [0, 4, 5]] = np.nan  # not reached yet
    block[2, 7] = np.nan          # a lone NaN in a reached column
    for transform in (None, np.abs):
        heatmap.transform = transform
        coloured = heatmap._colour(block)
        np.testing.assert_array_equal(coloured, heatmap._colour_values(block))
        assert not coloured[:, [0, 4, 5]].any() and coloured[:, 1].all(axis=-1).any()
    assert not heatmap._colour(np.full((3, 4), np.nan)).any()


def test_equations_are_laid_out_before_the_first_step_of_each_layer(qtbot, make_window):
    window = make_window("seed-rnn")  # three layers: layer 0's equation, and one for layers 1 and 2 (X_t is 5x2)
    shapes = window.shapes
    qtbot.waitUntil(lambda: len(shapes.equation._labels) == 2 + 2)  # the prompt, the empty text and those two
    prepared = {id(label) for label in shapes.equation._labels.values()}
    for layer in range(3):
        window.session.step()
        wait_idle(qtbot, window)
        record = window.frame.record
        assert record.cell.layer == layer
        assert id(shapes.equation.current()) in prepared  # switched to, not made now
        assert shapes.equation_plain() == equation_text(record.equation, {op.name: tuple(op.shape) for op in record.operands})
        assert f"X_t ({window.frame.trace.hidden.shape[3]}x" in shapes.equation_plain()


def test_the_tensor_tables_columns_only_widen_while_the_layers_take_turns(qtbot, make_window):
    window = make_window("seed-rnn")
    table = window.shapes.table
    widths = []
    for _ in range(6):  # two cells of each of the three layers
        window.session.step()
        wait_idle(qtbot, window)
        widths.append([table.columnWidth(c) for c in range(table.columnCount() - 1)])
    for before, after in zip(widths, widths[1:]):
        assert all(a >= b for a, b in zip(after, before))
    assert widths[3:] == [widths[2]] * 3  # every layout seen once: no column moves any more
    header = table.horizontalHeader()
    for c in range(table.columnCount() - 1):  # each still fits its contents
        assert table.columnWidth(c) >= max(table.sizeHintForColumn(c), header.sectionSizeHint(c))
    rows = window.frame.rows
    assert [table.item(r, 0).text() for r in range(table.rowCount())] == [row["name"] for row in rows]


def test_the_names_axis_is_wide_enough_before_the_backward_pass(qtbot, make_window):
    window = make_window("seed-rnn")
    axis = window.gradients.param_plot.getAxis("left")
    qtbot.waitUntil(lambda: axis.width() == axis.maximumWidth())  # the layout has placed what the axis asked for
    width_before = axis.width()
    window.session.run_to_end()
    wait_idle(qtbot, window)
    window.session.backward_step()
    wait_idle(qtbot, window)
    names = list(window.frame.trace.param_grads)
    assert names and window.gradients._bar_names == names
    assert axis.maximumWidth() == width_before  # no re-layout of the panel to make room for the names
    qtbot.wait(50)
    assert axis.width() == width_before
    metrics = QtGui.QFontMetrics(axis.style["tickFont"] or axis.font())
    assert axis.textWidth >= max(metrics.horizontalAdvance(name) for name in names)


def test_the_empty_plot_hints_still_show_after_their_dock_is_resized(qtbot, make_window):
    """Items painted from Qt's item cache must not go stale: the empty-plot hints once vanished
    after their dock was resized (re-laid out text, its cached pixmap not redrawn)."""
    from rnnviz.gui.qt import QtCore

    window = make_window("lstm-memory")
    _steps(qtbot, window, 5)
    hints = list(window.gradients.hints.values())
    assert all(hint.isVisible() for hint in hints)  # nothing to draw in the forward pass
    window.docks["Gates"].raise_()
    window.resizeDocks([window.docks["Gates"]], [640], QtCore.Qt.Orientation.Vertical)
    wait_idle(qtbot, window)
    qtbot.wait(50)
    graphics = window.gradients.graphics
    image = graphics.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), dtype=np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)
    ratio = image.devicePixelRatio()
    for hint in hints:
        rect = graphics.mapFromScene(hint.sceneBoundingRect()).boundingRect()
        box = pixels[int(rect.top() * ratio):int(rect.bottom() * ratio), int(rect.left() * ratio):int(rect.right() * ratio), :3]
        grey = (np.ptp(box.astype(int), axis=-1) < 12) & (box.max(axis=-1) < 200) & (box.min(axis=-1) > 90)  # #888888 text
        assert grey.sum() > 100, f"hint {hint.hint_text!r} not painted"
