"""Where the registry lives, and the `NBModels` options users set with `%config`."""

from __future__ import annotations

import os
from pathlib import Path

from traitlets import Bool, Enum, Float, List, Unicode, default, validate
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


def pickle_allowed() -> bool:
    """Whether pickled objects may load by default: unless `NBMODELS_ALLOW_PICKLE` is
    `0`, `false`, `no` or `off`."""
    return os.environ.get("NBMODELS_ALLOW_PICKLE", "1").strip().lower() not in (
        "0", "false", "no", "off")


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
    autotrack = Bool(False, config=True, help="Track every cell that fits a model as if it "
                                              "began with %%track (see %autotrack).")
    serializer = Enum(("pickle5", "joblib", "skops", "xgboost-json", "xgboost-ubj", "lightgbm",
                       "safetensors", "auto"), "pickle5", config=True,
                      help="How %register stores a model unless --format is given: pickle5, "
                           "joblib, or a safe format (skops, xgboost-json, xgboost-ubj, "
                           "lightgbm, safetensors; auto picks the one that fits the model).")
    allow_pickle = Bool(config=True,
                        help="Whether pickled objects may be loaded (loading a pickle runs "
                             "code). Default: True unless NBMODELS_ALLOW_PICKLE=0.")
    trusted_types = List(Unicode(), config=True,
                         help="Types to trust when loading a skops file beyond skops' own "
                              "defaults (a refused load names them).")
    capture_timeout_s = Float(30.0, allow_none=True, config=True,
                              help="Seconds one value may take to serialize; a value that takes "
                                   "longer is listed as not captured (its serializer thread is "
                                   "abandoned and may keep running). None: no bound.")

    @default("allow_pickle")
    def _allow_pickle_default(self):
        return pickle_allowed()

    @validate("home")
    def _absolute_home(self, proposal):
        # A relative folder means relative to where it was set: resolved now, a later
        # os.chdir in the notebook does not start a second registry elsewhere.
        value = proposal["value"]
        return os.path.abspath(os.path.expanduser(value)) if value else value
