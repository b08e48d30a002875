"""`Registry`: the one API every surface (magics, widgets, REST, CLI) calls.

A registry is a folder: `registry.db` (metadata, SQLite) and `objects/` (content-addressed
bytes). Objects are made durable before the rows that point at them are committed, and
each write is one transaction, so a crash or a kill loses at most the write in flight.
"""

from __future__ import annotations

import getpass
import json
import os
import warnings
from dataclasses import dataclass, field
from datetime import datetime, UTC
from pathlib import Path
from typing import Any, Iterable

from . import capture
from .config import resolve_home
from .errors import (AmbiguousRefError, ConflictError, InvalidInputError, NotFoundError,
                     PackageVersionWarning)
from .objects import ObjectStore, StoredObject, UnstorableObject
from .records import (STAGES, GCReport, ModelSummary, ModelVersion, Run, Transition,
                      VerifyReport, VersionDetail, Damage)
from .store import (Store, encode_json, run_from_row, transition_from_row,
                    version_from_row)
from .versioning import (BUMPS, Ref, bumped, check_model_name, check_stage, did_you_mean,
                         infer_bump, parse_ref, parse_version)

DEFAULT_MAX_OBJECT_BYTES = 512 * 2**20
GC_GRACE_S = 3600  # never collect files this young: a writer may be about to commit rows
_SQL_OPERATORS = ("=", "!=", "<", "<=", ">", ">=")
_RUN_GROUPS = ("params", "metrics", "tags")
# ModelVersion's leading fields, in its order (list_versions builds it positionally)
_VERSION_FIELDS = ("name", "version", "stage", "run_id", "object_hash", "model_type", "size",
                   "created_at", "user", "bump", "bump_reason", "note", "variable")
_LOWER_IS_BETTER = ("loss", "error", "err", "rmse", "mse", "mae", "logloss", "mape")


@dataclass
class CellRecord:
    """What a tracked cell produced, as the magic hands it to `Registry.record_run`."""

    source: str
    experiment: str
    status: str
    started_at: datetime
    ended_at: datetime
    values: dict[str, Any]  # names the cell bound or fitted, with their objects
    inputs: dict[str, Any] = field(default_factory=dict)  # data read, existing before
    input_summaries: dict[str, Any] = field(default_factory=dict)  # taken before the cell ran
    note: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    param_names: tuple[str, ...] = ()
    metric_names: tuple[str, ...] = ()
    logged_params: dict[str, Any] = field(default_factory=dict)
    logged_metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    notebook: str | None = None
    git: dict | None = None


