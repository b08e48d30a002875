"""The records every surface shows: one shape, one `to_dict()` for JSON.

Records are plain frozen dataclasses built by the store from rows; they hold no live
objects and no connection, so a widget, a REST handler and the CLI can all render them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STAGES = ("none", "staging", "production", "archived")


class _Record:
    """`to_dict()` for the records: fields by name, nested records as dicts. Shallow (dict
    fields are shared, not copied): a listing of 10,000 versions converts in milliseconds,
    where `dataclasses.asdict` deep-copies every params and metrics dict."""

    def to_dict(self) -> dict:
        return {name: _plain(getattr(self, name)) for name in self.__dataclass_fields__}


def _plain(value):
    if isinstance(value, _Record):
        return value.to_dict()
    if isinstance(value, tuple):
        return [v.to_dict() if isinstance(v, _Record) else v for v in value]
    return value


@dataclass(frozen=True)
class Variable(_Record):
    """A name a tracked cell bound, with its role and how it was stored.

    `object_hash` is set when the value's bytes are in `objects/`; `value` holds params and
    metrics inline; `data` holds the fingerprint, schema and statistics of a data variable;
    `reason` says why a value was not captured (then `object_hash` is None).
    """

    name: str
    role: str
    type: str
    object_hash: str | None = None
    size: int | None = None
    value: Any = None
    data: dict | None = None
    reason: str | None = None

    @property
    def captured(self) -> bool:
        return self.reason is None


@dataclass(frozen=True)
class Input(_Record):
    """Data a tracked cell read that existed before it: the run's lineage."""

    name: str
    type: str
    fingerprint: str
    schema: dict
    stats: dict
    object_hash: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Run(_Record):
    """One execution of a tracked cell."""

    id: str
    experiment: str
    status: str
    started_at: str
    ended_at: str
    duration_s: float
    user: str | None
    host: str | None
    notebook: str | None
    note: str | None
    source: str
    error: str | None = None
    params: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    tags: dict = field(default_factory=dict)
    packages: dict = field(default_factory=dict)
    git: dict | None = None
    variables: tuple[Variable, ...] = ()
    inputs: tuple[Input, ...] = ()

    @property
    def models(self) -> tuple[Variable, ...]:
        """The captured variables whose role is `model`."""
        return tuple(v for v in self.variables if v.role == "model" and v.captured)

    def variable(self, name: str) -> Variable | None:
        return next((v for v in self.variables if v.name == name), None)


@dataclass(frozen=True)
class ModelVersion(_Record):
    """One version of a registered model.

    `created` is False when `register` found these exact bytes already registered and
    returned that version instead of making a new one.
    """

    name: str
    version: str
    stage: str
    run_id: str | None
    object_hash: str
    model_type: str
    size: int
    created_at: str
    user: str | None
    bump: str
    bump_reason: str
    note: str | None
    variable: str | None = None
    params: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    tags: dict = field(default_factory=dict)
    signature: dict | None = None
    created: bool = True
    # where it is, once known: "local", "remote" (known on a remote, object not here), "both"
    location: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def to_dict(self) -> dict:
        return {**super().to_dict(), "ref": self.ref}


@dataclass(frozen=True)
class ModelSummary(_Record):
    """One registered model: its newest and production versions and a key metric."""

    name: str
    versions: int
    latest_version: str
    latest_stage: str
    production_version: str | None
    updated_at: str
    key_metric: str | None = None
    key_metric_value: float | None = None
    description: str | None = None


@dataclass(frozen=True)
class Transition(_Record):
    """One stage change of a version: a row of the audit trail."""

    name: str
    version: str
    from_stage: str
    to_stage: str
    user: str | None
    at: str
    note: str | None


@dataclass(frozen=True)
class LineageCell(_Record):
    """One executed cell of a run's lineage, as the cell note saw it (from the AST only)."""

    execution_count: int | None  # None: the tracked cell run outside a kernel's count
    source: str
    binds: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()


@dataclass(frozen=True)
class LineageFlag(_Record):
    """Something that makes a lineage doubtful: `kind` is one of `out_of_order`,
    `rebound` (an input changed after the cell that made it), `edited` (the cell's source
    in the notebook changed since it ran), `unknown_producer` (a name whose producing cell
    is not known, e.g. defined before `%load_ext nbmodels`); `detail` says it in words."""

    kind: str
    names: tuple[str, ...] = ()
    execution_count: int | None = None
    detail: str = ""


@dataclass(frozen=True)
class Lineage(_Record):
    """The cells, in execution order, that produced what a run read, transitively; the
    tracked cell itself last."""

    run_id: str
    cells: tuple[LineageCell, ...] = ()
    flags: tuple[LineageFlag, ...] = ()


@dataclass(frozen=True)
class VersionDetail(_Record):
    """A version with what its page shows: the run that produced it (None when it was
    registered from a live object with no tracked run) and its stage changes, oldest first."""

    version: ModelVersion
    run: Run | None
    history: tuple[Transition, ...] = ()


@dataclass(frozen=True)
class Damage(_Record):
    """One damaged thing `verify` found: an object or a row."""

    kind: str  # "database", "object-missing", "object-corrupt", "row-dangling"
    what: str
    detail: str


class _DamageReport(_Record):
    """A report that is `ok` when it lists no damage (its dataclass has a `damage` field)."""

    @property
    def ok(self) -> bool:
        return not self.damage

    def to_dict(self) -> dict:
        return {**super().to_dict(), "ok": self.ok}


@dataclass(frozen=True)
class VerifyReport(_DamageReport):
    checked_objects: int
    checked_rows: int
    damage: tuple[Damage, ...] = ()


@dataclass(frozen=True)
class BackupReport(_DamageReport):
    """What `backup` copied: the database's runs and versions and their objects. `damage`
    lists objects it could not copy (missing or not matching their hash here)."""

    dest: str
    runs: int
    versions: int
    objects: int
    bytes: int
    damage: tuple[Damage, ...] = ()


@dataclass(frozen=True)
class GCReport(_Record):
    """What `gc` removed, or with `dry_run` would remove, and what it kept for being
    younger than `grace_s` (a save may still be writing it, or about to commit its rows)."""

    dry_run: bool
    objects: tuple[str, ...] = ()
    temp_files: tuple[str, ...] = ()
    bytes: int = 0
    kept_objects: int = 0
    kept_objects_bytes: int = 0
    kept_temp_files: int = 0
    kept_temp_bytes: int = 0
    grace_s: int = 3600

    def lines(self) -> list[str]:
        """What happened, in words: what was removed, then what was kept and why."""
        verb = "would remove" if self.dry_run else "removed"
        age = f"younger than {_duration(self.grace_s)}"
        found = [f"{verb} {_count(len(self.objects), 'unreferenced object')} and "
                 f"{_count(len(self.temp_files), 'temp file')} ({_size(self.bytes)})"]
        if self.kept_temp_files:
            found.append(f"kept {_count(self.kept_temp_files, 'temp file')} "
                         f"({_size(self.kept_temp_bytes)}) {age}: a save may still be writing "
                         "them (a killed save's are removed once they are older)")
        if self.kept_objects:
            found.append(f"kept {_count(self.kept_objects, 'unreferenced object')} "
                         f"({_size(self.kept_objects_bytes)}) {age}: a writer may be about to "
                         "commit rows that use them")
        return found


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _duration(seconds: int) -> str:
    return f"{seconds // 3600} h" if seconds % 3600 == 0 else f"{seconds // 60} min"

