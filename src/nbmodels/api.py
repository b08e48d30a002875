"""Module-level functions over the default registry: `nbmodels.load(ref)`,
`nbmodels.log_param(...)`, `nbmodels.last_run()` ...

The default registry is the one `%config NBModels.home` names in a kernel, else the one
`resolve_home()` finds from the working directory. `log_param`/`log_metric` inside a
`%%track` cell add to the run being recorded; outside one they add to the last run this
process recorded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from .errors import NbModelsError


@dataclass
class _Session:
    home: str | os.PathLike | None = None  # set by the magics from NBModels.home
    last_run_id: str | None = None
    # The models the last tracked cell stored, by name: (object, hash). `%register` reuses
    # those bytes only when nothing can have changed the object since: see `reusable_hash`.
    just_tracked: dict = field(default_factory=dict)
    cells_since_track: int = 0  # cells started (silent ones too) since that cell
    lone_register: bool = False  # the cell running now is one `%register` line
    last_home: str | None = None
    registries: dict = field(default_factory=dict)


session = _Session()


def default_registry():
    """The `Registry` of this kernel or process (one instance per resolved home).

    An existing registry found for this (`NBModels.home`, `$NBMODELS_HOME`, working
    directory) stays the answer without resolving the home again (a few `stat` calls per
    tracked cell saved); a home not created yet is looked for again on the next call."""
    key = (session.home, os.environ.get("NBMODELS_HOME"), os.getcwd())
    known = session.registries.get(key)
    if known is not None:
        return known
    from .config import resolve_home
    from .registry import Registry

    home = resolve_home(session.home)
    if home not in session.registries:
        session.registries[home] = Registry(home)
    if home.is_dir():
        session.registries[key] = session.registries[home]
    return session.registries[home]


def load(ref: str) -> Any:
    """Load the model a REF names from the default registry, hash verified."""
    return default_registry().load(ref)


def compare(*refs: str, **options):
    """Compare runs or versions of the default registry (see `Registry.compare`)."""
    return default_registry().compare(*refs, **options)


def log_param(name: str, value: Any) -> None:
    """Record a parameter on the run being tracked (or the last run recorded)."""
    _log("params", name, value)


def log_metric(name: str, value: float) -> None:
    """Record a metric on the run being tracked (or the last run recorded)."""
    _log("metrics", name, value)


def last_run():
    """The run the last `%%track` cell of this process recorded, or None."""
    if session.last_run_id is None:
        return None
    return default_registry().run(session.last_run_id)


def reusable_hash(variable: str, obj: Any) -> str | None:
    """The hash the last tracked cell stored `obj` under, when these are certainly still its
    bytes: `obj` is what that cell left in `variable`, and the only code run since is the
    one-line `%register` cell running now, right after it. Else None (store it again)."""
    captured, digest = session.just_tracked.get(variable, (None, None))
    if captured is obj and session.cells_since_track == 1 and session.lone_register:
        return digest
    return None


def _log(kind: str, name: str, value: Any) -> None:
    if not isinstance(name, str) or not name:
        raise NbModelsError(f"log_{kind[:-1]} needs a non-empty name, got {name!r}")
    from .tracking import current_tracker

    tracker = current_tracker()
    if tracker is not None:
        tracker.logged[kind][name] = value
        return
    if session.last_run_id is None:
        raise NbModelsError(f"no run to log {name!r} to: call log_{kind[:-1]} in a %%track "
                            "cell or after one")
    default_registry().update_run_values(session.last_run_id, **{kind: {name: value}})
