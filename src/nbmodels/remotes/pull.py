"""`pull`: versions, runs, objects and stage changes from a remote into a registry.

First everything is read from the remote and every object is downloaded into `objects/`,
each hash-checked before it is kept (a damaged one is refused, and what needs it left
out); only then are the rows inserted, in one transaction. A pull killed before that
commit leaves the registry as it was (plus verified objects, which a rerun reuses).

What this registry already knows to be on the remote is not read again: a pull with
nothing new costs the marker's GET and one list page per folder (`versions/`, `log/`).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

import blake3

from ..errors import IntegrityError
from ..objects import ObjectStore, make_durable
from ..versioning import check_model_name
from . import layout
from .conflicts import apply_log, replaced_line, same_version
from .push import ensure_marker, known_keys, raw
from .reports import TransferReport
from .transport import Missing, Transport, counted, parallel, scratch_file

if TYPE_CHECKING:
    from ..registry import Registry


def pull(registry: Registry, remote: str, transport: Transport, names: Iterable[str] = (),
         objects: bool = True, progress=None) -> TransferReport:
    """Pull the versions of `names` (default: every model) from `transport`; with
    `objects=False` only the records (objects are fetched when first loaded).
    `progress(done, total)` is told each object downloaded."""
    names = [check_model_name(n) for n in names]
    if not ensure_marker(transport, create=False):
        return TransferReport("pull", remote, transport.url, requests=transport.requests)
    state = _Pull(registry, remote, transport, known_keys(registry, remote))
    state.progress = progress
    state.read_packs(remember=not names)
    state.read_versions(names)
    state.read_runs()
    if objects:
        state.download_objects()
    state.read_log(names)
    state.commit()
    return TransferReport(
        "pull", remote, transport.url, versions=len(state.inserted), runs=len(state.run_rows),
        objects=state.downloaded, bytes=state.downloaded_bytes,
        stage_changes=state.changes, requests=transport.requests,
        damage=tuple(state.damage), replaced=tuple(state.replaced_lines))


def download_object(objects: ObjectStore, transport: Transport, digest: str) -> int:
    """Stream object `digest` from the remote into `objects/`, hashing on the way; keep it
    only when its bytes hash to `digest` (fsynced, then renamed into place). Returns its
    size. Raises `IntegrityError` for bytes that do not match (nothing kept) and
    `transport.Missing` when the remote lacks it."""
    return save_verified(objects, digest, transport.url,
                         lambda write: transport.get_into(layout.object_key(digest), write))


def save_verified(objects: ObjectStore, digest: str, where: str, fill) -> int:
    """`fill(write)` streams an object's bytes into `write`; they are kept as object
    `digest` only when they hash to it (see `download_object`)."""
    target = objects.path(digest)
    handle, temp = scratch_file(objects.temp_dir)
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    size = 0
    try:
        os.fchmod(handle, objects.file_mode())

        def write(view: memoryview) -> None:
            nonlocal size
            hasher.update(view)
            size += view.nbytes
            while view.nbytes:
                view = view[os.write(handle, view):]

        fill(write)
        if hasher.hexdigest() != digest:
            raise IntegrityError(f"integrity: object {digest[:12]} on {where} does not "
                                 "match its hash: refused, nothing of it was kept")
        make_durable(handle, temp, target, size)
        return size
    finally:
        os.close(handle)
        if os.path.exists(temp):
            os.unlink(temp)


class _Pull:
    """One pull's reads, then its one commit."""

    def __init__(self, registry: Registry, remote: str, transport: Transport, known: set[str]):
        self.registry, self.remote, self.transport, self.known = registry, remote, transport, known
        self.progress = None  # progress(done, total) of the objects
        self.versions: dict[str, dict] = {}  # key -> manifest to insert
        self.same: list[str] = []  # version keys already here
        self.replaced: dict[str, dict] = {}  # key -> our clashing row, set aside
        self.runs: dict[str, dict] = {}  # run key -> manifest to insert
        self.run_rows: list[dict] = []
        self.log: dict[str, dict] = {}
        self.damage: list[str] = []
        self.replaced_lines: list[str] = []
        self.inserted: list[str] = []
        self.downloaded = self.downloaded_bytes = self.changes = 0
        self.packed: dict[str, dict] = {}  # key -> manifest or entry, from packs
        self.inline: dict[str, str] = {}  # hash -> base64 bytes, from packs
        self.packs: list[str] = []

    def read_packs(self, remember: bool) -> None:
        new = [k for k in self.transport.list(layout.PACKS) if k not in self.known]
        for key, found in zip(new, parallel(self._get, new)):
            if found is not None and found.get("kind") == "pack":
                self.packed.update(found["manifests"])
                self.inline.update(found["objects"])
                if remember:
                    self.packs.append(key)

    def _get(self, key: str) -> dict | None:
        if key in self.packed:  # a pack lists only keys already written
            return self.packed[key]
        try:
            return layout.decode(self.transport.get(key), key)
        except (Missing, ValueError) as exc:
            self.damage.append(f"damaged: {key} on {self.remote} cannot be read ({exc}): skipped")
            return None

    def _list(self, prefixes: list[str]) -> list[str]:
        return [k for keys in parallel(self.transport.list, prefixes) for k in keys]

    def read_versions(self, names: list[str]) -> None:
        prefixes = [layout.versions_prefix(n) for n in names] or [layout.versions_prefix()]
        new = [k for k in self._list(prefixes)
               if k not in self.known and layout.parse_version_key(k)]
        local = {(r["name"], r["version"]): r for r in raw(
            self.registry, "SELECT * FROM versions")}
        for key, manifest in zip(new, parallel(self._get, new)):
            if manifest is None:
                continue
            row = manifest["version"]
            ours = local.get((row["name"], row["version"]))
            if ours is None:
                self.versions[key] = manifest
            elif same_version(ours, row):
                self.same.append(key)
            else:
                self.versions[key] = manifest
                self.replaced[key] = ours

    def read_runs(self) -> None:
        wanted = sorted({m["version"]["run_id"] for m in self.versions.values()
                         if m["version"]["run_id"]})
        here = {r["id"] for r in raw(self.registry, "SELECT id FROM runs")} if wanted else set()
        keys = [layout.run_key(r) for r in wanted if r not in here]
        for key, manifest in zip(keys, parallel(self._get, keys)):
            if manifest is not None:
                self.runs[key] = manifest
        missing = {r for r in wanted if r not in here and layout.run_key(r) not in self.runs}
        for key in [k for k, m in self.versions.items() if m["version"]["run_id"] in missing]:
            self._drop(key, "its run is not on the remote")

    def _drop(self, key: str, why: str) -> None:
        self.versions.pop(key, None)
        self.replaced.pop(key, None)
        name, version = layout.parse_version_key(key)
        self.damage.append(f"damaged: {name}@{version} on {self.remote} not pulled: {why}")

    def _needs(self, key: str) -> set[str]:
        manifest = self.versions[key]
        needs = {o["hash"] for o in manifest["objects"]}
        run = self.runs.get(layout.run_key(manifest["version"]["run_id"] or ""))
        return needs | ({o["hash"] for o in run["objects"]} if run else set())

    def download_objects(self) -> None:
        objects = self.registry.objects
        wanted = sorted({h for k in self.versions for h in self._needs(k)
                         if not objects.exists(h)})
        # and those an earlier pull without objects left on the remote
        wanted += sorted({k[8:10] + k[11:] for k in self.known if k.startswith("objects/")}
                         - set(wanted))
        wanted = [h for h in wanted if not objects.exists(h)]
        results = parallel(counted(self._download, self.progress, len(wanted)), wanted)
        bad = {h for h, size in zip(wanted, results) if size is None}
        self.downloaded = sum(1 for s in results if s is not None)
        self.downloaded_bytes = sum(s for s in results if s is not None)
        needed = set()
        for key in [k for k in self.versions if self._needs(k) & bad]:
            needed |= self._needs(key) & bad
            self._drop(key, f"object {min(self._needs(key) & bad)[:12]} there does not match "
                            "its hash (refused)")
        self.damage += [f"damaged: object {h[:12]} on {self.remote} does not match its hash: "
                        "refused" for h in sorted(bad - needed)]

    def _download(self, digest: str) -> int | None:
        try:
            if digest in self.inline:
                data = memoryview(base64.b64decode(self.inline[digest]))
                return save_verified(self.registry.objects, digest, f"a pack on {self.remote}",
                                     lambda write: write(data))
            return download_object(self.registry.objects, self.transport, digest)
        except (IntegrityError, Missing):
            return None

    def read_log(self, names: list[str]) -> None:
        prefixes = [layout.log_prefix(n) for n in names] or [layout.log_prefix()]
        new = [k for k in self._list(prefixes) if k not in self.known and k.endswith(".json")]
        for key, entry in zip(new, parallel(self._get, new)):
            if entry is not None:
                self.log[key] = entry

    def commit(self) -> None:
        for ours in self.replaced.values():
            self.replaced_lines.append(replaced_line(
                ours["name"], ours["version"], self.remote, ours, self._set_aside(ours)))
        runs = [self.runs[k] for k in self.runs
                if any(m["version"]["run_id"] and layout.run_key(m["version"]["run_id"]) == k
                       for m in self.versions.values())]
        self.run_rows = [m["run"] for m in runs]
        with self.registry.store.write():
            insert_records(self.registry, list(self.versions.values()), runs,
                           list(self.replaced.values()))
            self.inserted = list(self.versions)
            applied = apply_log(self.registry, list(self.log.values()),
                                {m["version"]["name"] for m in self.versions.values()})
            self.changes = len(applied)
            keys = {*self.versions, *self.same, *self.packs,
                    *(layout.run_key(r["id"]) for r in self.run_rows),
                    *(layout.log_key(e["name"], e["uid"]) for e in applied)}
            keys |= {layout.object_key(o["hash"]) for m in [*self.versions.values(), *runs]
                     for o in m["objects"]}
            self.registry.store.insert("remote_keys", [{"remote": self.remote, "key": k}
                                                       for k in sorted(keys)], ignore=True)

    def _set_aside(self, ours: dict) -> str:
        """Keep our clashing version's row and stage changes in `conflicts/` (nothing of it
        is lost): the name of the file."""
        folder = self.registry.home / "conflicts"
        folder.mkdir(parents=True, exist_ok=True)
        changes = raw(self.registry, "SELECT * FROM transitions WHERE name = ? AND version = ? "
                                     "ORDER BY id", [ours["name"], ours["version"]])
        path = folder / f"{ours['name']}@{ours['version']}-{ours['object_hash'][:12]}.json"
        path.write_text(json.dumps({"version": ours, "transitions": changes}, indent=1))
        return f"conflicts/{path.name}"


