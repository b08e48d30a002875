"""`Registry`: the one API every surface (magics, widgets, REST, CLI) calls.

A registry is a folder: `registry.db` (metadata, SQLite) and `objects/` (content-addressed
bytes). Objects are made durable before the rows that point at them are committed, and
each write is one transaction, so a crash or a kill loses at most the write in flight.

`Registry` is assembled from one mixin per module, each read in a sitting:

    recording    record_run, record: a tracked cell's variables and inputs stored as a run
    storing      values into the object store; `objects` rows committed with their users
    runs         run, list_runs, count_runs, runs, last_run, update_run_values, experiments
    queries      the SQL of runs(where=, order_by=, limit=)
    versions     list_models, list_versions, get, resolve, version_detail, history, compare
    registering  register, set_stage (and the audit trail)
    loading      load, restore, load_variables, recorded_importance
    maintenance  gc, verify, check_database, backup
    interop      export (MLflow model folder), push_to_mlflow, import_mlflow, card
    remotes      add_remote, list_remotes, remove_remote, push, pull, clone (nbmodels.remotes)
    lineage      lineage: the cells that produced a run's inputs (stored by record_run)
    reproducing  reproduce: a run re-run in a scratch namespace, compared with its record
    browsing     find_runs (search, sort, page), run_versions, standing, register_run
    metrics, common   helpers (key_metric, lower_is_better, recorded_importance, time)
"""

from __future__ import annotations

import os

from .. import formats
from ..config import pickle_allowed, resolve_home
from ..dbfile import guard_errors
from ..objects import DEFAULT_TIMEOUT_S, ObjectStore
from ..store import Store
from ..tracking import CellRecord  # re-exported: the record a tracked cell makes
from .browsing import BrowsingMixin
from .common import MAX_IMPORTANCE_FEATURES, recorded_importance
from .interop import InteropMixin
from .lineage import LineageMixin
from .loading import LoadingMixin
from .maintenance import GC_GRACE_S, MaintenanceMixin
from .metrics import key_metric, lower_is_better
from .recording import DEFAULT_MAX_OBJECT_BYTES, RecordingMixin
from .registering import RegisteringMixin
from .remotes import RemotesMixin
from .reproducing import ReproducingMixin
from .runs import RunsMixin
from .storing import StoringMixin
from .versions import VersionsMixin

__all__ = ["Registry", "CellRecord", "DEFAULT_MAX_OBJECT_BYTES", "GC_GRACE_S",
           "MAX_IMPORTANCE_FEATURES", "key_metric", "lower_is_better", "recorded_importance"]


# guard_errors wraps only a class's own methods: each mixin is decorated too
@guard_errors  # a damaged registry.db is one DatabaseDamagedError line, from every method
class Registry(RecordingMixin, StoringMixin, RunsMixin, VersionsMixin, RegisteringMixin,
               LoadingMixin, MaintenanceMixin, InteropMixin, LineageMixin, ReproducingMixin,
               RemotesMixin, BrowsingMixin):
    """A model registry in a folder (default: see `nbmodels.config.resolve_home`)."""

    def __init__(self, home: str | os.PathLike | None = None):
        self.home = resolve_home(home)
        self.store = Store(self.home / "registry.db")
        self.objects = ObjectStore(self.home / "objects")
        # seconds one value may take to serialize before it is listed as not captured
        # (the magics set it from NBModels.capture_timeout_s)
        self.capture_timeout_s: float | None = DEFAULT_TIMEOUT_S
        # how models are stored when `register` is given no format (NBModels.serializer)
        self.serializer = formats.DEFAULT
        # whether pickled objects load (NBModels.allow_pickle, NBMODELS_ALLOW_PICKLE=0)
        self.allow_pickle = pickle_allowed()
        # skops types the user approved (NBModels.trusted_types)
        self.trusted_types: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"Registry({str(self.home)!r})"

    def close(self) -> None:
        self.store.close()