class Registry:
    """A model registry in a folder (default: see `nbmodels.config.resolve_home`)."""

    def __init__(self, home: str | os.PathLike | None = None):
        self.home = resolve_home(home)
        self.store = Store(self.home / "registry.db")
        self.objects = ObjectStore(self.home / "objects")

    def __repr__(self) -> str:
        return f"Registry({str(self.home)!r})"

    # ---- runs ---------------------------------------------------------------------------

    def record_run(self, cell: CellRecord, max_object_bytes: int | None = DEFAULT_MAX_OBJECT_BYTES,
                   store_inputs: bool = True) -> Run:
        """Store a tracked cell's run: its objects first, then its rows in one transaction."""
        from ulid import ULID

        run_id = str(ULID.from_datetime(cell.started_at))
        variables = [self._capture_variable(name, value, cell, max_object_bytes)
                     for name, value in sorted(cell.values.items())]
        inputs = [self._capture_input(name, value, cell.input_summaries.get(name),
                                      max_object_bytes if store_inputs else 0)
                  for name, value in sorted(cell.inputs.items())]
        for row in [*variables, *inputs]:
            row["run_id"] = run_id
        params = _run_params(variables, cell)
        metrics = {**{v["name"]: v["value"] for v in variables if v["role"] == "metric"},
                   **{k: capture.json_value(v) for k, v in cell.logged_metrics.items()}}
        env = capture.environment()
        row = {
            "id": run_id, "experiment": cell.experiment, "status": cell.status,
            "started_at": _iso(cell.started_at), "ended_at": _iso(cell.ended_at),
            "duration_s": round((cell.ended_at - cell.started_at).total_seconds(), 6),
            "user": env.get("user"), "host": env.get("host"), "notebook": cell.notebook,
            "note": cell.note, "source": cell.source, "error": cell.error,
            "params": encode_json(params), "metrics": encode_json(metrics),
            "tags": encode_json(cell.tags), "packages": encode_json(env.get("packages", {})),
            "python": env.get("python"), "git": encode_json(cell.git) if cell.git else None,
        }
        with self.store.write():
            self._insert_objects([*variables, *inputs])
            self.store.insert("runs", [row])
            self.store.insert("variables", (
                {**row, "value": encode_json(row["value"])}
                for row in _rows_without(variables, "stored", "fingerprint")))
            self.store.insert("inputs", _rows_without(inputs, "stored"))
            self.store.insert("data_objects", (
                {"fingerprint": r["fingerprint"], "object_hash": r["object_hash"]}
                for r in [*variables, *inputs] if r.get("fingerprint") and r["object_hash"]),
                ignore=True)
        return self.run(run_id)

    def _capture_variable(self, name: str, value: Any, cell: CellRecord,
                          max_bytes: int | None) -> dict:
        role = capture.role_of(name, value, cell.param_names, cell.metric_names)
        row = {"run_id": None, "name": name, "role": role, "type": capture.type_name(value),
               "object_hash": None, "size": None, "value": None, "data": None, "reason": None,
               "stored": None, "fingerprint": None}
        if role in ("param", "metric"):
            row["value"] = capture.json_value(value)
            return row
        summary = capture.summarize_data(value) if role == "data" else None
        if summary is not None:
            row["data"] = encode_json(_summary_dict(summary))
            row["fingerprint"] = summary.fingerprint
        if role == "model":
            row["data"] = encode_json({"params": capture.model_params(value),
                                       "signature": capture.model_signature(value)})
        self._store_into(row, value, max_bytes, summary.fingerprint if summary else None)
        return row

    def _capture_input(self, name: str, value: Any, summary, max_bytes: int | None) -> dict:
        summary = summary or capture.summarize_data(value)
        row = {"run_id": None, "name": name, "type": capture.type_name(value),
               "fingerprint": summary.fingerprint, "schema": encode_json(summary.schema),
               "stats": encode_json(summary.stats), "object_hash": None, "reason": None,
               "stored": None}
        if max_bytes == 0:
            row["reason"] = "content not stored (NBModels.store_inputs is False)"
            return row
        self._store_into(row, value, max_bytes, summary.fingerprint)
        return row

    def _store_into(self, row: dict, value: Any, max_bytes: int | None,
                    fingerprint: str | None) -> None:
        """Store `value` (or reuse the object already holding this data fingerprint) and
        note the object in `row`, or the reason it could not be stored."""
        stored = self._object_for_fingerprint(fingerprint) if fingerprint else None
        if stored is None:
            try:
                stored = self.objects.put(value, max_bytes=max_bytes)
            except UnstorableObject as exc:
                row["reason"] = exc.reason
                return
        row["object_hash"], row["stored"] = stored.hash, stored
        if "size" in row:
            row["size"] = stored.size

    def _object_for_fingerprint(self, fingerprint: str) -> StoredObject | None:
        found = self.store.one("SELECT object_hash FROM data_objects WHERE fingerprint = ?",
                               [fingerprint])
        return self._known_object(found["object_hash"]) if found else None

    def _insert_objects(self, rows: Iterable[dict]) -> None:
        now = _iso(_now())
        self.store.insert("objects", (
            {"hash": r["stored"].hash, "size": r["stored"].size,
             "serializer": r["stored"].serializer, "type": r["type"], "created_at": now}
            for r in rows if r.get("stored")), ignore=True)

    def run(self, run_id: str) -> Run:
        """The run with this id or unique id prefix (6+ characters), with its variables and
        inputs. Raises `NotFoundError`, `AmbiguousRefError` or `InvalidInputError`."""
        ref = parse_ref(run_id)
        if ref.run_prefix is None:
            raise InvalidInputError(f"bad run id {run_id!r}: use a run id or 6+ of its characters")
        row = self._run_row(ref.run_prefix)
        if row is None:
            raise NotFoundError(f"no run {run_id!r} in {self.home}")
        variables = self.store.query("SELECT * FROM variables WHERE run_id = ? ORDER BY name",
                                     [row["id"]])
        inputs = self.store.query("SELECT * FROM inputs WHERE run_id = ? ORDER BY name", [row["id"]])
        return run_from_row(row, variables, inputs)

    def _run_row(self, prefix: str) -> dict | None:
        rows = self.store.query("SELECT * FROM runs WHERE id >= ? AND id < ? ORDER BY id LIMIT 2",
                                [prefix, prefix + "\x7f"])
        if len(rows) > 1:
            raise AmbiguousRefError(
                f"run id prefix {prefix!r} matches several runs ({rows[0]['id']}, "
                f"{rows[1]['id']}, ...): give more characters")
        return rows[0] if rows else None

    def list_runs(self, experiment: str | None = None, limit: int | None = None,
                  offset: int = 0) -> list[Run]:
        """Runs newest first, without variables and inputs (see `run` for those)."""
        where, params = ("WHERE experiment = ?", [experiment]) if experiment else ("", [])
        page = f"LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
        rows = self.store.query(f"SELECT * FROM runs {where} ORDER BY id DESC {page}", params)
        return [run_from_row(r) for r in rows]

    def count_runs(self, experiment: str | None = None) -> int:
        where, params = ("WHERE experiment = ?", [experiment]) if experiment else ("", [])
        row = self.store.one(f"SELECT count(*) AS n FROM runs {where}", params)
        return row["n"] if row else 0

    def runs(self, experiment: str | None = None, *, where: dict | None = None,
             order_by: str | None = None, limit: int | None = None):
        """Runs as a DataFrame, newest first: `id, experiment, status, started_at, ended_at,
        duration_s, user, notebook, note`, then `params.*`, `metrics.*`, `tags.*`.

        Optional, evaluated in SQLite before any row reaches Python (use them on large
        registries; plain pandas on the frame works too):
        `where={"params.C": 0.5, "metrics.accuracy": (">", 0.9)}` keeps runs whose column
        equals a value, or compares with `=`, `!=`, `<`, `<=`, `>`, `>=` (None matches a
        missing value); `order_by="metrics.accuracy DESC"` sorts on any column (missing
        values last); `limit=10` keeps the first rows. Raises `InvalidInputError` for a
        malformed column, operator or order.

        Example: the top-10 leaderboard is `runs(order_by="metrics.accuracy DESC", limit=10)`.
        """
        from .tables import RUN_COLUMNS, runs_frame_from_rows

        conditions, params = (["experiment = ?"], [experiment]) if experiment else ([], [])
        for column, test in (where or {}).items():
            op, value = test if isinstance(test, tuple) else ("=", test)
            if op not in _SQL_OPERATORS:
                raise InvalidInputError(f"bad operator {op!r} for {column!r}: use one of "
                                        f"{', '.join(_SQL_OPERATORS)}")
            expression, args = _run_column(column)
            if value is None:
                conditions.append(f"{expression} IS {'NOT ' if op == '!=' else ''}NULL")
                params += args
            else:
                conditions.append(f"{expression} {op} ?")
                params += [*args, capture.json_value(value)]
        order = "id DESC"
        if order_by:
            column, _, direction = order_by.strip().partition(" ")
            direction = direction.strip().upper() or "ASC"
            if direction not in ("ASC", "DESC"):
                raise InvalidInputError(f"bad order_by {order_by!r}: use 'COLUMN' or "
                                        "'COLUMN ASC|DESC'")
            expression, args = _run_column(column)
            order = f"{expression} {direction} NULLS LAST, id DESC"
            params += args
        sql = (f"SELECT {', '.join(RUN_COLUMNS)}, params, metrics, tags FROM runs"
               + (f" WHERE {' AND '.join(conditions)}" if conditions else "")
               + f" ORDER BY {order}" + (f" LIMIT {int(limit)}" if limit is not None else ""))
        return runs_frame_from_rows(self.store.rows(sql, params))

    def last_run(self) -> Run | None:
        runs = self.list_runs(limit=1)
        return self.run(runs[0].id) if runs else None

    def update_run_values(self, run_id: str, params: dict | None = None,
                          metrics: dict | None = None) -> Run:
        """Add `log_param`/`log_metric` values to an existing run."""
        run = self.run(run_id)
        with self.store.write() as db:
            db["runs"].update(run.id, {
                "params": encode_json({**run.params, **_json_map(params)}),
                "metrics": encode_json({**run.metrics, **_json_map(metrics)})})
        return self.run(run.id)

    # ---- models and versions --------------------------------------------------------------

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
        from .tables import records_frame

        return records_frame(self.list_models(), [
            "name", "versions", "latest_version", "production_version", "updated_at",
            "latest_stage", "key_metric", "key_metric_value", "description"])

    def list_versions(self, name: str, limit: int | None = None,
                      offset: int = 0) -> list[ModelVersion]:
        """Versions of a model, oldest first; `limit`/`offset` page them in that order (the
        newest page is `offset=count_versions(name) - limit`). Raises `NotFoundError` for an
        unknown model (a page past the end is just empty)."""
        from .tables import parse_json_texts

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
        return [ModelVersion(*r[:width], *decoded[4 * n:4 * n + 4])  # fields in _VERSION_FIELDS order
                for n, r in enumerate(rows)]

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
        from .tables import versions_frame

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
        rows = self.store.query("SELECT * FROM transitions WHERE name = ? AND version = ? "
                                "ORDER BY id", [version.name, version.version])
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

    def register(self, obj: Any, name: str, version: str | None = None, bump: str | None = None,
                 stage: str | None = None, note: str | None = None, tags: dict | None = None,
                 run_id: str | None = None, variable: str | None = None,
                 stored_as: str | None = None) -> ModelVersion:
        """Register `obj` as a new version of model `name` and return it.

        The version is `version` if given, else the previous one bumped by `bump`, else by
        the bump inferred from what changed (the reason is stored in `bump_reason`). If these
        exact bytes are already a version of `name`, that version is returned with
        `created=False` and nothing is written. The version links to the run that captured
        the same bytes (or `run_id`). `stored_as` is the hash `obj` was stored under by a
        run when nothing can have changed it since: then it is not serialized again. Raises
        `InvalidInputError` for a bad name, version, bump or stage and `ConflictError` when
        `version` already exists.
        """
        check_model_name(name)
        _check_register_args(version, bump, stage)
        if version is not None:
            self._check_version_free(name, version)
        stored = self._known_object(stored_as) if stored_as else None
        stored = stored or self.objects.put(obj)
        run = self._lineage_run(stored.hash, run_id)
        facts = _facts(obj, run)
        params = run.params if run else capture.model_params(obj)
        metrics = run.metrics if run else {}
        with self.store.write() as db:
            same = self.store.one("SELECT * FROM versions WHERE name = ? AND object_hash = ?",
                                  [name, stored.hash])
            if same:
                return version_from_row(same, created=False)
            previous = self.store.one("SELECT * FROM versions WHERE name = ? "
                                      "ORDER BY major DESC, minor DESC, patch DESC LIMIT 1", [name])
            new_version, kind, reason = _next_version(previous, version, bump, facts)
            self._check_version_free(name, new_version)
            now = _iso(_now())
            self._insert_objects([{"stored": stored, "type": capture.type_name(obj)}])
            self.store.insert("models", [{"name": name, "created_at": now, "updated_at": now}],
                              ignore=True)
            db.execute("UPDATE models SET updated_at = ? WHERE name = ?", [now, name])
            major, minor, patch = parse_version(new_version)
            self.store.insert("versions", [{
                "name": name, "version": new_version, "major": major, "minor": minor,
                "patch": patch, "stage": "none", "run_id": run.id if run else None,
                "object_hash": stored.hash, "variable": variable, "model_type": facts["model_type"],
                "size": stored.size, "created_at": now, "user": _user(), "bump": kind,
                "bump_reason": reason, "note": note, "tags": encode_json(tags or {}),
                "params": encode_json(params), "metrics": encode_json(metrics),
                "facts": encode_json(facts)}])
            if stage and stage != "none":
                self._move_stage(db, name, new_version, "none", stage, note)
        return self.get(f"{name}@{new_version}")

    def _known_object(self, digest: str) -> StoredObject | None:
        """The stored object with this hash, if its row and its file are both there."""
        row = self.store.one("SELECT hash, size, serializer FROM objects WHERE hash = ?", [digest])
        if row is None or not self.objects.exists(digest):
            return None
        self.objects.touch(digest)
        return StoredObject(row["hash"], row["size"], row["serializer"], False)

    def _check_version_free(self, name: str, version: str) -> None:
        if self.store.one("SELECT 1 AS x FROM versions WHERE name = ? AND version = ?",
                          [name, version]):
            raise ConflictError(f"{name}@{version} already exists: pick another version or "
                                "let nbmodels choose")

    def _lineage_run(self, object_hash: str, run_id: str | None) -> Run | None:
        if run_id:
            return self.run(run_id)
        row = self.store.one("SELECT run_id FROM variables WHERE object_hash = ? AND role = 'model' "
                             "ORDER BY run_id DESC LIMIT 1", [object_hash])
        return self.run(row["run_id"]) if row else None

    def set_stage(self, ref: str, stage: str, note: str | None = None) -> ModelVersion:
        """Move a version to `stage`; promoting to production archives the previous
        production version. Every move is kept in the audit trail (`history`)."""
        check_stage(stage)
        target = self.get(ref)
        with self.store.write() as db:
            current = self.store.one("SELECT stage FROM versions WHERE name = ? AND version = ?",
                                     [target.name, target.version])["stage"]
            if current != stage:
                self._move_stage(db, target.name, target.version, current, stage, note)
        return self.get(target.ref)

    def _move_stage(self, db, name: str, version: str, from_stage: str, to_stage: str,
                    note: str | None) -> None:
        now = _iso(_now())
        if to_stage == "production":
            for old in self.store.query("SELECT version FROM versions WHERE name = ? AND "
                                        "stage = 'production' AND version != ?", [name, version]):
                self._write_transition(db, name, old["version"], "production", "archived",
                                       f"replaced by {version}", now)
        self._write_transition(db, name, version, from_stage, to_stage, note, now)
        db.execute("UPDATE models SET updated_at = ? WHERE name = ?", [now, name])

    def _write_transition(self, db, name, version, from_stage, to_stage, note, at) -> None:
        db.execute("UPDATE versions SET stage = ? WHERE name = ? AND version = ?",
                   [to_stage, name, version])
        self.store.insert("transitions", [{
            "name": name, "version": version, "from_stage": from_stage, "to_stage": to_stage,
            "user": _user(), "at": at, "note": note}])

    def transitions(self, name: str) -> list[Transition]:
        """The audit trail of a model's stage changes, oldest first."""
        self.count_versions(name)  # raises for an unknown model, without reading its versions
        rows = self.store.query("SELECT * FROM transitions WHERE name = ? ORDER BY id", [name])
        return [transition_from_row(r) for r in rows]

    def history(self, name: str):
        """The audit trail as a DataFrame: `name, version, from_stage, to_stage, user, at,
        note`, oldest first."""
        from .tables import records_frame

        return records_frame(self.transitions(name), [
            "name", "version", "from_stage", "to_stage", "user", "at", "note"])

    def compare(self, *refs: str, on: tuple | None = None):
        """Compare runs or versions (or every version of one model, given its NAME); with
        `on=(X, y)` also score the models on that data. See `nbmodels.compare`."""
        from .comparison import compare

        return compare(self, *refs, on=on)

    # ---- loading ------------------------------------------------------------------------

    def load(self, ref: str, variable: str | None = None) -> Any:
        """The model a REF names, its hash verified. For a run, its (only, or `variable`)
        model. Raises `IntegrityError` when the bytes do not match their hash; warns with
        `PackageVersionWarning` when a recorded package version differs from the installed."""
        return self._load_model(self.resolve(ref), variable)[1]

    def restore(self, ref: str) -> tuple[str, Any]:
        """The model a REF names and the variable name it was captured under (for a version
        registered without one, its model name made a valid identifier)."""
        target = self.resolve(ref)
        object_hash, obj = self._load_model(target, None)
        if isinstance(target, Run):
            return next(v.name for v in target.variables if v.object_hash == object_hash), obj
        return target.variable or _identifier(target.name), obj

    def _load_model(self, target: Run | ModelVersion, variable: str | None) -> tuple[str, Any]:
        object_hash, run = self._model_object(target, variable)
        obj = self._load_object(object_hash)
        if run is not None:
            _warn_package_changes(run.packages)
        return object_hash, obj

    def load_variables(self, ref: str) -> dict[str, Any]:
        """Every captured variable of a run (or of a version's run), loaded and verified:
        objects from their files, params and metrics from their recorded values."""
        target = self.resolve(ref)
        run = target if isinstance(target, Run) else self._version_run(target)
        if run is None:
            return {target.variable or target.name: self._load_object(target.object_hash)}
        values = {v.name: (v.value if v.object_hash is None else self._load_object(v.object_hash))
                  for v in run.variables if v.captured}
        _warn_package_changes(run.packages)
        return values

    def _model_object(self, target: Run | ModelVersion, variable: str | None):
        if isinstance(target, ModelVersion):
            return target.object_hash, self._version_run(target)
        candidates = [v for v in target.variables if v.object_hash and
                      (v.name == variable if variable else v.role == "model")]
        if len(candidates) != 1:
            names = [v.name for v in target.models]
            what = f"variable {variable!r}" if variable else "exactly one model"
            raise NotFoundError(f"run {target.id} has not {what} captured "
                                f"(models: {', '.join(names) or 'none'})")
        return candidates[0].object_hash, target

    def _version_run(self, version: ModelVersion) -> Run | None:
        return self.run(version.run_id) if version.run_id else None

    def _load_object(self, object_hash: str) -> Any:
        row = self.store.one("SELECT serializer FROM objects WHERE hash = ?", [object_hash])
        return self.objects.get(object_hash, row["serializer"] if row else "pickle5")

    # ---- maintenance ----------------------------------------------------------------------

    def gc(self, dry_run: bool = True) -> GCReport:
        """Remove object files no row references and leftover temp files older than an
        hour; with `dry_run` (the default) only report them."""
        referenced = self._referenced_hashes()
        cutoff = _now().timestamp() - GC_GRACE_S
        orphans = [h for h in self.objects.hashes() if h not in referenced and
                   self.objects.path(h).stat().st_mtime < cutoff]
        temps = [p for p in self.objects.temp_files() if p.stat().st_mtime < cutoff]
        size = sum(self.objects.path(h).stat().st_size for h in orphans) + \
            sum(p.stat().st_size for p in temps)
        if not dry_run:
            self._collect(orphans, temps)
        return GCReport(dry_run, tuple(orphans), tuple(p.name for p in temps), size)

    def _referenced_hashes(self) -> set[str]:
        return {r["h"] for r in self.store.query(
            "SELECT object_hash AS h FROM variables WHERE object_hash IS NOT NULL UNION "
            "SELECT object_hash FROM inputs WHERE object_hash IS NOT NULL UNION "
            "SELECT object_hash FROM versions")}

    def _collect(self, orphans: list[str], temps: list[Path]) -> None:
        with self.store.write() as db:
            for digest in orphans:
                db.execute("DELETE FROM data_objects WHERE object_hash = ?", [digest])
                db.execute("DELETE FROM objects WHERE hash = ?", [digest])
        for digest in orphans:
            self.objects.remove(digest)
        for path in temps:
            path.unlink(missing_ok=True)

    def verify(self) -> VerifyReport:
        """Check every object's bytes against its hash and that every row's object exists."""
        damage: list[Damage] = []
        objects = self.store.query("SELECT hash FROM objects")
        for row in objects:
            digest = row["hash"]
            if not self.objects.path(digest).is_file():
                damage.append(Damage("object-missing", digest, "file is missing"))
            elif not self.objects.check(digest):
                damage.append(Damage("object-corrupt", digest, "bytes do not match the hash"))
        known = {r["hash"] for r in objects}
        rows = self.store.query(
            "SELECT 'versions' AS tbl, name || '@' || version AS what, object_hash FROM versions "
            "UNION ALL SELECT 'variables', run_id || ':' || name, object_hash FROM variables "
            "WHERE object_hash IS NOT NULL UNION ALL SELECT 'inputs', run_id || ':' || name, "
            "object_hash FROM inputs WHERE object_hash IS NOT NULL")
        damage += [Damage("row-dangling", f"{r['tbl']} {r['what']}",
                          f"points at unknown object {r['object_hash'][:12]}")
                   for r in rows if r["object_hash"] not in known]
        return VerifyReport(len(objects), len(rows), tuple(damage))

    def experiments(self) -> list[str]:
        return [r["experiment"] for r in self.store.query(
            "SELECT DISTINCT experiment FROM runs ORDER BY experiment")]

    def close(self) -> None:
        self.store.close()


