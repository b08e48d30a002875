"""The SQLite side of a registry: connection, schema, migrations, and row <-> record.

Written through sqlite-utils. WAL mode so readers never block the writer; every write is
one `BEGIN IMMEDIATE` transaction so two kernels writing at once queue on the busy
timeout instead of failing with "database is locked" on a lock upgrade. No joblib, no
object files here: `objects.py` owns those.

A registry this user can only read (a colleague's shared folder, a read-only mount) opens
read-only, with no pragma that writes. SQLite's reports of a damaged file become one
`DatabaseDamagedError` line (see `dbfile.translate_errors`, which `Registry` applies to
every public method).
"""

from __future__ import annotations

import functools
import os
import sqlite3
import time
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

from .dbfile import can_write, is_busy, read_only_error, translate_errors
from .errors import DatabaseDamagedError, NbModelsError, ReadOnlyRegistryError
from .jsoncodec import decode_json, encode_json, rewrite_bare_tokens  # noqa: F401  (re-exported)
from .records import Input, ModelVersion, Run, Transition, Variable

BUSY_TIMEOUT_S = 60.0
migrations = Migrations("nbmodels")


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    for statement in _M001.split(";\n"):
        if statement.strip():
            db.execute(statement)


@migrations()
def m002_data_cache_and_indexes(db: sqlite_utils.Database) -> None:
    """Remember which object holds which data fingerprint, so data read by a hundred runs
    is serialized once; index what the listings filter and sort on."""
    for statement in _M002.split(";\n"):
        if statement.strip():
            db.execute(statement)


@migrations()
def m003_query_indexes(db: sqlite_utils.Database) -> None:
    """Index the stage lookups of model listings (`production_version`, `NAME@production`),
    which otherwise read every version of a model."""
    db.execute("CREATE INDEX IF NOT EXISTS versions_name_stage ON versions(name, stage)")


@migrations()
def m004_json_sqlite_reads(db: sqlite_utils.Database) -> None:
    """Rewrite the bare `NaN`/`Infinity` tokens older versions stored (SQLite's JSON
    functions reject them, which broke every filtered or sorted listing): see jsoncodec."""
    rewrite_bare_tokens(db, _JSON_TABLES)


@migrations()
def m005_lineage_and_remotes(db: sqlite_utils.Database) -> None:
    """The cells that produced each run's inputs (lineage); the remotes a registry shares
    through, and which keys it knows to be on each; a unique id per stage change, so the
    append-only stage log on a remote never holds one change twice."""
    for statement in _M005.split(";\n"):
        if statement.strip():
            db.execute(statement)


SCHEMA_VERSION = 5  # number of migrations above
# The oldest schema a read-only registry can be read at without migrating: m004 only
# rewrites JSON texts (Python reads the old ones; SQL filters on a bare NaN still fail).
READABLE_SCHEMA = 3

