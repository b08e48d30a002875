"""Keeping a registry sound: `gc` of unreferenced objects and temp files, `verify` of
the database and every object, and `backup`."""

from __future__ import annotations

import os

from ..dbfile import guard_errors
from ..objects import valid_hash
from ..records import BackupReport, Damage, GCReport, VerifyReport
from .common import utc_now

GC_GRACE_S = 3600  # never collect files this young: a writer may be about to commit rows


@guard_errors
class MaintenanceMixin:
    """Maintenance: `gc`, `verify`, `check_database`, `backup`."""

    def gc(self, dry_run: bool = True) -> GCReport:
        """Remove object files no row references and leftover temp files, both older than
        an hour (younger ones may belong to a save still running or about to commit: they
        are kept, and counted in the report); with `dry_run` (the default) only report.

        Safe beside writers and other gcs: which objects go is decided, and they are
        removed, inside one write transaction, and a writer checks inside its own that the
        objects it commits rows for are there (storing them again if not), so a file is
        never removed once a committed row points at it. A removal is reported by the one
        gc that made it."""
        cutoff = utc_now().timestamp() - GC_GRACE_S
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
        # pulled without objects: on a remote, fetched when loaded (registry/remotes.py)
        remote = {r[0] for r in self.store.rows("SELECT key FROM remote_keys WHERE key LIKE "
                                                "'objects/%'")}
        for row in objects:
            digest = row["hash"]
            if not valid_hash(digest):
                damage.append(Damage("object-name-invalid", repr(digest)[:80],
                                     "not a 64-character hex hash: never followed as a path"))
            elif not self.objects.path(digest).is_file():
                if f"objects/{digest[:2]}/{digest[2:]}" in remote:
                    continue
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
        from ..backup import backup

        return backup(self, dest, link=link)


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