# ---- helpers --------------------------------------------------------------------------------

def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def _identifier(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    return cleaned if cleaned.isidentifier() else f"model_{cleaned}"


def _run_column(column: str) -> tuple[str, list]:
    """A `runs()` column name as an SQL expression and its arguments: a fixed column, or
    `params.KEY` / `metrics.KEY` / `tags.KEY` read from the JSON (KEY passed as a bound
    JSON path, so any key is safe)."""
    from .tables import RUN_COLUMNS

    if column in RUN_COLUMNS:
        return column, []
    group, _, key = column.partition(".")
    if group in _RUN_GROUPS and key and '"' not in key:
        return f"json_extract({group}, ?)", [f'$."{key}"']
    raise InvalidInputError(f"bad run column {column!r}: use one of {', '.join(RUN_COLUMNS)} "
                            "or params.NAME, metrics.NAME, tags.NAME")


def _json_map(values: dict | None) -> dict:
    return {k: capture.json_value(v) for k, v in (values or {}).items()}


def _rows_without(rows: list[dict], *keys: str) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in keys} for row in rows]


def _summary_dict(summary) -> dict:
    return {"fingerprint": summary.fingerprint, "schema": summary.schema,
            "stats": summary.stats, "nbytes": summary.nbytes}


def _run_params(variables: list[dict], cell: CellRecord) -> dict:
    """The cell's own params first (they win a clash), then `log_param` values, then each
    model's hyperparameters: bare names for one model, `VAR.NAME` for several."""

    params = {v["name"]: v["value"] for v in variables if v["role"] == "param"}
    params.update(_json_map(cell.logged_params))
    models = [v for v in variables if v["role"] == "model" and v["data"]]
    for model in models:
        prefix = f"{model['name']}." if len(models) > 1 else ""
        for key, value in json.loads(model["data"])["params"].items():
            params.setdefault(prefix + key, value)
    return params


