"""Reading models and versions: listings, REF resolution, version pages, the stage audit
trail, and `compare`."""

from __future__ import annotations

from ..dbfile import guard_errors
from ..errors import InvalidInputError, NotFoundError
from ..jsoncodec import decode_json
from ..records import (STAGES, ModelSummary, ModelVersion, Run, Transition,
                       VersionDetail)
from ..store import transition_from_row, version_from_row
from ..versioning import Ref, check_model_name, did_you_mean, parse_ref, replay_order
from .metrics import key_metric

# ModelVersion's leading fields, in its order (list_versions builds it positionally)
_VERSION_FIELDS = ("name", "version", "stage", "run_id", "object_hash", "model_type", "size",
                   "created_at", "user", "bump", "bump_reason", "note", "variable")


@guard_errors
class VersionsMixin:
    """Models and versions, read: `list_models`, `list_versions`, `get`, `resolve`,
    `version_detail`, `transitions`, `history`, `compare`, and their frames."""

    def list_models(self) -> list[ModelSummary]:
        rows = self.store.query("""
            SELECT m.name, m.updated_at, m.description, count(v.version) AS versions,
              (SELECT version FROM versions WHERE name = m.name
               ORDER BY major DESC, minor DESC, patch DESC LIMIT 1) AS latest_version,
              (SELECT stage FROM versions WHERE name = m.name
               ORDER BY major DESC, minor DESC, patch DESC LIMIT 1) AS latest_stage,
              (SELECT metrics FROM versions WHERE name = m.name
               ORDER BY major DESC, minor DESC, patch DESC LIMIT 1) AS latest_metrics,
              (SELECT version FROM versions WHERE name = m.name AND stage = 'production')
                AS production_version
            FROM models m JOIN versions v ON v.name = m.name
            GROUP BY m.name ORDER BY m.updated_at DESC""")
        return [_model_summary(r) for r in rows]

    def models(self):
        """Registered models as a DataFrame: `name, versions, latest_version,
        production_version, updated_at` (and the key metric)."""
        from ..tables import records_frame

        return records_frame(self.list_models(), [
            "name", "versions", "latest_version", "production_version", "updated_at",
            "latest_stage", "key_metric", "key_metric_value", "description"])

    def list_versions(self, name: str, limit: int | None = None,
                      offset: int = 0) -> list[ModelVersion]:
        """Versions of a model, oldest first; `limit`/`offset` page them in that order (the
        newest page is `offset=count_versions(name) - limit`). Raises `NotFoundError` for an
        unknown model (a page past the end is just empty)."""
        from ..tables import parse_json_texts

        if (limit is not None and int(limit) < 0) or int(offset) < 0:
            raise InvalidInputError(f"limit={limit!r} and offset={offset!r} must not be negative")
        page = (f" LIMIT {-1 if limit is None else int(limit)} OFFSET {int(offset)}"
                if limit is not None or offset else "")
        # only the signature of `facts` is shown: the rest (sources, packages) stays in SQLite
        rows = self.store.rows(
            f"SELECT {', '.join(_VERSION_FIELDS)}, params, metrics, tags, "
            "json_quote(json_extract(facts, '$.signature')) FROM versions WHERE name = ? "
            f"ORDER BY major, minor, patch{page}", [check_model_name(name)])
        if not rows and (not page or not self.store.one(
                "SELECT 1 AS x FROM versions WHERE name = ? LIMIT 1", [name])):
            raise self._unknown_model(name)
        width = len(_VERSION_FIELDS)
        # one json.loads for every row's params, metrics, tags and signature (a JSON null)
        decoded = parse_json_texts([t if t is not None else ("null" if i == 3 else "{}")
                                    for r in rows for i, t in enumerate(r[width:])])
        where = self._version_locations(name, [(r[1], r[4]) for r in rows])  # registry/remotes.py
        return [ModelVersion(*r[:width], *decoded[4 * n:4 * n + 4],  # fields in _VERSION_FIELDS order
                             location=where[n]) for n, r in enumerate(rows)]

    def count_versions(self, name: str) -> int:
        """How many versions a model has. Raises `NotFoundError` for an unknown model."""
        row = self.store.one("SELECT count(*) AS n FROM versions WHERE name = ?",
                             [check_model_name(name)])
        if not row or not row["n"]:
            raise self._unknown_model(name)
        return row["n"]

    def versions(self, name: str):
        """Versions of a model as a DataFrame, oldest first: `name, version, stage, run_id,
        created_at, user, bump, bump_reason, note`, then `params.*`, `metrics.*`, `tags.*`."""
        from ..tables import versions_frame

        return versions_frame(self.list_versions(name))

    def get(self, ref: str) -> ModelVersion:
        """The version a REF names (`NAME`, `NAME@1.2.0`, `NAME@production`, `NAME@latest`).

        Raises `InvalidInputError` for a malformed REF and `NotFoundError` when nothing
        matches."""
        parsed = parse_ref(ref)
        if parsed.name is None:
            raise InvalidInputError(f"{ref!r} is a run id, not a model version: use NAME@VERSION")
        return self._resolve_version(parsed)

    def version_detail(self, ref: str) -> VersionDetail:
        """The version a REF names (as `get`) with its run (None for a version registered
        without a tracked run) and its own stage changes, oldest first: everything a
        version's page shows. Raises as `get` does."""
        version = self.get(ref)
        rows = replay_order(self.store.query(
            "SELECT * FROM transitions WHERE name = ? AND version = ? ORDER BY id",
            [version.name, version.version]))
        return VersionDetail(version, self._version_run(version),
                             tuple(transition_from_row(r) for r in rows))

    def _resolve_version(self, ref: Ref) -> ModelVersion:
        order = "ORDER BY major DESC, minor DESC, patch DESC LIMIT 1"
        if ref.selector == "latest":
            row = self.store.one(f"SELECT * FROM versions WHERE name = ? {order}", [ref.name])
        elif ref.selector in STAGES:
            row = self.store.one(f"SELECT * FROM versions WHERE name = ? AND stage = ? {order}",
                                 [ref.name, ref.selector])
        else:
            row = self.store.one("SELECT * FROM versions WHERE name = ? AND version = ?",
                                 [ref.name, ref.selector])
        if row is None:
            if not self.store.one("SELECT 1 AS x FROM models WHERE name = ?", [ref.name]):
                raise self._unknown_model(ref.name)
            raise NotFoundError(f"model {ref.name!r} has no version {ref.selector!r} "
                                f"(see nbmodels versions {ref.name})")
        return version_from_row(row)

    def _unknown_model(self, name: str) -> NotFoundError:
        names = [r["name"] for r in self.store.query("SELECT name FROM models")]
        return NotFoundError(f"no model named {name!r} in {self.home}{did_you_mean(name, names)}")

    def resolve(self, ref: str) -> Run | ModelVersion:
        """A REF as a run (id or prefix) or a model version: runs are tried first."""
        parsed = parse_ref(ref)
        if parsed.run_prefix is not None:
            row = self._run_row(parsed.run_prefix)
            if row is not None:
                return self.run(row["id"])
            if parsed.name is None or not self.store.one(
                    "SELECT 1 AS x FROM models WHERE name = ?", [parsed.name]):
                raise NotFoundError(f"no run or model {ref!r} in {self.home}")
        return self._resolve_version(parsed)

    def _version_run(self, version: ModelVersion) -> Run | None:
        return self.run(version.run_id) if version.run_id else None

    def transitions(self, name: str) -> list[Transition]:
        """The audit trail of a model's stage changes, oldest first."""
        self.count_versions(name)  # raises for an unknown model, without reading its versions
        # in the order every machine replays them (`replay_order`), not as inserted here:
        # changes pulled from a remote come after local ones, even older or same-time ones
        rows = replay_order(self.store.query(
            "SELECT * FROM transitions WHERE name = ? ORDER BY id", [name]))
        return [transition_from_row(r) for r in rows]

    def history(self, name: str):
        """The audit trail as a DataFrame: `name, version, from_stage, to_stage, user, at,
        note`, oldest first."""
        from ..tables import records_frame

        return records_frame(self.transitions(name), [
            "name", "version", "from_stage", "to_stage", "user", "at", "note"])

    def compare(self, *refs: str, on: tuple | None = None):
        """Compare runs or versions (or every version of one model, given its NAME); with
        `on=(X, y)` also score the models on that data. See `nbmodels.compare`."""
        from ..comparison import compare

        return compare(self, *refs, on=on)


def _model_summary(row: dict) -> ModelSummary:

    metrics = decode_json(row["latest_metrics"] or "{}")
    key = key_metric(metrics)
    return ModelSummary(
        name=row["name"], versions=row["versions"], latest_version=row["latest_version"],
        latest_stage=row["latest_stage"], production_version=row["production_version"],
        updated_at=row["updated_at"], key_metric=key,
        key_metric_value=metrics.get(key) if key else None, description=row["description"])
