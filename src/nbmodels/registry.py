"""`Registry`: the one API every surface (magics, widgets, REST, CLI) calls.

A registry is a folder: `registry.db` (metadata, SQLite) and `objects/` (content-addressed
bytes). Objects are made durable before the rows that point at them are committed, and
each write is one transaction, so a crash or a kill loses at most the write in flight.
"""

from __future__ import annotations

import getpass
import json
import math
import os
import warnings
from datetime import datetime, UTC
from pathlib import Path
from typing import Any, Iterable

from . import capture
from .config import pickle_allowed, resolve_home
from .errors import (AmbiguousRefError, ConflictError, IntegrityError, InvalidInputError,
                     NotFoundError, PackageVersionWarning, UntrustedObjectError)
from .facts import stored_facts, version_facts, with_logged
from .jsoncodec import NAN_SQL, decode_json
from . import formats
from .objects import (DEFAULT_TIMEOUT_S, ObjectStore, StoredObject, UnstorableObject,
                      valid_hash)
from .records import (STAGES, BackupReport, GCReport, ModelSummary, ModelVersion, Run,
                      Transition, VerifyReport, VersionDetail, Damage)
from .tracking import CellRecord  # noqa: F401  (re-exported: the record a tracked cell makes)
from .dbfile import guard_errors
from .store import (Store, encode_json, run_from_row, transition_from_row,
                    version_from_row)
from .versioning import (BUMPS, Ref, bumped, check_model_name, check_stage, check_tags,
                         check_text, did_you_mean, infer_bump, parse_ref, parse_version)

DEFAULT_MAX_OBJECT_BYTES = 512 * 2**20
GC_GRACE_S = 3600  # never collect files this young: a writer may be about to commit rows
_SQL_OPERATORS = ("=", "!=", "<", "<=", ">", ">=")
_RUN_GROUPS = ("params", "metrics", "tags")
# ModelVersion's leading fields, in its order (list_versions builds it positionally)
_VERSION_FIELDS = ("name", "version", "stage", "run_id", "object_hash", "model_type", "size",
                   "created_at", "user", "bump", "bump_reason", "note", "variable")
_LOWER_IS_BETTER = ("loss", "error", "err", "rmse", "mse", "mae", "logloss", "mape")


