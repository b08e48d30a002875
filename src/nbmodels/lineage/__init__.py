"""Lineage: which executed cells produced what a tracked cell read (SPEC §3 `%lineage`).

No IPython here: the magics feed each executed cell to a `CellNotes`, and a tracked run asks
`lineage_of` for its slice and flags, which `Registry.record_run` stores with the run.

    notes      CellNote / CellNotes: what each cell bound and read, in bounded memory
    slicing    lineage_of: the producing cells, in execution order, and the flags
    autotrack  fits_model: the cells autotrack tracks
"""

from .autotrack import fits_model
from .notes import MAX_NOTES, CellNote, CellNotes, names_of
from .slicing import NotebookCell, lineage_of, notebook_cells

__all__ = ["MAX_NOTES", "CellNote", "CellNotes", "NotebookCell", "fits_model", "lineage_of",
           "names_of", "notebook_cells"]