def insert_records(registry: Registry, versions: list[dict], runs: list[dict],
                   replaced: list[dict]) -> None:
    """Insert pulled manifests, inside the caller's transaction; the columns this
    registry has (a newer nbmodels' extra ones are left out)."""
    from ..registry.common import iso_time, utc_now

    db = registry.store.db
    columns = {t: {c.name for c in db[t].columns}
               for t in ("objects", "runs", "variables", "inputs", "lineage", "versions")}

    def insert(table: str, rows: list[dict], ignore: bool = True) -> None:
        for row in rows:  # rows of one table may differ in keys (older/newer writers)
            registry.store.insert(table, [{k: v for k, v in row.items() if k in columns[table]}],
                                  ignore=ignore)

    now = iso_time(utc_now())
    insert("objects", [{**o, "created_at": now} for m in [*versions, *runs] for o in m["objects"]])
    for manifest in runs:
        insert("runs", [manifest["run"]])
        insert("variables", manifest["variables"])
        insert("inputs", manifest["inputs"])
        insert("lineage", [manifest["lineage"]] if manifest["lineage"] else [])
    for ours in replaced:
        db.execute("DELETE FROM transitions WHERE name = ? AND version = ?",
                   [ours["name"], ours["version"]])
        db.execute("DELETE FROM versions WHERE name = ? AND version = ?",
                   [ours["name"], ours["version"]])
    for manifest in versions:
        model = manifest["model"]
        registry.store.insert("models", [{"name": model["name"], "created_at": model["created_at"],
                                          "updated_at": now, "description": model["description"]}],
                              ignore=True)
        db.execute("UPDATE models SET updated_at = ? WHERE name = ?", [now, model["name"]])
        insert("versions", [{**manifest["version"], "stage": "none"}], ignore=False)

