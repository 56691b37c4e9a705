"""What keeps a step cheap to draw, without changing what is drawn."""
import numpy as np

from rnnviz.gui.panels.common import pg, set_series


def test_set_series_redraws_only_a_changed_series(qtbot):
    item = pg.PlotDataItem()
    x = np.arange(4)
    y = np.array([1.0, np.nan, 3.0, 4.0])
    set_series(item, x, y)
    first = item.getData()
    set_series(item, x, y.copy())  # equal, NaN included: the drawn data object is kept
    assert item.getData()[1] is first[1]
    y[1] = 2.0  # the caller's array changed in place: drawn anew
    set_series(item, x, y)
    np.testing.assert_array_equal(item.getData()[1], [1.0, 2.0, 3.0, 4.0])
    set_series(item, x, np.full(4, np.nan))
    assert item.getData()[1] is None or len(item.getData()[1]) == 0