@guard_errors  # a damaged registry.db is one DatabaseDamagedError line, from every method
class Registry:
    """A model registry in a folder (default: see `nbmodels.config.resolve_home`)."""

    def __init__(self, home: str | os.PathLike | None = None):
        self.home = resolve_home(home)
        self.store = Store(self.home / "registry.db")
        self._run_objects: dict[str, StoredObject] = {}  # data stored by the run being recorded
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

    # ---- runs ---------------------------------------------------------------------------

    def record_run(self, cell: CellRecord, max_object_bytes: int | None = DEFAULT_MAX_OBJECT_BYTES,
                   store_inputs: bool = True) -> Run:
        """Store a tracked cell's run: its objects first, then its rows in one transaction."""
        from ulid import ULID

        check_text(cell.experiment, "experiment")
        check_text(cell.note, "note")
        check_tags(cell.tags)
        run_id = str(ULID.from_datetime(cell.started_at))
        self._run_objects: dict[str, StoredObject] = {}
        try:
            variables = [self._capture_variable(name, value, cell, max_object_bytes)
                         for name, value in sorted(cell.values.items())]
            inputs = [self._capture_input(name, value, cell.input_summaries.get(name),
                                          max_object_bytes if store_inputs else 0)
                      for name, value in sorted(cell.inputs.items())]
        finally:
            self._run_objects = {}
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
        computed = capture.cell_names(cell.source).computed  # cached: no second parse
        role = capture.role_of(name, value, cell.param_names, cell.metric_names, computed)
        row = {"run_id": None, "name": name, "role": role, "type": capture.type_name(value),
               "object_hash": None, "size": None, "value": None, "data": None, "reason": None,
               "stored": None, "fingerprint": None}
        if role in ("param", "metric"):
            row["value"] = capture.json_value(value)
            return row
        try:  # one value that cannot be described never loses the run
            summary = capture.summarize_data(value) if role == "data" else None
            if role == "model":
                row["data"] = encode_json({"params": capture.model_params(value),
                                           "signature": capture.model_signature(value),
                                           "importance": recorded_importance(value)})
        except Exception as exc:  # noqa: BLE001
            row["reason"] = f"not captured: {type(exc).__name__}: {exc}"
            return row
        reuse = summary.fingerprint if summary is not None and summary.complete else None
        if summary is not None:
            row["data"] = encode_json(_summary_dict(summary))
            row["fingerprint"] = reuse
        self._store_safely(row, value, max_bytes, reuse)
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
        # An incomplete fingerprint (content not fully read) proves nothing: no reuse.
        self._store_safely(row, value, max_bytes, summary.fingerprint if summary.complete else None)
        return row

    def _store_safely(self, row: dict, value: Any, max_bytes: int | None,
                      fingerprint: str | None) -> None:
        """`_store_into`, and whatever else storing one value raises (a hostile
        `__getattribute__` met before pickling) becomes that value's reason."""
        try:
            self._store_into(row, value, max_bytes, fingerprint)
        except Exception as exc:  # noqa: BLE001  one value never loses the run
            row["reason"] = f"not captured: {type(exc).__name__}: {exc}"

    def _store_into(self, row: dict, value: Any, max_bytes: int | None,
                    fingerprint: str | None) -> None:
        """Store `value` (or reuse the object already holding this data fingerprint) and
        note the object in `row`, or the reason it could not be stored."""
        # The same data bound and read by one cell (`obj = big`) is serialized once.
        stored = self._run_objects.get(fingerprint) if fingerprint else None
        if stored is None and fingerprint:
            stored = self._object_for_fingerprint(fingerprint, value)
        if stored is None:
            try:
                stored = self.objects.put(value, self._run_format(row, value),
                                          max_bytes=max_bytes, timeout_s=self.capture_timeout_s)
            except UnstorableObject as exc:
                row["reason"] = exc.reason
                return
        if fingerprint:  # None when the fingerprint does not prove the content
            self._run_objects[fingerprint] = stored
        row["object_hash"], row["stored"] = stored.hash, stored
        if "size" in row:
            row["size"] = stored.size

    def _run_format(self, row: dict, value: Any) -> str:
        """A run stores its models as `serializer` says when that fits them (so `%register`
        can reuse the bytes), everything else as the default pickle."""
        if row.get("role") != "model" or self.serializer == formats.DEFAULT:
            return formats.DEFAULT
        try:
            return formats.choose(value, self.serializer)
        except formats.FormatError:
            return formats.DEFAULT

    def _object_for_fingerprint(self, fingerprint: str, value: Any) -> StoredObject | None:
        found = self.store.one("SELECT object_hash FROM data_objects WHERE fingerprint = ?",
                               [fingerprint])
        return self._known_object(found["object_hash"], value) if found else None

    def _insert_objects(self, rows: Iterable[dict]) -> None:
        """Insert the `objects` rows for `rows`, inside the transaction that commits the
        rows pointing at them. A file removed since it was stored (a `gc` that had judged
        it an old orphan) is stored again from its value first: `gc` decides and removes
        under this same write lock, so a file present now stays until the commit. Each
        row's `stored`, `object_hash` and `size` follow what was stored."""
        now = _iso(_now())
        found = []
        for row in rows:
            if row.get("stored") and not self.objects.present(row["stored"]):
                self._store_again(row)
            if row.get("stored"):
                stored = row["stored"]
                found.append({"hash": stored.hash, "size": stored.size,
                              "serializer": stored.serializer, "type": row["type"],
                              "created_at": now})
        self.store.insert("objects", found, ignore=True)

    def _store_again(self, row: dict) -> None:
        stored = row["stored"]
        try:
            if stored.value is None:
                raise UnstorableObject("its value is no longer at hand")
            again = self.objects.put(stored.value, stored.serializer,
                                     timeout_s=self.capture_timeout_s)
        except UnstorableObject as exc:
            if "reason" not in row:
                raise IntegrityError(f"object {stored.hash[:12]} was removed before it was "
                                     f"committed and cannot be stored again: {exc.reason}") from None
            row.update(stored=None, object_hash=None, reason=exc.reason)
            return
        row["stored"] = again
        if "object_hash" in row:
            row["object_hash"] = again.hash
        if "size" in row:
            row["size"] = again.size

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
        check_text(experiment, "experiment")
        where, params = ("WHERE experiment = ?", [experiment]) if experiment else ("", [])
        page = f"LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
        rows = self.store.query(f"SELECT * FROM runs {where} ORDER BY id DESC {page}", params)
        return [run_from_row(r) for r in rows]

    def count_runs(self, experiment: str | None = None) -> int:
        check_text(experiment, "experiment")
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
        missing value, NaN a NaN one; infinities compare as numbers);
        `order_by="metrics.accuracy DESC"` sorts on any column (missing and NaN values
        last); `limit=10` keeps the first rows. Raises `InvalidInputError` for a
        malformed column, operator or order.

        Example: the top-10 leaderboard is `runs(order_by="metrics.accuracy DESC", limit=10)`.
        """
        from .tables import RUN_COLUMNS, runs_frame_from_rows

        check_text(experiment, "experiment")
        conditions, params = (["experiment = ?"], [experiment]) if experiment else ([], [])
        if where is not None and not isinstance(where, dict):
            raise InvalidInputError(f"where must be a dict of column: value, not "
                                    f"{type(where).__name__}")
        for column, test in (where or {}).items():
            op, value = _where_test(column, test)
            condition, args = _run_condition(column, op, value)
            conditions.append(condition)
            params += args
        order = "id DESC"
        if order_by:
            column, _, direction = order_by.strip().partition(" ")
            direction = direction.strip().upper() or "ASC"
            if direction not in ("ASC", "DESC"):
                raise InvalidInputError(f"bad order_by {order_by!r}: use 'COLUMN' or "
                                        "'COLUMN ASC|DESC'")
            expression, args = _run_column(column, nan_as_null=True)
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
        """Add `log_param`/`log_metric` values to an existing run and to the versions
        registered from it (a version's params and metrics follow its run)."""
        params, metrics = _json_map(params), _json_map(metrics)
        run_id = self.run(run_id).id
        with self.store.write() as db:
            run = self.run(run_id)  # read inside the transaction: concurrent logs add up
            db.execute("UPDATE runs SET params = ?, metrics = ? WHERE id = ?",
                       [encode_json({**run.params, **params}),
                        encode_json({**run.metrics, **metrics}), run_id])
            for row in self.store.query("SELECT name, version, params, metrics, facts FROM "
                                        "versions WHERE run_id = ?", [run_id]):
                db.execute("UPDATE versions SET params = ?, metrics = ?, facts = ? "
                           "WHERE name = ? AND version = ?",
                           [encode_json({**row["params"], **params}),
                            encode_json({**row["metrics"], **metrics}),
                            encode_json(with_logged(row["facts"], params, metrics)),
                            row["name"], row["version"]])
        return self.run(run_id)

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
                 stored_as: str | None = None, format: str | None = None) -> ModelVersion:
        """Register `obj` as a new version of model `name` and return it.

        `format` is how its bytes are stored (default: `serializer`, `NBModels.serializer`):
        `pickle5`, `joblib`, or a safe format that loads without running code: `skops`,
        `xgboost-json`, `xgboost-ubj`, `lightgbm`, `safetensors`, or `auto` for the one that
        fits `obj` (see `nbmodels.formats`); a format that cannot hold `obj` is an
        `InvalidInputError`.

        The version is `version` if given, else the previous one bumped by `bump`, else by
        the bump inferred from what changed (the reason is stored in `bump_reason`). If these
        exact bytes are already a version of `name`, that version is returned with
        `created=False` and nothing is written. The version links to the run that captured
        the same bytes (or `run_id`). `stored_as` is the hash `obj` was stored under by a
        run when nothing can have changed it since: then it is not serialized again. Raises
        `InvalidInputError` for a bad name, version, bump or stage and `ConflictError` when
        `version` already exists.
        """
        name = check_model_name(name)
        _check_register_args(version, bump, stage)
        check_text(note, "note")
        check_tags(tags)
        if version is not None:
            self._check_version_free(name, version)
        fmt = self._format_for(obj, format)
        stored = self._known_object(stored_as, obj) if stored_as else None
        if stored is not None and formats.base(stored.serializer) != fmt:
            stored = None  # stored by the run in another format
        stored = stored or self.objects.put(obj, fmt, timeout_s=self.capture_timeout_s)
        run = self._lineage_run(stored.hash, run_id)
        facts = version_facts(obj, run)
        params = run.params if run else capture.model_params(obj)
        metrics = run.metrics if run else {}
        # outside the transaction, which holds the lock; a run that captured these bytes
        # already computed it (a forest's takes milliseconds)
        captured = self._captured_importance(stored.hash)
        importance = captured[0] if captured else recorded_importance(obj)
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
            staged = {"stored": stored, "type": capture.type_name(obj)}
            self._insert_objects([staged])
            stored = staged["stored"]  # stored again if gc removed it meanwhile
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
                "facts": encode_json({**stored_facts(facts),
                                      "importance": importance})}])
            if stage and stage != "none":
                self._move_stage(db, name, new_version, "none", stage, note)
        return self.get(f"{name}@{new_version}")

    def _format_for(self, obj: Any, wanted: str | None) -> str:
        try:
            return formats.choose(obj, wanted or self.serializer)
        except formats.FormatError as exc:
            raise InvalidInputError(str(exc)) from None

    def _known_object(self, digest: str, value: Any) -> StoredObject | None:
        """The stored object with this hash (holding `value`'s bytes), if its row and its
        file are both there."""
        row = self.store.one("SELECT hash, size, serializer FROM objects WHERE hash = ?", [digest])
        if row is None or not self.objects.touch(digest):
            return None
        return StoredObject(row["hash"], row["size"], row["serializer"], False, value)

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
        check_text(note, "note")
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

    def load(self, ref: str, variable: str | None = None,
             trusted: Iterable[str] = ()) -> Any:
        """The model a REF names, its hash verified before any of it is deserialized. For a
        run, its (only, or `variable`) model. Raises `IntegrityError` when the bytes do not
        match their hash, and `UntrustedObjectError` for a pickle when `allow_pickle` is
        False or for a skops file holding types neither skops nor `trusted` (or
        `trusted_types`) trusts; warns with `PackageVersionWarning` when a recorded package
        version differs from the installed."""
        return self._load_model(self.resolve(ref), variable, trusted)[1]

    def restore(self, ref: str, trusted: Iterable[str] = ()) -> tuple[str, Any]:
        """The model a REF names and the variable name it was captured under (for a version
        registered without one, its model name made a valid identifier). Raises as `load`."""
        target = self.resolve(ref)
        object_hash, obj = self._load_model(target, None, trusted)
        if isinstance(target, Run):
            return next(v.name for v in target.variables if v.object_hash == object_hash), obj
        return target.variable or _identifier(target.name), obj

    def _load_model(self, target: Run | ModelVersion, variable: str | None,
                    trusted: Iterable[str]) -> tuple[str, Any]:
        object_hash, run = self._model_object(target, variable)
        what = target.ref if isinstance(target, ModelVersion) else f"run {target.id}"
        obj = self._load_objects({what: object_hash}, trusted)[what]
        if run is not None:
            _warn_package_changes(run.packages)
        return object_hash, obj

    def load_variables(self, ref: str, trusted: Iterable[str] = ()) -> dict[str, Any]:
        """Every captured variable of a run (or of a version's run), loaded and verified:
        objects from their files, params and metrics from their recorded values. Raises as
        `load`, naming every object refused, before loading any."""
        target = self.resolve(ref)
        run = target if isinstance(target, Run) else self._version_run(target)
        if run is None:
            name = target.variable or target.name
            return self._load_objects({name: target.object_hash}, trusted)
        loaded = self._load_objects({v.name: v.object_hash for v in run.variables
                                     if v.captured and v.object_hash is not None}, trusted)
        values = {v.name: loaded.get(v.name, v.value) for v in run.variables if v.captured}
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

    def recorded_importance(self, target: Run | ModelVersion) -> dict[str, float] | None:
        """The feature importance recorded when a version's model (or a run's only model)
        was captured or registered; None when that model exposes none. Nothing is loaded.
        Raises `NotFoundError` when none was recorded (stored by an older nbmodels, or a run
        without exactly one model)."""
        if isinstance(target, ModelVersion):
            facts = self.store.one("SELECT facts FROM versions WHERE name = ? AND version = ?",
                                   [target.name, target.version])
            if facts and isinstance(facts["facts"], dict) and "importance" in facts["facts"]:
                return facts["facts"]["importance"]
            digest = target.object_hash
        else:
            models = [v for v in target.variables if v.role == "model" and v.object_hash]
            if len(models) != 1:
                raise NotFoundError(f"run {target.id} has not exactly one model captured")
            digest = models[0].object_hash
        found = self._captured_importance(digest)
        if found is not None:
            return found[0]
        raise NotFoundError("none recorded with this model (stored by an older nbmodels); "
                            "compare with `on=` to load the models")

    def _captured_importance(self, digest: str) -> tuple[dict | None] | None:
        """`(importance,)` recorded when a run captured the model stored as `digest` (the
        same bytes, the same model), or None when no run recorded one."""
        for row in self.store.query("SELECT data FROM variables WHERE object_hash = ? AND "
                                    "role = 'model'", [digest]):
            if isinstance(row["data"], dict) and "importance" in row["data"]:
                return (row["data"]["importance"],)
        return None

    def _load_objects(self, objects: dict[str, str], trusted: Iterable[str]) -> dict[str, Any]:
        """`{what: hash}` loaded. Pickles are refused, all named in one line, before any
        byte is read when `allow_pickle` is False; so are skops types not trusted."""
        serializers = {what: self._serializer(digest) for what, digest in objects.items()}
        if not self.allow_pickle:
            pickled = [w for w, s in serializers.items() if formats.is_pickle(s)]
            if pickled:
                raise UntrustedObjectError(
                    f"refusing to load {', '.join(pickled)}: stored as pickle, which runs "
                    "code when loaded, and NBModels.allow_pickle is False "
                    "(NBMODELS_ALLOW_PICKLE=0); register the model again in a safe format "
                    "(`--format auto`), or allow pickles for a registry you trust")
        trusted = {*self.trusted_types, *trusted}
        loaded = {}
        for what, digest in objects.items():
            try:
                loaded[what] = self.objects.get(digest, serializers[what], allow_pickle=True,
                                                trusted=trusted)
            except formats.UntrustedContent as exc:
                raise UntrustedObjectError(
                    f"refusing to load {what}: {exc}; approve them with "
                    f"`load(..., trusted=[...])` or `%config NBModels.trusted_types = "
                    f"{list(exc.names)!r}` if you trust where the registry came from") from None
        return loaded

    def _serializer(self, object_hash: str) -> str:
        row = self.store.one("SELECT serializer FROM objects WHERE hash = ?", [object_hash])
        return row["serializer"] if row else formats.DEFAULT

    # ---- maintenance ----------------------------------------------------------------------

    def gc(self, dry_run: bool = True) -> GCReport:
        """Remove object files no row references and leftover temp files, both older than
        an hour (younger ones may belong to a save still running or about to commit: they
        are kept, and counted in the report); with `dry_run` (the default) only report.

        Safe beside writers and other gcs: which objects go is decided, and they are
        removed, inside one write transaction, and a writer checks inside its own that the
        objects it commits rows for are there (storing them again if not), so a file is
        never removed once a committed row points at it. A removal is reported by the one
        gc that made it."""
        cutoff = _now().timestamp() - GC_GRACE_S
        listed = list(self.objects.hashes())
        if dry_run:
            objects = self._collect_objects(listed, cutoff, remove=False)
        else:
            with self.store.write():
                objects = self._collect_objects(listed, cutoff, remove=True)
        temps = self._collect_temps(cutoff, remove=not dry_run)
        return GCReport(dry_run, tuple(objects.gone), tuple(temps.gone),
                        objects.bytes + temps.bytes, kept_objects=objects.kept,
                        kept_objects_bytes=objects.kept_bytes, kept_temp_files=temps.kept,
                        kept_temp_bytes=temps.kept_bytes, grace_s=GC_GRACE_S)

    def _referenced_hashes(self) -> set[str]:
        return {r["h"] for r in self.store.query(
            "SELECT object_hash AS h FROM variables WHERE object_hash IS NOT NULL UNION "
            "SELECT object_hash FROM inputs WHERE object_hash IS NOT NULL UNION "
            "SELECT object_hash FROM versions")}

    def _collect_objects(self, listed: list[str], cutoff: float, remove: bool) -> "_Collected":
        """Unreferenced object files older than `cutoff`, removed (with their rows) when
        `remove`; called inside the write transaction then."""
        referenced = self._referenced_hashes()
        found = _Collected()
        for digest in listed:
            info = None if digest in referenced else self.objects.stat(digest)
            if info is None:
                continue  # referenced, or already removed by another gc
            if info.st_mtime >= cutoff:
                found.keep(info.st_size)
                continue
            if remove:
                self.store.db.execute("DELETE FROM data_objects WHERE object_hash = ?", [digest])
                self.store.db.execute("DELETE FROM objects WHERE hash = ?", [digest])
                if not self.objects.remove(digest):
                    continue
            found.take(digest, info.st_size)
        return found

    def _collect_temps(self, cutoff: float, remove: bool) -> "_Collected":
        found = _Collected()
        for path in self.objects.temp_files():
            try:
                info = path.stat()
                if info.st_mtime >= cutoff:
                    found.keep(info.st_size)
                    continue
                if remove:
                    path.unlink()
            except FileNotFoundError:  # its save finished, or another gc removed it
                continue
            found.take(path.name, info.st_size)
        return found

    def verify(self) -> VerifyReport:
        """Check the database (SQLite's full integrity check), every object's bytes against
        its hash and that every row's object exists. A damaged database is reported with
        the object files alone (rows read from it cannot be trusted)."""
        database = self.check_database()
        if database:
            return self._verify_files(database)
        damage: list[Damage] = []
        objects = self.store.query("SELECT hash FROM objects")
        for row in objects:
            digest = row["hash"]
            if not valid_hash(digest):
                damage.append(Damage("object-name-invalid", repr(digest)[:80],
                                     "not a 64-character hex hash: never followed as a path"))
            elif not self.objects.path(digest).is_file():
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
        return VerifyReport(len(objects), len(rows), tuple(self._name_affected(damage)))

    def check_database(self) -> list[Damage]:
        """SQLite's full `PRAGMA integrity_check` of `registry.db`: one `Damage` naming the
        file and what SQLite found, or [] when it is sound (or not made yet)."""
        problems = self.store.integrity_problems()
        if not problems:
            return []
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        return [Damage("database", "registry.db", "; ".join(problems[:3]) + more +
                       ": restore the registry from a backup (`nbmodels backup` makes one)")]

    def _verify_files(self, database: list[Damage]) -> VerifyReport:
        """The object files checked against their names, for a database that cannot be read."""
        hashes = list(self.objects.hashes())
        damage = [Damage("object-corrupt", h, "bytes do not match the hash")
                  for h in hashes if not self.objects.check(h)]
        return VerifyReport(len(hashes), 0, (*database, *damage))

    def _name_affected(self, damage: list[Damage]) -> list[Damage]:
        """Each damaged object's line completed with the versions and runs that use it."""
        named = []
        for item in damage:
            users = self._object_users(item.what) if item.kind.startswith("object") else []
            named.append(Damage(item.kind, item.what, f"{item.detail}; used by {', '.join(users)}")
                         if users else item)
        return named

    def _object_users(self, digest: str) -> list[str]:
        rows = self.store.rows(
            "SELECT name || '@' || version FROM versions WHERE object_hash = ? UNION ALL "
            "SELECT 'run ' || run_id || ' (' || name || ')' FROM variables WHERE object_hash = ? "
            "UNION ALL SELECT 'run ' || run_id || ' (input ' || name || ')' FROM inputs "
            "WHERE object_hash = ?", [digest] * 3)
        return [r[0] for r in rows]

    def backup(self, dest: str | os.PathLike, link: bool = False) -> BackupReport:
        """Copy this registry into the new folder `dest`, consistently while kernels write:
        the database through SQLite's online backup, then every object it refers to,
        each hash-checked (`link=True` hard-links them instead when it can). The copy is a
        registry (`Registry(dest)`); to restore, use it in place of this folder. Returns
        what was copied, with any object that could not be (missing or damaged here).
        Raises `NotFoundError` when there is no registry yet and `ConflictError` when
        `dest` exists and is not empty."""
        from .backup import backup

        return backup(self, dest, link=link)

    def experiments(self) -> list[str]:
        return [r["experiment"] for r in self.store.query(
            "SELECT DISTINCT experiment FROM runs ORDER BY experiment")]

    def close(self) -> None:
        self.store.close()