def _facts(obj: Any, run: Run | None) -> dict:
    """What `infer_bump` compares between two versions."""
    inputs = run.inputs if run else ()
    return {
        "model_type": capture.type_name(obj),
        "signature": capture.model_signature(obj),
        "input_schema": {i.name: i.schema for i in inputs} or None,
        "params": run.params if run else capture.model_params(obj),
        "metrics": run.metrics if run else {},
        "data": {i.name: i.fingerprint for i in inputs},
        "source": run.source if run else None,
        "packages": run.packages if run else {},
    }


def _check_register_args(version: str | None, bump: str | None, stage: str | None) -> None:
    if version is not None and bump is not None:
        raise InvalidInputError("give either a version or a bump, not both")
    if version is not None:
        parse_version(version)
    if bump is not None and bump not in BUMPS:
        raise InvalidInputError(f"bad bump {bump!r}: use major, minor or patch"
                                f"{did_you_mean(bump, BUMPS)}")
    if stage is not None:
        check_stage(stage)


def _next_version(previous: dict | None, version: str | None, bump: str | None,
                  facts: dict) -> tuple[str, str, str]:
    if version is not None:
        return version, "explicit", f"version {version} given"
    if previous is None:
        return "1.0.0", "initial", "first version"
    if bump is not None:
        return bumped(previous["version"], bump), bump, f"{bump} bump requested"
    kind, reason = infer_bump(previous["facts"] or {}, facts)
    return bumped(previous["version"], kind), kind, reason


