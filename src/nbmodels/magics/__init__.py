"""The IPython magics: `%%track`, `%register`, `%restore`, `%stage` (and, from
`nbmodels.browse_magics`, `%compare` and `%models`).

Each magic parses its line like a POSIX shell (`parsing`), makes one `Registry` call and
renders the result. `NbModelsError` becomes a one-line `UsageError` (what is not printable in
it escaped); anything else is a bug and keeps its traceback.

    parsing   the line: shlex + magic_arguments, expressions, safe variable names, one_line
    base      RegistryMagics (the kernel's registry), user_errors
    track     %%track: an input transformer + cell events over `nbmodels.tracking`
    models    %register, %restore, %stage
    lineage   %lineage, %autotrack, and the cell notes behind them
    reproduce %reproduce: a run re-run in a scratch namespace, compared with its record
"""

from __future__ import annotations

import os

from ..config import NBModels
from .base import RegistryMagics, user_errors
from .parsing import expression, parse
from .track import begin_tracked_cell

__all__ = ["RegistryMagics", "begin_tracked_cell", "expression", "load_ipython_extension",
           "parse", "user_errors"]


def load_ipython_extension(ipython) -> None:
    """`%load_ext nbmodels`: the magics, the `%%track` transformer and its cell events."""
    from ..browse_magics import BrowseMagics
    from .lineage import load as load_lineage
    from .models import ModelMagics
    from .reproduce import ReproduceMagics
    from .track import TrackMagics, install

    _anchor_environment_home()
    config = next((c for c in ipython.configurables if isinstance(c, NBModels)), None)
    if config is None:
        config = NBModels(parent=ipython)
        ipython.configurables.append(config)
    track = TrackMagics(ipython, config)
    for magics in (track, ModelMagics(ipython, config), BrowseMagics(ipython, config),
                   ReproduceMagics(ipython, config)):
        ipython.register_magics(magics)
    install(ipython, track)
    load_lineage(ipython, config)  # after %%track's: autotrack goes before its transformer


def _anchor_environment_home() -> None:
    """A relative `$NBMODELS_HOME` means relative to where the kernel started (as a relative
    `NBModels.home` means where it was set): made absolute now, so a notebook that changes
    directory keeps writing to one registry."""
    home = os.environ.get("NBMODELS_HOME")
    if home and not os.path.isabs(os.path.expanduser(home)):
        os.environ["NBMODELS_HOME"] = os.path.abspath(os.path.expanduser(home))
