"""Loading stored models and variables back, hash-verified and refused when not trusted,
and the feature importance recorded with a model (read without loading it)."""

from __future__ import annotations

import warnings
from typing import Any, Iterable

from .. import formats
from ..dbfile import guard_errors
from ..errors import NotFoundError, PackageVersionWarning, UntrustedObjectError
from ..records import ModelVersion, Run


@guard_errors
class LoadingMixin:
    """Loading: `load`, `restore`, `load_variables`, `recorded_importance`."""

    def load(self, ref: str, variable: str | None = None,
             trusted: Iterable[str] = ()) -> Any:
        """The model a REF names, its hash verified before any of it is deserialized. For a
        run, its (only, or `variable`) model. Raises `IntegrityError` when the bytes do not
        match their hash, and `UntrustedObjectError` for a pickle when `allow_pickle` is
        False or for a skops file holding types neither skops nor `trusted` (or
        `trusted_types`) trusts; warns with `PackageVersionWarning` when a recorded package
        version differs from the installed."""
        return self._load_model(self.resolve(ref), variable, trusted)[1]

    def restore(self, ref: str, trusted: Iterable[str] = (),
                progress=None) -> tuple[str, Any]:
        """The model a REF names and the variable name it was captured under (for a version
        registered without one, its model name made a valid identifier). Raises as `load`.
        `progress(bytes read, size)` is told as its file is read."""
        target = self.resolve(ref)
        object_hash, obj = self._load_model(target, None, trusted, progress)
        if isinstance(target, Run):
            return next(v.name for v in target.variables if v.object_hash == object_hash), obj
        return target.variable or _identifier(target.name), obj

    def _load_model(self, target: Run | ModelVersion, variable: str | None,
                    trusted: Iterable[str], progress=None) -> tuple[str, Any]:
        object_hash, run = self._model_object(target, variable)
        what = target.ref if isinstance(target, ModelVersion) else f"run {target.id}"
        obj = self._load_objects({what: object_hash}, trusted, progress)[what]
        if run is not None:
            _warn_package_changes(run.packages)
        return object_hash, obj

    def load_variables(self, ref: str, trusted: Iterable[str] = ()) -> dict[str, Any]:
        """Every captured variable of a run (or of a version's run), loaded and verified:
        objects from their files, params and metrics from their recorded values. Raises as
        `load`, naming every object refused, before loading any."""
        return self.restore_variables(ref, trusted)[0]

    def restore_variables(self, ref: str, trusted: Iterable[str] = ()
                          ) -> tuple[dict[str, Any], dict[str, str]]:
        """`load_variables(ref)`, and `{name: reason}` of the run's variables that were not
        captured (what `%restore --all` cannot bring back), from one resolution of `ref`."""
        target = self.resolve(ref)
        run = target if isinstance(target, Run) else self._version_run(target)
        if run is None:
            name = target.variable or target.name
            return self._load_objects({name: target.object_hash}, trusted), {}
        loaded = self._load_objects({v.name: v.object_hash for v in run.variables
                                     if v.captured and v.object_hash is not None}, trusted)
        values = {v.name: loaded.get(v.name, v.value) for v in run.variables if v.captured}
        _warn_package_changes(run.packages)
        return values, {v.name: v.reason for v in run.variables if not v.captured}

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

    def _load_objects(self, objects: dict[str, str], trusted: Iterable[str],
                      progress=None) -> dict[str, Any]:
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
        for digest in set(objects.values()):
            if not self.objects.exists(digest):  # pulled without objects: from the remote
                self._fetch_missing(digest)
        loaded = {}
        for what, digest in objects.items():
            try:
                loaded[what] = self.objects.get(digest, serializers[what], allow_pickle=True,
                                                trusted=trusted, progress=progress)
            except formats.UntrustedContent as exc:
                raise UntrustedObjectError(
                    f"refusing to load {what}: {exc}; approve them with "
                    f"`load(..., trusted=[...])` or `%config NBModels.trusted_types = "
                    f"{list(exc.names)!r}` if you trust where the registry came from") from None
        return loaded

    def _serializer(self, object_hash: str) -> str:
        row = self.store.one("SELECT serializer FROM objects WHERE hash = ?", [object_hash])
        return row["serializer"] if row else formats.DEFAULT


def _identifier(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    return cleaned if cleaned.isidentifier() else f"model_{cleaned}"


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