def _model_summary(row: dict) -> ModelSummary:

    metrics = json.loads(row["latest_metrics"] or "{}")
    key = key_metric(metrics)
    return ModelSummary(
        name=row["name"], versions=row["versions"], latest_version=row["latest_version"],
        latest_stage=row["latest_stage"], production_version=row["production_version"],
        updated_at=row["updated_at"], key_metric=key,
        key_metric_value=metrics.get(key) if key else None, description=row["description"])


def _warn_package_changes(recorded: dict) -> None:
    from importlib.metadata import PackageNotFoundError, version

    for dist, old in sorted(recorded.items()):
        try:
            now = version(dist)
        except PackageNotFoundError:
            continue
        if now != old:
            warnings.warn(PackageVersionWarning(
                f"{dist} {now} is installed but the model was trained with {dist} {old}"),
                stacklevel=3)


_KEY_METRICS = ("accuracy", "acc", "f1", "roc_auc", "auc", "r2", "rmse", "mae", "loss")


def key_metric(metrics: dict) -> str | None:
    """The metric to show first: a well-known one if present, else the first."""
    for wanted in _KEY_METRICS:
        for name in metrics:
            if wanted in name.lower().split("_") or name.lower() == wanted:
                return name
    return next(iter(metrics), None)


def lower_is_better(metric: str) -> bool:
    """Whether a smaller value of `metric` is better (losses and errors)."""
    parts = metric.lower().replace("-", "_").split("_")
    return any(p in _LOWER_IS_BETTER for p in parts)
