"""Where the registry lives, and the `NBModels` options users set with `%config`."""

from __future__ import annotations

import os
from pathlib import Path

from traitlets import Bool, Float, Unicode
from traitlets.config import Configurable

REGISTRY_DIRNAME = ".nbmodels"


def resolve_home(configured: str | os.PathLike | None = None, start: str | os.PathLike | None = None,
                 root: str | os.PathLike | None = None) -> Path:
    """Return the registry folder for a kernel, a CLI call or a server request.

    First match wins: `configured` (`%config NBModels.home`, `--home`, `home=`), the
    `NBMODELS_HOME` environment variable, the nearest existing `.nbmodels/` walking up from
    `start` (default: the working directory) but never above `root` (default: the user's
    home, when `start` is inside it), else a new `.nbmodels/` in `start`. Nothing is created.
    """
    if configured:
        return Path(configured).expanduser().resolve()
    if os.environ.get("NBMODELS_HOME"):
        return Path(os.environ["NBMODELS_HOME"]).expanduser().resolve()
    start_dir = Path(start or os.getcwd()).resolve()
    found = find_existing_home(start_dir, Path(root).resolve() if root else _default_ceiling(start_dir))
    return found or start_dir / REGISTRY_DIRNAME


def find_existing_home(start: Path, ceiling: Path | None) -> Path | None:
    """The nearest `.nbmodels/` in `start` or its parents, stopping at `ceiling`."""
    for folder in (start, *start.parents):
        if (folder / REGISTRY_DIRNAME).is_dir():
            return folder / REGISTRY_DIRNAME
        if ceiling is not None and folder == ceiling:
            return None
    return None


def _default_ceiling(start: Path) -> Path | None:
    user_home = Path.home().resolve()
    return user_home if start.is_relative_to(user_home) else None


class NBModels(Configurable):
    """Options of the nbmodels magics, settable with `%config NBModels.<name> = ...`."""

    home = Unicode(None, allow_none=True, config=True,
                   help="Registry folder. Default: $NBMODELS_HOME, else the nearest .nbmodels/ "
                        "above the working directory, else a new one in it.")
    max_object_mb = Float(512.0, config=True,
                          help="Largest variable or input (in MB) whose content is stored.")
    store_inputs = Bool(True, config=True,
                        help="Store the content of data the tracked cell read (lineage), not only "
                             "its fingerprint.")
    show_summary = Bool(True, config=True, help="Show the summary block under a tracked cell.")