_M001 = """
CREATE TABLE objects (
    hash TEXT PRIMARY KEY, size INTEGER NOT NULL, serializer TEXT NOT NULL,
    type TEXT, created_at TEXT NOT NULL);
CREATE TABLE runs (
    id TEXT PRIMARY KEY, experiment TEXT NOT NULL, status TEXT NOT NULL,
    started_at TEXT NOT NULL, ended_at TEXT NOT NULL, duration_s REAL NOT NULL,
    user TEXT, host TEXT, notebook TEXT, note TEXT, source TEXT NOT NULL, error TEXT,
    params TEXT NOT NULL DEFAULT '{}', metrics TEXT NOT NULL DEFAULT '{}',
    tags TEXT NOT NULL DEFAULT '{}', packages TEXT NOT NULL DEFAULT '{}',
    python TEXT, git TEXT);
CREATE TABLE variables (
    run_id TEXT NOT NULL REFERENCES runs(id), name TEXT NOT NULL, role TEXT NOT NULL,
    type TEXT NOT NULL, object_hash TEXT REFERENCES objects(hash), size INTEGER,
    value TEXT, data TEXT, reason TEXT, PRIMARY KEY (run_id, name));
CREATE TABLE inputs (
    run_id TEXT NOT NULL REFERENCES runs(id), name TEXT NOT NULL, type TEXT NOT NULL,
    fingerprint TEXT NOT NULL, schema TEXT NOT NULL, stats TEXT NOT NULL,
    object_hash TEXT REFERENCES objects(hash), reason TEXT, PRIMARY KEY (run_id, name));
CREATE TABLE models (
    name TEXT PRIMARY KEY, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    description TEXT);
CREATE TABLE versions (
    name TEXT NOT NULL REFERENCES models(name), version TEXT NOT NULL,
    major INTEGER NOT NULL, minor INTEGER NOT NULL, patch INTEGER NOT NULL,
    stage TEXT NOT NULL DEFAULT 'none', run_id TEXT REFERENCES runs(id),
    object_hash TEXT NOT NULL REFERENCES objects(hash), variable TEXT,
    model_type TEXT NOT NULL, size INTEGER NOT NULL, created_at TEXT NOT NULL, user TEXT,
    bump TEXT NOT NULL, bump_reason TEXT NOT NULL, note TEXT,
    tags TEXT NOT NULL DEFAULT '{}', params TEXT NOT NULL DEFAULT '{}',
    metrics TEXT NOT NULL DEFAULT '{}', facts TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (name, version), UNIQUE (name, major, minor, patch));
CREATE TABLE transitions (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, version TEXT NOT NULL,
    from_stage TEXT NOT NULL, to_stage TEXT NOT NULL, user TEXT, at TEXT NOT NULL, note TEXT,
    FOREIGN KEY (name, version) REFERENCES versions(name, version))
"""

_M002 = """
CREATE TABLE data_objects (
    fingerprint TEXT PRIMARY KEY, object_hash TEXT NOT NULL REFERENCES objects(hash));
CREATE INDEX runs_started ON runs(started_at);
CREATE INDEX runs_experiment_started ON runs(experiment, started_at);
CREATE INDEX variables_object ON variables(object_hash);
CREATE INDEX inputs_object ON inputs(object_hash);
CREATE INDEX versions_object ON versions(object_hash);
CREATE INDEX versions_run ON versions(run_id);
CREATE INDEX transitions_name ON transitions(name, id)
"""

_M005 = """
CREATE TABLE lineage (
    run_id TEXT PRIMARY KEY REFERENCES runs(id), cells TEXT NOT NULL DEFAULT '[]',
    flags TEXT NOT NULL DEFAULT '[]');
CREATE TABLE remotes (name TEXT PRIMARY KEY, url TEXT NOT NULL, added_at TEXT NOT NULL);
CREATE TABLE remote_keys (
    remote TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (remote, key));
ALTER TABLE transitions ADD COLUMN uid TEXT;
UPDATE transitions SET uid = lower(hex(randomblob(16))) WHERE uid IS NULL;
CREATE UNIQUE INDEX transitions_uid ON transitions(uid)
"""

_JSON_COLUMNS = {"params", "metrics", "tags", "packages", "git", "value", "data", "schema",
                 "stats", "facts", "cells", "flags"}
_JSON_TABLES = {"runs": ("params", "metrics", "tags", "packages", "git"),
                "variables": ("value", "data"), "inputs": ("schema", "stats"),
                "versions": ("tags", "params", "metrics", "facts")}


class RegistryVersionError(NbModelsError):
    """The registry was written by a newer nbmodels than this one."""


