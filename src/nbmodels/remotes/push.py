"""`push`: a registry's versions, their runs, objects and stage changes onto a remote.

In order, each step only once the one before it is on the remote: objects (each hash
checked here before it leaves, uploaded only when the remote lacks it), then run
manifests, then version manifests, then stage changes. A push killed anywhere leaves a
remote whose every key names only things already there; a rerun skips what is there.

What this registry knows to be on the remote (`remote_keys`) is never asked about again:
a push with nothing new makes one request (the marker's GET) and uploads nothing.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..errors import IntegrityError
from ..versioning import parse_ref
from . import layout
from .conflicts import same_version, version_conflict
from .reports import TransferReport
from .transport import Missing, RemoteError, Transport, counted, parallel

if TYPE_CHECKING:
    from ..registry import Registry


def push(registry: Registry, remote: str, transport: Transport,
         refs: Iterable[str] = (), progress=None) -> TransferReport:
    """Push the versions `refs` name (default: all) to `transport`; see the module doc.
    `progress(done, total)` is told each object uploaded (or found there)."""
    ensure_marker(transport, create=True)
    known = known_keys(registry, remote)
    versions = select_versions(registry, refs)
    state = _Push(registry, remote, transport, known)
    state.progress = progress
    state.plan(versions)
    state.upload_objects()
    state.write_manifests()
    state.write_log(versions)
    state.write_pack()
    return TransferReport(
        "push", remote, transport.url, versions=state.pushed_versions, runs=state.pushed_runs,
        objects=state.object_uploads, bytes=state.object_bytes,
        stage_changes=state.pushed_changes, requests=transport.requests,
        conflicts=tuple(state.conflicts), damage=tuple(state.damage))


def ensure_marker(transport: Transport, create: bool) -> bool:
    """Whether the remote holds an nbmodels registry (made now when `create`). Raises
    `RemoteError` for one written by a newer nbmodels."""
    try:
        found = layout.decode(transport.get(layout.MARKER), layout.MARKER)
    except Missing:
        if not create:
            return False
        transport.put(layout.MARKER, layout.marker(), create=True)
        return True
    except ValueError:
        raise RemoteError(f"remote {transport.url}: {layout.MARKER} is not an nbmodels marker "
                          "(is this another tool's folder?)") from None
    return found.get("kind") == "nbmodels-remote"


def known_keys(registry: Registry, remote: str) -> set[str]:
    return {row[0] for row in registry.store.rows(
        "SELECT key FROM remote_keys WHERE remote = ?", [remote])}


def remember(registry: Registry, remote: str, keys: Iterable[str]) -> None:
    keys = sorted(set(keys))
    if keys:
        with registry.store.write():
            registry.store.insert("remote_keys", [{"remote": remote, "key": k} for k in keys],
                                  ignore=True)


def raw(registry: Registry, sql: str, params=()) -> list[dict]:
    """Rows as SQLite stores them (JSON columns as text): what manifests hold."""
    return list(registry.store.db.query(sql, params)) if registry.store.exists else []


def select_versions(registry: Registry, refs: Iterable[str]) -> list[dict]:
    """The version rows `refs` name (`NAME`: all its versions), oldest first; all when
    `refs` is empty. Raises as `Registry.get` for an unknown one, before anything moves."""
    refs = list(refs)
    if not refs:
        return raw(registry, "SELECT * FROM versions ORDER BY name, major, minor, patch")
    chosen: dict[tuple, dict] = {}
    for ref in refs:
        if "@" in ref:
            version = registry.get(ref)
            rows = raw(registry, "SELECT * FROM versions WHERE name = ? AND version = ?",
                       [version.name, version.version])
        else:
            registry.count_versions(parse_ref(ref).name or ref)  # raises for an unknown model
            rows = raw(registry, "SELECT * FROM versions WHERE name = ? ORDER BY major, minor, "
                                 "patch", [ref])
        chosen.update({(r["name"], r["version"]): r for r in rows})
    return list(chosen.values())


def object_rows(registry: Registry, hashes: Iterable[str]) -> list[dict]:
    hashes = sorted(set(hashes))
    rows = []
    for start in range(0, len(hashes), 500):
        part = hashes[start:start + 500]
        rows += raw(registry, "SELECT hash, size, serializer, type FROM objects WHERE hash IN "
                              f"({', '.join('?' * len(part))}) ORDER BY hash", part)
    return rows


def run_manifest(registry: Registry, run_id: str) -> dict:
    run = raw(registry, "SELECT * FROM runs WHERE id = ?", [run_id])[0]
    variables = raw(registry, "SELECT * FROM variables WHERE run_id = ? ORDER BY name", [run_id])
    inputs = raw(registry, "SELECT * FROM inputs WHERE run_id = ? ORDER BY name", [run_id])
    lineage = raw(registry, "SELECT * FROM lineage WHERE run_id = ?", [run_id])
    hashes = [r["object_hash"] for r in [*variables, *inputs] if r["object_hash"]]
    return layout.run_manifest(run, variables, inputs, lineage[0] if lineage else None,
                               object_rows(registry, hashes))


def version_manifest(registry: Registry, row: dict) -> dict:
    model = raw(registry, "SELECT name, created_at, description FROM models WHERE name = ?",
                [row["name"]])[0]
    return layout.version_manifest(row, model, object_rows(registry, [row["object_hash"]]))


class _Push:
    """One push's plan and progress."""

    def __init__(self, registry: Registry, remote: str, transport: Transport, known: set[str]):
        self.registry, self.remote, self.transport, self.known = registry, remote, transport, known
        self.runs: dict[str, dict] = {}  # key -> manifest, for those not known to be there
        self.versions: dict[str, dict] = {}
        self.needs: dict[str, set[str]] = {}  # manifest key -> object hashes it needs
        self.conflicts: list[str] = []
        self.damage: list[str] = []
        self.blocked: set[str] = set()  # manifest keys not pushed (damage, conflict)
        self.pushed_versions = self.pushed_runs = self.pushed_changes = 0
        self.object_uploads = self.object_bytes = 0
        self.written: dict[str, dict] = {}  # key -> manifest or log entry, for the pack
        self._lock = threading.Lock()
        self.progress = None  # progress(done, total) of the objects

    def plan(self, versions: list[dict]) -> None:
        for row in versions:
            key = layout.version_key(row["name"], row["version"])
            if key in self.known:
                continue
            self.versions[key] = version_manifest(self.registry, row)
            self.needs[key] = {row["object_hash"]}
            run_id = row["run_id"]
            if run_id and layout.run_key(run_id) not in self.known:
                run_key = layout.run_key(run_id)
                if run_key not in self.runs:
                    self.runs[run_key] = run_manifest(self.registry, run_id)
                    self.needs[run_key] = {o["hash"] for o in self.runs[run_key]["objects"]}
                self.needs[key] |= self.needs[run_key]

    def upload_objects(self) -> None:
        wanted = sorted({h for needs in self.needs.values() for h in needs
                         if layout.object_key(h) not in self.known})
        results = parallel(counted(self._upload_object, self.progress, len(wanted)), wanted)
        there = [layout.object_key(h) for h, ok in zip(wanted, results) if ok]
        remember(self.registry, self.remote, there)
        self.known.update(there)
        bad = {h for h, ok in zip(wanted, results) if not ok}
        for key, needs in self.needs.items():
            if needs & bad:
                self.blocked.add(key)
                if key.startswith("versions/"):
                    self.damage.append(f"damaged: {_ref(key)} not pushed: its object "
                                       f"{min(needs & bad)[:12]} here does not match its hash "
                                       "(run `nbmodels verify`)")

    def _upload_object(self, digest: str) -> bool:
        key = layout.object_key(digest)
        if self.transport.head(key) is not None:
            return True
        try:
            data = self.registry.objects.read_verified(digest)
        except IntegrityError:
            return False
        self.transport.put(key, data)
        with self._lock:
            self.object_uploads += 1
            self.object_bytes += len(data)
        return True

    def write_manifests(self) -> None:
        runs = [k for k in self.runs if k not in self.blocked]
        parallel(lambda k: self._create(k, self.runs[k]), runs)
        remember(self.registry, self.remote, runs)
        self.known.update(runs)
        self.written.update({k: self.runs[k] for k in runs})
        self.pushed_runs = len(runs)
        versions = [k for k in self.versions if k not in self.blocked]
        there = [k for k, ok in zip(versions, parallel(self._create_version, versions)) if ok]
        remember(self.registry, self.remote, there)
        self.known.update(there)
        self.written.update({k: self.versions[k] for k in there})
        self.pushed_versions = len(there)

    def _create(self, key: str, manifest: dict) -> bool:
        """Write a manifest once: False when one is already there (left unchanged)."""
        return self.transport.put(key, layout.encode(manifest), create=True)

    def _create_version(self, key: str) -> bool:
        ours = self.versions[key]
        if self._create(key, ours):
            return True
        theirs = layout.decode(self.transport.get(key), key)
        if same_version(theirs["version"], ours["version"]):
            return True  # pushed before (by us, or by whoever we pulled it from)
        self.blocked.add(key)
        name, version = ours["version"]["name"], ours["version"]["version"]
        self.conflicts.append(version_conflict(name, version, self.remote, theirs["version"],
                                               ours["version"]))
        return False

    def write_log(self, versions: list[dict]) -> None:
        there = {(r["name"], r["version"]) for r in versions
                 if layout.version_key(r["name"], r["version"]) in self.known}
        changes = [t for t in raw(self.registry, "SELECT * FROM transitions ORDER BY id")
                   if (t["name"], t["version"]) in there and t["uid"]
                   and layout.log_key(t["name"], t["uid"]) not in self.known]
        keys = [layout.log_key(t["name"], t["uid"]) for t in changes]
        entries = [layout.stage_entry(t) for t in changes]
        parallel(lambda pair: self._create(*pair), list(zip(keys, entries)))
        remember(self.registry, self.remote, keys)
        self.written.update(zip(keys, entries))
        self.pushed_changes = len(keys)

    def write_pack(self) -> None:
        """Everything this push wrote, in one more key (see `layout`), with the objects
        under 64 kB its manifests need: a pull reads it in one request."""
        if not self.written:
            return
        inline, total = {}, 0
        for digest in sorted({o["hash"] for m in self.written.values() for o in m.get("objects", ())}):
            stat = self.registry.objects.stat(digest)
            if stat is None or stat.st_size > layout.PACK_INLINE_MAX or \
                    total + stat.st_size > layout.PACK_INLINE_TOTAL:
                continue
            try:
                inline[digest] = self.registry.objects.read_verified(digest)
            except IntegrityError:
                continue
            total += stat.st_size
        key = layout.pack_key(uuid.uuid4().hex)
        self.transport.put(key, layout.encode(layout.pack(self.written, inline)), create=True)
        remember(self.registry, self.remote, [key])


def _ref(key: str) -> str:
    name, version = layout.parse_version_key(key)
    return f"{name}@{version}"