# ---- helpers --------------------------------------------------------------------------------

MAX_IMPORTANCE_FEATURES = 1000


def recorded_importance(model: Any) -> dict[str, float] | None:
    """The feature importance recorded with a model when it is captured or registered, so
    that comparing versions never has to load (unpickle) them: the largest
    `MAX_IMPORTANCE_FEATURES` by magnitude; None when the model exposes none."""
    from .comparison import feature_importance

    try:
        return feature_importance(model, limit=MAX_IMPORTANCE_FEATURES)
    except Exception:  # noqa: BLE001  a model whose attributes raise: no importance
        return None


class _Collected:
    """What one `gc` pass removed (or would), and what it kept for being too young."""

    def __init__(self):
        self.gone: list[str] = []
        self.bytes = self.kept = self.kept_bytes = 0

    def take(self, name: str, size: int) -> None:
        self.gone.append(name)
        self.bytes += size

    def keep(self, size: int) -> None:
        self.kept += 1
        self.kept_bytes += size


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


def _run_column(column: str, nan_as_null: bool = False) -> tuple[str, list]:
    """A `runs()` column name as an SQL expression and its arguments: a fixed column, or
    `params.KEY` / `metrics.KEY` / `tags.KEY` read from the JSON (KEY passed as a bound
    JSON path, so any key is safe). With `nan_as_null` a stored NaN reads as NULL, so it
    sorts last and fails every comparison, as a missing value does."""
    from .tables import RUN_COLUMNS

    if column in RUN_COLUMNS:
        return column, []
    group, _, key = column.partition(".")
    if group in _RUN_GROUPS and key and '"' not in key:
        expression = f"json_extract({group}, ?)"
        if nan_as_null:
            expression = f"nullif({expression}, '{NAN_SQL}')"
        return expression, [f'$."{key}"']
    raise InvalidInputError(f"bad run column {column!r}: use one of {', '.join(RUN_COLUMNS)} "
                            "or params.NAME, metrics.NAME, tags.NAME")