class Store:
    """One registry database. Opened lazily; created only by `write()`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._db: sqlite_utils.Database | None = None
        self._memo: tuple | None = None  # (key, stamp, value): see `remember`
        self.mode: str | None = None  # once opened: "rw", else read-only "ro" or "immutable"

    @property
    def read_only(self) -> bool:
        return self.mode not in (None, "rw")

    @property
    def exists(self) -> bool:
        return self._db is not None or self.path.is_file()

    @property
    def db(self) -> sqlite_utils.Database:
        if self._db is None:
            self._db = self._open()
        return self._db

    def _open(self) -> sqlite_utils.Database:
        with translate_errors(self.path):
            conn = self._connect()
            try:
                db = sqlite_utils.Database(conn)
                self._migrate(db)
            except BaseException:
                conn.close()
                raise
        return db

    def _connect(self) -> sqlite3.Connection:
        """Read-write in WAL mode when this user can write the folder; else read-only with
        no pragma that writes: `mode=ro`, or `immutable` when SQLite cannot create the WAL
        index beside a database in a folder this user cannot write."""
        if can_write(self.path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = _connect(self.path, uri=False)
            _use_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self.mode = "rw"
            return conn
        uri = self.path.resolve().as_uri()
        conn = _connect(f"{uri}?mode=ro", uri=True)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            self.mode = "ro"
            return conn
        except sqlite3.OperationalError:  # the -shm file is missing and cannot be made
            conn.close()
        self.mode = "immutable"
        return _connect(f"{uri}?immutable=1", uri=True)

    def _migrate(self, db: sqlite_utils.Database) -> None:
        current = db.execute("PRAGMA user_version").fetchone()[0]
        if current > SCHEMA_VERSION:
            raise RegistryVersionError(
                f"registry {self.path.parent} has schema {current}, newer than this nbmodels "
                f"understands ({SCHEMA_VERSION}): upgrade nbmodels")
        if current == SCHEMA_VERSION:
            return
        if self.read_only and current >= READABLE_SCHEMA:
            return  # read as it is: the later migrations rewrite data, not tables
        if self.read_only:
            raise ReadOnlyRegistryError(
                f"registry {self.path.parent} has schema {current} and needs upgrading to "
                f"{SCHEMA_VERSION}, but you can only read it: open it once with write access")
        # IMMEDIATE so two kernels opening a new registry do not both migrate it.
        with _Immediate(db):
            migrations.apply(db)
            db.execute(f"PRAGMA user_version = {len(migrations.applied(db))}")

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def write(self) -> _Immediate:
        """One write transaction, `with store.write() as db:` (BEGIN IMMEDIATE ... COMMIT,
        ROLLBACK on any error). Raises `ReadOnlyRegistryError` when this user can only read
        the registry."""
        if self._db is None and not can_write(self.path):
            raise read_only_error(self.path)
        db = self.db
        if self.read_only:
            raise read_only_error(self.path)
        return _Immediate(db)

    def insert(self, table: str, rows, ignore: bool = False) -> None:
        """Insert dict rows (all with the same keys) in one `executemany`.

        sqlite-utils' `Table.insert_all` re-reads the table's schema on every call; the
        tables here are fixed by the migrations, so the per-cell write path skips that."""
        rows = list(rows)
        if not rows:
            return
        columns = tuple(rows[0])
        self.db.conn.executemany(_insert_sql(table, columns, ignore),
                                 [[row[c] for c in columns] for row in rows])

    def query(self, sql: str, params=()) -> list[dict]:
        """Rows as dicts with JSON columns decoded; [] when the registry does not exist."""
        if not self.exists:
            return []
        return [decode_row(row) for row in self.db.query(sql, params)]

    def rows(self, sql: str, params=()) -> list[tuple]:
        """Rows as plain tuples, nothing decoded (for listings that decode in bulk);
        [] when the registry does not exist."""
        if not self.exists:
            return []
        return self.db.conn.execute(sql, params).fetchall()

    def one(self, sql: str, params=()) -> dict | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def remember(self, key, value) -> None:
        """Keep `value`, read from or just written to the database, as what `recall(key)`
        returns until anything is committed to the database (one value at a time)."""
        self._memo = (key, self._stamp(), value)

    def recall(self, key):
        """The value `remember`ed under `key` when nothing was committed since (by this
        connection or any other), else None."""
        memo = self._memo
        if memo is None or memo[0] != key or self._db is None or memo[1] != self._stamp():
            return None
        return memo[2]

    def _stamp(self) -> tuple[int, int]:
        # this connection's changes; SQLite's data_version moves on other connections' commits
        conn = self.db.conn
        return conn.total_changes, conn.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        self._memo = None
        if self._db is not None:
            self._db.close()
            self._db = None
            self.mode = None

    def integrity_problems(self, most: int = 20) -> list[str]:
        """What SQLite's full `PRAGMA integrity_check` finds (at most `most` lines; [] when
        the database is sound or does not exist). A database SQLite cannot read at all
        gives its one error."""
        if not self.exists:
            return []
        try:
            rows = self.db.execute(f"PRAGMA integrity_check({int(most)})").fetchall()
        except DatabaseDamagedError as exc:
            return [str(exc.__cause__ or exc)]
        except sqlite3.DatabaseError as exc:
            return [str(exc)]
        found = [row[0] for row in rows]
        return [] if found == ["ok"] else found

    def backup_to(self, target: Path) -> None:
        """Write a consistent copy of the database to `target` (a new file) with SQLite's
        online backup API, in one step: one read snapshot, so writers in other processes go
        on meanwhile and the copy holds exactly the transactions committed before it."""
        partial = target.with_name(target.name + ".partial")
        partial.unlink(missing_ok=True)
        copy = sqlite3.connect(partial, isolation_level=None)
        try:
            with translate_errors(self.path):
                self.db.conn.backup(copy)
        finally:
            copy.close()
        os.replace(partial, target)


def _connect(target, uri: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(target, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                           check_same_thread=False, uri=uri)
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    return conn


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL mode, waiting out another process that is creating or switching the
    same new database: SQLite answers "database is locked" at once there, without its busy
    handler (waiting could deadlock it), so the wait is here. WAL is stored in the file, so
    once set every later open only reads it."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    pause = 0.001
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if not is_busy(error) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


@functools.lru_cache(maxsize=64)
def _insert_sql(table: str, columns: tuple[str, ...], ignore: bool) -> str:
    verb = "INSERT OR IGNORE" if ignore else "INSERT"
    return (f"{verb} INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})")


class _Immediate:
    """`with _Immediate(db) as db:` BEGIN IMMEDIATE ... COMMIT, ROLLBACK on any error; inside
    a transaction already open, part of it. A class rather than a generator: every tracked
    cell commits through it."""

    __slots__ = ("db", "_nested")

    def __init__(self, db: sqlite_utils.Database):
        self.db = db
        self._nested = False

    def __enter__(self) -> sqlite_utils.Database:
        conn = self.db.conn
        self._nested = conn.in_transaction  # the outer transaction already holds the lock
        if not self._nested:
            conn.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind, error, traceback) -> bool:
        if not self._nested:
            self.db.conn.execute("COMMIT" if kind is None else "ROLLBACK")
        return False


def decode_row(row: dict) -> dict:
    decoded = dict(row)
    for key in _JSON_COLUMNS.intersection(row):
        if isinstance(decoded[key], str):
            decoded[key] = decode_json(decoded[key])
    return decoded


def run_from_row(row: dict, variables=(), inputs=()) -> Run:
    return Run(
        id=row["id"], experiment=row["experiment"], status=row["status"],
        started_at=row["started_at"], ended_at=row["ended_at"], duration_s=row["duration_s"],
        user=row["user"], host=row["host"], notebook=row["notebook"], note=row["note"],
        source=row["source"], error=row["error"], params=row["params"] or {},
        metrics=row["metrics"] or {}, tags=row["tags"] or {}, packages=row["packages"] or {},
        git=row["git"],
        variables=tuple(variable_from_row(v) for v in variables),
        inputs=tuple(input_from_row(i) for i in inputs))


def variable_from_row(row: dict) -> Variable:
    return Variable(name=row["name"], role=row["role"], type=row["type"],
                    object_hash=row["object_hash"], size=row["size"], value=row["value"],
                    data=row["data"], reason=row["reason"])


def input_from_row(row: dict) -> Input:
    return Input(name=row["name"], type=row["type"], fingerprint=row["fingerprint"],
                 schema=row["schema"], stats=row["stats"], object_hash=row["object_hash"],
                 reason=row["reason"])


def version_from_row(row: dict, created: bool = True) -> ModelVersion:
    facts = row.get("facts") or {}
    return ModelVersion(
        name=row["name"], version=row["version"], stage=row["stage"], run_id=row["run_id"],
        object_hash=row["object_hash"], model_type=row["model_type"], size=row["size"],
        created_at=row["created_at"], user=row["user"], bump=row["bump"],
        bump_reason=row["bump_reason"], note=row["note"], variable=row["variable"],
        params=row["params"] or {}, metrics=row["metrics"] or {}, tags=row["tags"] or {},
        signature=facts.get("signature"), created=created)


def transition_from_row(row: dict) -> Transition:
    return Transition(name=row["name"], version=row["version"], from_stage=row["from_stage"],
                      to_stage=row["to_stage"], user=row["user"], at=row["at"], note=row["note"])
