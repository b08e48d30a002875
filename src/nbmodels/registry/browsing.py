"""What the browsing surfaces (the JupyterLab panel, the widgets) read beyond the plain
listings: a page of runs searched and sorted in SQLite, the versions made from a run, a
version's standing (champion or challenger, where it lives), and registering the model a
run captured, from the run's id alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from .. import formats
from ..dbfile import guard_errors
from ..errors import InvalidInputError, NotFoundError
from ..records import ModelVersion, Run, _Record
from ..store import run_from_row, version_from_row
from ..versioning import check_text
from .metrics import verdict
from .queries import order_sql

# what a runs search looks in (the cell code is left out: it is the bulk of a run's row)
_SEARCHED = ("id", "experiment", "note", "notebook", "user", "status", "tags", "params")
# how many of the newest runs the metric names to sort on are gathered from
_METRIC_NAMES_FROM = 1000


@dataclass(frozen=True)
class RunsPage(_Record):
    """One page of a runs search: the runs (without variables and inputs), how many match,
    every experiment, and the metric names of recent runs (what a list can sort on)."""

    runs: tuple[Run, ...]
    total: int
    experiments: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunProducts(_Record):
    """What a run produced: its captured models as `(variable, type)` and the REFs of the
    versions registered from it (oldest first per model)."""

    models: tuple[tuple[str, str], ...] = ()
    versions: tuple[str, ...] = ()


@dataclass(frozen=True)
class MetricStanding(_Record):
    """One metric of a version beside the production version's: `verdict` is `better`,
    `worse`, `same`, or empty when either value is not a finite number."""

    name: str
    value: Any
    champion: Any
    verdict: str = ""


@dataclass(frozen=True)
class Standing(_Record):
    """Where a version stands: `location` (`local`, `remote`, `both`; None for a registry
    without remotes), whether it is the production version (the champion) and, if it is
    not, the champion's REF (None when the model has no production version) and the
    metrics recorded with each."""

    ref: str
    location: str | None
    is_champion: bool
    champion: str | None = None
    metrics: tuple[MetricStanding, ...] = ()


@guard_errors
class BrowsingMixin:
    """Browsing: `find_runs`, `run_versions`, `standing`, `register_run`."""

    def find_runs(self, experiment: str | None = None, text: str | None = None,
                  order_by: str | None = None, limit: int = 50, offset: int = 0) -> RunsPage:
        """A page of runs, newest first unless `order_by` (`started_at DESC`,
        `duration_s`, `metrics.accuracy DESC`: any `runs()` column; missing values last).
        `text` keeps runs whose id, experiment, note, notebook, user, status, tags or params
        contain it (any case). Raises `InvalidInputError` for a malformed order."""
        check_text(experiment, "experiment")
        check_text(text, "search text")
        if int(limit) < 0 or int(offset) < 0:
            raise InvalidInputError(f"limit={limit!r} and offset={offset!r} must not be negative")
        conditions, params = [], []
        if experiment:
            conditions.append("experiment = ?")
            params.append(experiment)
        if text:
            conditions.append("(" + " OR ".join(
                f"instr(lower(coalesce({column}, '')), ?) > 0" for column in _SEARCHED) + ")")
            params += [text.lower()] * len(_SEARCHED)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        order, order_params = order_sql(order_by)
        # sort ids only, then read the page's rows: the sorter never holds the cell code
        ids = [row[0] for row in self.store.rows(
            f"SELECT id FROM runs {where} ORDER BY {order} LIMIT ? OFFSET ?",
            [*params, *order_params, int(limit), int(offset)])]
        by_id = {row["id"]: row for row in self.store.query(
            f"SELECT * FROM runs WHERE id IN ({', '.join('?' * len(ids))})", ids)}
        total = self.store.one(f"SELECT count(*) AS n FROM runs {where}", params)
        return RunsPage(tuple(run_from_row(by_id[i]) for i in ids),
                        total["n"] if total else 0, tuple(self.experiments()),
                        tuple(self._recent_metric_names(experiment)))

    def _recent_metric_names(self, experiment: str | None) -> list[str]:
        where, params = ("WHERE experiment = ?", [experiment]) if experiment else ("", [])
        return [r["key"] for r in self.store.query(
            "SELECT DISTINCT j.key AS key FROM (SELECT metrics FROM runs "
            f"{where} ORDER BY id DESC LIMIT {_METRIC_NAMES_FROM}) AS recent, "
            "json_each(recent.metrics) AS j ORDER BY j.key", params)]

    def run_products(self, run_ids: Iterable[str]) -> dict[str, RunProducts]:
        """For each of `run_ids` (full ids, a page of `find_runs`): the models it captured
        and the versions registered from it, in two queries for the whole page."""
        ids = list(run_ids)
        found = {run_id: ([], []) for run_id in ids}
        marks = ", ".join("?" * len(ids))
        for row in self.store.rows(
                f"SELECT run_id, name, type FROM variables WHERE run_id IN ({marks}) "
                "AND role = 'model' AND reason IS NULL ORDER BY run_id, name", ids):
            found[row[0]][0].append((row[1], row[2]))
        for row in self.store.rows(
                f"SELECT run_id, name, version FROM versions WHERE run_id IN ({marks}) "
                "ORDER BY run_id, name, major, minor, patch", ids):
            found[row[0]][1].append(f"{row[1]}@{row[2]}")
        return {run_id: RunProducts(tuple(models), tuple(refs))
                for run_id, (models, refs) in found.items()}

    def run_versions(self, run_id: str) -> list[ModelVersion]:
        """The versions registered from a run (id or prefix), oldest first."""
        run = self.run(run_id)
        return [version_from_row(row) for row in self.store.query(
            "SELECT * FROM versions WHERE run_id = ? ORDER BY name, major, minor, patch",
            [run.id])]

    def standing(self, ref: str) -> Standing:
        """Where the version a REF names stands: its location and, unless it is in
        production, its metrics against the production version's (the champion)."""
        version = self.get(ref)
        location = self._version_locations(version.name,
                                           [(version.version, version.object_hash)])[0]
        if version.stage == "production":
            return Standing(version.ref, location, True)
        try:
            champion = self.get(f"{version.name}@production")
        except NotFoundError:
            return Standing(version.ref, location, False)
        names = dict.fromkeys([*version.metrics, *champion.metrics])
        return Standing(version.ref, location, False, champion.ref, tuple(
            MetricStanding(name, version.metrics.get(name), champion.metrics.get(name),
                           verdict(name, version.metrics.get(name), champion.metrics.get(name)))
            for name in names))

    def register_run(self, run_id: str, name: str | None = None, variable: str | None = None,
                     *, version: str | None = None, bump: str | None = None,
                     stage: str | None = None, note: str | None = None,
                     tags: dict | None = None, trusted: Iterable[str] = ()) -> ModelVersion:
        """Register the model a run (id or prefix) captured, as `%register` does right after
        the run: its stored bytes (hash-verified, refused as `load` refuses), linked to the
        run, named `name` (default: the variable's name). `variable` picks one of several
        models. Raises `NotFoundError` when the run captured no such model,
        `InvalidInputError` when it has several and none is named."""
        run = self.run(run_id)
        model = _run_model(run, variable)
        obj = self._load_objects({f"{model.name} of run {run.id}": model.object_hash},
                                 trusted).popitem()[1]
        stored_format = formats.base(self._serializer(model.object_hash))
        return self.register(obj, name or model.name, version=version, bump=bump, stage=stage,
                             note=note, tags=tags, run_id=run.id, variable=model.name,
                             stored_as=model.object_hash, format=stored_format)


def _run_model(run: Run, variable: str | None):
    models = [v for v in run.models if v.object_hash]
    if variable is not None:
        found = [v for v in models if v.name == variable]
        if not found:
            raise NotFoundError(f"run {run.id} captured no model {variable!r} (models: "
                                f"{', '.join(v.name for v in models) or 'none'})")
        return found[0]
    if len(models) != 1:
        if not models:
            raise NotFoundError(f"run {run.id} captured no model to register")
        raise InvalidInputError(f"run {run.id} captured several models "
                                f"({', '.join(v.name for v in models)}): say which to register")
    return models[0]
