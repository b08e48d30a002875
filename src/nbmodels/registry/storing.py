"""Putting a run's or a version's values into the object store, and committing the
`objects` rows for them inside the transaction that commits the rows pointing at them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from .. import formats
from ..dbfile import guard_errors
from ..errors import IntegrityError
from ..objects import StoredObject, UnstorableObject
from .common import iso_time, utc_now


@dataclass
class RunObjects:
    """What storing the values of one run shares: its objects by data fingerprint (the same
    data bound and read by one cell, `obj = big`, is serialized once), its progress
    (`record_run(progress=)`, told the models' bytes) and the objects still on their way
    to disk, with the rows that point at them (`put_later`)."""

    progress: Any = None
    by_fingerprint: dict[str, StoredObject] = field(default_factory=dict)
    publishing: list = field(default_factory=list)


@guard_errors
class StoringMixin:
    """Object storage for `Registry` (all private: runs and `register` call it)."""

    def _store_safely(self, run: RunObjects, row: dict, value: Any, max_bytes: int | None,
                      fingerprint: str | None, on_written=None) -> None:
        """`_store_into`, and whatever else storing one value raises (a hostile
        `__getattribute__` met before pickling) becomes that value's reason."""
        try:
            self._store_into(run, row, value, max_bytes, fingerprint, on_written)
        except Exception as exc:  # noqa: BLE001  one value never loses the run
            row["reason"] = f"not captured: {type(exc).__name__}: {exc}"

    def _store_into(self, run: RunObjects, row: dict, value: Any, max_bytes: int | None,
                    fingerprint: str | None, on_written=None) -> None:
        """Store `value` (or reuse the object already holding this data fingerprint) and
        note the object in `row`, or the reason it could not be stored. `on_written()`:
        see `ObjectStore.put` (not called when nothing is written)."""
        stored = run.by_fingerprint.get(fingerprint) if fingerprint else None
        if stored is None and fingerprint:
            stored = self._object_for_fingerprint(fingerprint, value)
        if stored is None:
            progress = run.progress if row.get("role") == "model" else None
            try:
                stored, published = self.objects.put_later(
                    value, self._run_format(row, value), max_bytes=max_bytes,
                    timeout_s=self.capture_timeout_s, progress=progress, on_written=on_written)
            except UnstorableObject as exc:
                row["reason"] = exc.reason
                return
            run.publishing.append((row, published))
            if progress is not None:
                progress.stored(stored.size)
        if fingerprint:  # None when the fingerprint does not prove the content
            run.by_fingerprint[fingerprint] = stored
        row["object_hash"], row["stored"] = stored.hash, stored
        if "size" in row:
            row["size"] = stored.size

    def _published(self, run: RunObjects) -> None:
        """Wait until the objects a run's rows point at are on disk (`put_later`); a row
        whose object could not be published gets the reason instead."""
        for row, published in run.publishing:
            try:
                stored = published.result()
            except Exception as exc:  # noqa: BLE001  one value never loses the run
                stored = None
                if row.get("object_hash") is not None:
                    row.update(reason=f"not captured: {type(exc).__name__}: {exc}",
                               object_hash=None, stored=None)
                    if "size" in row:
                        row["size"] = None
            if stored is not None and row.get("object_hash") == stored.hash:
                row["stored"] = stored  # unless the row gave its object up meanwhile
        run.publishing.clear()

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
        found = []
        for row in rows:
            if row.get("stored") and not self.objects.present(row["stored"]):
                self._store_again(row)
            if row.get("stored"):
                found.append((row["stored"], row["type"]))
        if not found:  # a cell that stored nothing (params, metrics)
            return
        now = iso_time(utc_now())
        self.store.insert("objects", ({"hash": stored.hash, "size": stored.size,
                                       "serializer": stored.serializer, "type": kind,
                                       "created_at": now} for stored, kind in found),
                          ignore=True)

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

    def _known_object(self, digest: str, value: Any) -> StoredObject | None:
        """The stored object with this hash (holding `value`'s bytes), if its row and its
        file are both there."""
        row = self.store.one("SELECT hash, size, serializer FROM objects WHERE hash = ?", [digest])
        if row is None or not self.objects.touch(digest):
            return None
        return StoredObject(row["hash"], row["size"], row["serializer"], False, value)
