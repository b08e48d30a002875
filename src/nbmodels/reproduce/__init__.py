"""Reproduce a recorded run: re-run it in a scratch namespace, never the user's, and compare
what it makes with the record. Imports no IPython (IPython's input transformer is used only
for a cell that is not plain Python, when it is installed).

    rerun     which cells run (`inputs`: the tracked cell on its stored inputs; `scratch`:
              the whole lineage), under the tracking core; `reproduce(recorded, mode)`
    scratch   the scratch namespace, its `get_ipython()`, cwd/output/figures/random states
    compare   model bytes, predictions, metrics, params, data, packages, randomness
    report    `ReproduceReport`, `Difference`
"""

from .report import Difference, ReproduceReport
from .rerun import MODES, Recorded, needed_cells, reproduce

__all__ = ["MODES", "Difference", "Recorded", "ReproduceReport", "needed_cells", "reproduce"]
