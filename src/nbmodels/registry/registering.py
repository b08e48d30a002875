"""The writes to models and versions: `register` (a new version, its number inferred) and
`set_stage` (with the audit trail)."""

from __future__ import annotations

from typing import Any

from .. import capture, formats
from ..dbfile import guard_errors
from ..errors import ConflictError, InvalidInputError
from ..facts import stored_facts, version_facts
from ..records import ModelVersion, Run
from ..store import encode_json, version_from_row
from ..versioning import (BUMPS, bumped, check_model_name, check_stage, check_tags,
                          check_text, did_you_mean, infer_bump, parse_version,
                          stage_change_uid)
from .common import current_user, iso_time, recorded_importance, utc_now


@guard_errors
class RegisteringMixin:
    """Registering versions and moving them between stages."""

    def register(self, obj: Any, name: str, version: str | None = None, bump: str | None = None,
                 stage: str | None = None, note: str | None = None, tags: dict | None = None,
                 run_id: str | None = None, variable: str | None = None,
                 stored_as: str | None = None, format: str | None = None,
                 progress=None) -> ModelVersion:
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
        `version` already exists. `progress(bytes written, bytes expected)` is told as `obj`
        is stored.
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
        reused = stored is not None
        stored = stored or self.objects.put(obj, fmt, timeout_s=self.capture_timeout_s,
                                            progress=progress)
        run = self._lineage_run(stored.hash, run_id)
        # the run described these very bytes, unchanged since (`stored_as`); else read once
        described = _described_params(run, stored.hash) if reused else None
        if described is None and run is None:
            described = capture.model_params(obj)
        facts = version_facts(obj, run, described)
        params = run.params if run else described
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
            now = iso_time(utc_now())
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
                "size": stored.size, "created_at": now, "user": current_user(), "bump": kind,
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
        now = iso_time(utc_now())
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
            "user": current_user(), "at": at, "note": note, "uid": stage_change_uid()}])


def _described_params(run: Run | None, object_hash: str) -> dict | None:
    """The model params the run recorded for the model it stored as `object_hash`."""
    for variable in run.variables if run is not None else ():
        if variable.object_hash == object_hash and isinstance(variable.data, dict) \
                and isinstance(variable.data.get("params"), dict):
            return variable.data["params"]
    return None


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
