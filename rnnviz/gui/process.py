"""Process-wide tuning for an interactive window: called once, when the QApplication is made."""
from __future__ import annotations

import gc
import sys

# The GUI thread paints in C++ but calls back into Python for every pyqtgraph item (paint,
# boundingRect): hundreds of GIL acquisitions per frame, each waiting up to the switch interval while
# the worker runs Python. At CPython's default 5 ms (or even 0.5 ms) a 20 ms paint took 150-200 ms.
# torch releases the GIL in every op, and the GUI thread takes it back once per Python callback: a
# short switch interval keeps either from waiting long for the other.
SWITCH_INTERVAL = 0.00005
# A runner holds thousands of Python objects (per-cell states, records, autograd nodes); a full
# (generation 2) garbage collection walks them all with the GIL held: 100-160 ms with nothing
# painted, measured at (T,B,I,H,L)=(1000,8,64,512,2). So full collections wait for a build
# (settle_garbage, which then freezes the survivors). The young generations stay CPython's size:
# at 10000 objects a generation-0 pass took 6 ms (median, 33 in one `bench gui`), landing in one
# step of ten; at 700 it takes 0.1 ms and a generation-1 pass (7000 objects) about 2 ms.
GC_THRESHOLDS = (700, 10, 100000)


def tune_process() -> None:
    """Short GIL switch interval and rare full collections. torch's thread count is set by the
    engine (rnnviz.engine.threads) in the worker on first torch use, so a saved trace opens without
    loading torch at all."""
    sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
    gc.set_threshold(*GC_THRESHOLDS)


def settle_garbage() -> None:
    """Collect once (after a build: a pause the user expects), then freeze the survivors."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
