"""Remotes: `add_remote`, `list_remotes`, `remove_remote`, `push`, `pull`, `clone`, and
fetching an object missing here from a remote when it is loaded (see `nbmodels.remotes`)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from ..dbfile import guard_errors
from ..errors import ConflictError, InvalidInputError, NotFoundError
from .common import iso_time, utc_now

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@guard_errors
class RemotesMixin:
    """Sharing through remotes (object storage or a folder)."""

    def add_remote(self, name: str, url: str):
        """Record remote `name` at `url` (`s3://BUCKET/PREFIX`, `gs://...`, `az://...`,
        `file:///PATH` or a folder path); only the URL is kept, never a credential."""
        from ..remotes import Remote, normalize_url

        if not isinstance(name, str) or not _NAME.match(name):
            raise InvalidInputError(f"bad remote name {name!r}: a letter or digit, then "
                                    "letters, digits, '_', '-', '.' (at most 64)")
        url = normalize_url(url)
        with self.store.write():
            if self.store.one("SELECT 1 AS x FROM remotes WHERE name = ?", [name]):
                raise ConflictError(f"remote {name!r} already exists: `nbmodels remote remove "
                                    f"{name}` first")
            now = iso_time(utc_now())
            self.store.insert("remotes", [{"name": name, "url": url, "added_at": now}])
        return Remote(name, url, now)

    def list_remotes(self) -> list:
        """The remotes, by name."""
        from ..remotes import Remote

        return [Remote(r["name"], r["url"], r["added_at"])
                for r in self.store.query("SELECT * FROM remotes ORDER BY name")]

    def remove_remote(self, name: str) -> None:
        """Forget remote `name` (and what was known to be on it); nothing on it changes."""
        self._remote_url(name)
        with self.store.write() as db:
            db.execute("DELETE FROM remote_keys WHERE remote = ?", [name])
            db.execute("DELETE FROM remotes WHERE name = ?", [name])

    def push(self, remote: str | None = None, refs: Iterable[str] = (), progress=None):
        """Upload the versions `refs` name (`NAME` or `NAME@VERSION`; default: all) with
        their runs, lineage, stage changes and objects; only what the remote lacks moves.
        Returns a `TransferReport`: a NAME@VERSION the remote holds made differently is a
        conflict line in `conflicts` (nothing is overwritten). `progress(done, total)` is
        told each object sent."""
        from ..remotes.push import push
        from ..remotes.transport import open_transport

        name = self._default_remote(remote)
        return push(self, name, open_transport(self._remote_url(name)), refs, progress)

    def pull(self, remote: str | None = None, names: Iterable[str] = (), objects: bool = True,
             progress=None):
        """Download the versions of `names` (default: every model) with their runs, stage
        changes and objects (`objects=False`: records only; an object is then fetched when
        first loaded). Every object is hash-checked before it is kept; rows are inserted in
        one transaction. Returns a `TransferReport`. `progress(done, total)` is told each
        object received."""
        from ..remotes.pull import pull
        from ..remotes.transport import open_transport

        name = self._default_remote(remote)
        return pull(self, name, open_transport(self._remote_url(name)), names, objects, progress)

    @classmethod
    def clone(cls, url: str, folder: str | os.PathLike | None = None, objects: bool = True):
        """A new registry in `folder/.nbmodels` (default: the working directory) with
        everything from `url`, recorded as remote `origin`. Returns the `Registry`; its
        `last_pull` is the pull's `TransferReport`."""
        from ..remotes.clone import clone

        registry, report = clone(url, folder, objects)
        registry.last_pull = report
        return registry

    def _default_remote(self, remote: str | None) -> str:
        """REMOTE given, else the only remote, else `origin`."""
        if remote is not None:
            return remote
        names = [r["name"] for r in self.store.query("SELECT name FROM remotes ORDER BY name")]
        if len(names) == 1:
            return names[0]
        if "origin" in names or not names:
            return "origin"
        raise InvalidInputError(f"this registry has {len(names)} remotes ({', '.join(names)}) "
                                "and none is `origin`: name one")

    def _remote_url(self, name: str) -> str:
        row = self.store.one("SELECT url FROM remotes WHERE name = ?", [name])
        if row is None:
            raise NotFoundError(f"no remote {name!r} in {self.home} (add one: nbmodels remote "
                                "add NAME URL)")
        return row["url"]

    def _fetch_missing(self, digest: str) -> bool:
        """Fetch object `digest`, absent here, from the remote known to hold it (else the
        default, else each): hash-checked, then cached in `objects/`. False when no remote
        has it; `IntegrityError` when the remote's bytes do not match."""
        from ..remotes import layout
        from ..remotes.pull import download_object
        from ..remotes.transport import Missing, open_transport

        remotes = self.store.query(
            "SELECT r.name, r.url, EXISTS(SELECT 1 FROM remote_keys k WHERE k.remote = r.name "
            "AND k.key = ?) AS known FROM remotes r", [layout.object_key(digest)])
        for remote in sorted(remotes, key=lambda r: (not r["known"], r["name"] != "origin")):
            try:
                download_object(self.objects, open_transport(remote["url"]), digest)
                return True
            except Missing:
                continue
        return False

    def _version_locations(self, name: str, versions: list[tuple[str, str]]) -> list:
        """Where each of `versions` (`(version, object_hash)` of model `name`) is: `local`,
        `remote` (known on a remote, its object not here) or `both`; None for each when
        this registry has no remote (there is nothing to tell)."""
        from ..remotes import layout

        remotes = self.store.rows("SELECT name FROM remotes")
        if not remotes:
            return [None] * len(versions)
        prefix = layout.versions_prefix(name)
        on_remote = {row[0] for remote in remotes
                     for row in self.store.rows(
                         "SELECT key FROM remote_keys WHERE remote = ? AND key >= ? AND key < ?",
                         [remote[0], prefix, prefix + "\x7f"])}
        return [("both" if self.objects.exists(digest) else "remote")
                if layout.version_key(name, version) in on_remote else "local"
                for version, digest in versions]
