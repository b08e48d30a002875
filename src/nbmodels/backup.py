"""`Registry.backup(dest)`: a consistent copy of a registry, taken while kernels write.

The database is copied first, with SQLite's online backup API in one step (one read
snapshot: writers in other processes are not blocked and the copy holds exactly the
transactions committed before it). Then every object that copy refers to is copied (or,
with `link=True`, hard-linked when on the same file system) and hashed on the way: a
damaged or missing object is reported, never copied silently. Objects are written before
being referenced, so every object a committed row names is already on disk when the
snapshot is taken.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import blake3

from .errors import ConflictError, InvalidInputError, NotFoundError
from .records import BackupReport, Damage

if TYPE_CHECKING:
    from .registry import Registry

_REFERENCED = ("SELECT object_hash AS h FROM variables WHERE object_hash IS NOT NULL UNION "
               "SELECT object_hash FROM inputs WHERE object_hash IS NOT NULL UNION "
               "SELECT object_hash FROM versions")


def backup(registry: Registry, dest: str | os.PathLike, link: bool = False) -> BackupReport:
    """Copy `registry` into the new folder `dest` (see the module docstring) and return what
    was copied. Raises `NotFoundError` when there is no registry to copy and
    `ConflictError` when `dest` exists and is not an empty folder."""
    from .registry import Registry

    dest = Path(dest).expanduser().absolute()
    try:
        _check_destination(registry, dest)
        dest.mkdir(parents=True, exist_ok=True)
    except (ValueError, OSError) as error:  # a NUL byte, a name too long, a read-only disk
        if isinstance(error, PermissionError):
            raise
        reason = getattr(error, "strerror", None) or "not a usable path"
        raise InvalidInputError(f"backup destination {str(dest)[:200]!r} cannot be used: "
                                f"{reason}") from None
    registry.store.backup_to(dest / "registry.db")
    copy = Registry(dest)
    try:
        return _copy_objects(registry, copy, link)
    finally:
        copy.close()


def _check_destination(registry: Registry, dest: Path) -> None:
    if not registry.store.exists:
        raise NotFoundError(f"nothing to back up: no registry at {registry.home}")
    home = registry.home.resolve()
    if dest.resolve() == home or dest.resolve().is_relative_to(home):
        raise InvalidInputError(f"backup destination {dest} is inside the registry: give "
                                "a folder elsewhere (another disk is best)")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ConflictError(f"backup destination {dest} already exists and is not empty: "
                            "give a new folder")


def _copy_objects(registry: Registry, copy: Registry, link: bool) -> BackupReport:
    referenced = {r["h"] for r in copy.store.query(_REFERENCED)}
    known = [r["hash"] for r in copy.store.query("SELECT hash FROM objects")]
    damage, orphans, copied, size = [], [], 0, 0
    for digest in sorted(set(known) | referenced):
        source = registry.objects.path(digest)
        if not source.is_file():
            if digest in referenced:
                damage.append(Damage("object-missing", digest,
                                     "file is missing in the registry: not copied"))
            else:  # an unreferenced row whose file gc removed after the snapshot
                orphans.append(digest)
            continue
        if not _copy_verified(source, copy.objects.path(digest), digest, link):
            damage.append(Damage("object-corrupt", digest,
                                 "bytes do not match the hash in the registry: not copied"))
            continue
        copied += 1
        size += source.stat().st_size
    if orphans:
        with copy.store.write() as db:
            for digest in orphans:
                db.execute("DELETE FROM data_objects WHERE object_hash = ?", [digest])
                db.execute("DELETE FROM objects WHERE hash = ?", [digest])
    return BackupReport(
        str(copy.home), copy.count_runs(),
        copy.store.one("SELECT count(*) AS n FROM versions")["n"], copied, size, tuple(damage))


def _copy_verified(source: Path, target: Path, digest: str, link: bool) -> bool:
    """Copy (or hard-link) `source` to `target` when its bytes hash to `digest`; write
    through a temporary name so `target` is whole or absent."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    if link:
        try:
            os.link(source, partial)
        except OSError:  # another file system (or no hard links): copy instead
            link = False
    if not link:
        shutil.copyfile(source, partial)
        shutil.copymode(source, partial)
    hasher = blake3.blake3()
    if partial.stat().st_size:  # mmap refuses empty files
        hasher.update_mmap(partial)
    if hasher.hexdigest() != digest:
        partial.unlink()
        return False
    if not link:
        with open(partial, "rb") as file:
            os.fsync(file.fileno())
    os.replace(partial, target)
    return True