def _run_condition(column: str, op: str, value) -> tuple[str, list]:
    """One `runs(where=...)` test as SQL: None matches a missing value, NaN a stored NaN;
    any other value compares with NaN values as with missing ones (never true)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        expression, args = _run_column(column)
        if value is None:
            return f"{expression} IS {'NOT ' if op == '!=' else ''}NULL", args
        if op not in ("=", "!="):
            raise InvalidInputError(f"bad test for {column!r}: NaN can only be tested with = "
                                    "or !=")
        return f"{expression} {op} '{NAN_SQL}'", args
    expression, args = _run_column(column, nan_as_null=True)
    return f"{expression} {op} ?", [*args, value]


def _where_test(column, test) -> tuple[str, Any]:
    """A `runs(where=...)` test as (operator, value): a plain value means `=`; the value
    must be one SQLite compares (a number, text, a bool or None)."""
    op, value = ("=", test) if not isinstance(test, tuple) else (
        test if len(test) == 2 else (None, None))
    if op not in _SQL_OPERATORS:
        raise InvalidInputError(f"bad test {test!r} for {column!r}: give a value or "
                                f"(OPERATOR, value) with one of {', '.join(_SQL_OPERATORS)}")
    value = capture.json_value(value)
    if isinstance(value, int) and not -2**63 <= value < 2**63:  # beyond SQLite's integers
        value = float(value)
    if value is not None and not isinstance(value, (int, float, str)):
        raise InvalidInputError(f"bad value {value!r} for {column!r}: compare with a number, "
                                "text, a bool or None")
    if isinstance(value, str):
        check_text(value, f"value for {column!r}")
    return op, value


def _json_map(values: dict | None) -> dict:
    return {k: capture.json_value(v) for k, v in (values or {}).items()}


def _rows_without(rows: list[dict], *keys: str) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in keys} for row in rows]


def _summary_dict(summary) -> dict:
    return {"fingerprint": summary.fingerprint, "schema": summary.schema,
            "stats": summary.stats, "nbytes": summary.nbytes}


def _run_params(variables: list[dict], cell: CellRecord) -> dict:
    """The cell's own params first (they win a clash), then `log_param` values, then the
    hyperparameters of each model no other captured model contains (a pipeline's, not
    again its steps'): bare names for one such model, `VAR.NAME` for several."""

    params = {v["name"]: v["value"] for v in variables if v["role"] == "param"}
    params.update(_json_map(cell.logged_params))
    models = [v for v in variables if v["role"] == "model" and v["data"]]
    outer = set(capture.top_level_models({v["name"]: cell.values[v["name"]] for v in models}))
    models = [v for v in models if v["name"] in outer]
    for model in models:
        prefix = f"{model['name']}." if len(models) > 1 else ""
        for key, value in json.loads(model["data"])["params"].items():
            params.setdefault(prefix + key, value)
    return params


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

    metrics = decode_json(row["latest_metrics"] or "{}")
    key = key_metric(metrics)
    return ModelSummary(
        name=row["name"], versions=row["versions"], latest_version=row["latest_version"],
        latest_stage=row["latest_stage"], production_version=row["production_version"],
        updated_at=row["updated_at"], key_metric=key,
        key_metric_value=metrics.get(key) if key else None, description=row["description"])


_installed: dict[str, str | None] = {}


def _installed_version(dist: str) -> str | None:
    """The installed version of `dist`, looked up once per process (reading a package's
    metadata costs ~5 ms: most of a small model's load), as the run's environment is."""
    if dist not in _installed:
        from importlib.metadata import PackageNotFoundError, version

        try:
            _installed[dist] = version(dist)
        except PackageNotFoundError:
            _installed[dist] = None
    return _installed[dist]


def _warn_package_changes(recorded: dict) -> None:
    for dist, old in sorted(recorded.items()):
        now = _installed_version(dist)
        if now is None:
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
