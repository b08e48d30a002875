"""Content-addressed object files under `objects/`: serialize + hash, verify, store, remove.

An object is named by the BLAKE3 hash of its serialized bytes. Serializing streams into a
temporary file in the registry while exactly the bytes written are hashed (see `writer`),
the file is fsynced and then renamed to its hash: a reader sees a whole object or none.
The caller commits the database rows that point at an object only after `put` returned
(or the Future of `put_later` is done), and checks inside that committing transaction that
the file is still there (`present`): `gc` decides and removes under the same write lock, so
a committed row's file is never removed.

Storing bytes that are already stored (a re-run that fits the same model): a small object's
file is kept when it is intact, without an fsync; a damaged one (another size, or bytes that
no longer hash to its name) is replaced. A large object's file is replaced by the bytes just
written, which are on their way to the disk already (`writer.start_writeback`): finishing
their fsync costs less than reading the old file back to check it, since its pages left the
page cache (`writer.drop_cached`). A 61 MiB model stored again: 188 ms checking the old
file, 86-90 ms replacing it.

Loading reads the whole file, hashes it on every core and only then deserializes it: a
tampered object is refused before a single byte of it is unpickled. An object name read
from `registry.db` is checked to be a hash before it becomes a path.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import blake3

from .. import formats
from ..errors import IntegrityError
from .writer import (HashingWriter, SerializerTimeout, SizeLimitExceeded, drop_cached,
                     dump_bounded, size_hint, streamed)

DEFAULT_SERIALIZER = formats.DEFAULT
SERIALIZERS = formats.FORMATS
DEFAULT_TIMEOUT_S = 30.0
_TEMP_SUFFIX = ".tmp"
_HASH_RE = re.compile(r"^[0-9a-f]{64}$")

__all__ = ["ObjectStore", "StoredObject", "UnstorableObject", "DEFAULT_SERIALIZER",
           "SERIALIZERS", "DEFAULT_TIMEOUT_S", "valid_hash"]


class UnstorableObject(Exception):
    """A value that cannot be stored; `reason` is the one line shown to the user."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class StoredObject:
    hash: str
    size: int
    serializer: str
    written: bool  # False when the same bytes were already stored
    # the value these bytes came from, kept until its rows commit: if `gc` removed the
    # file meanwhile, the committing writer stores it again
    value: Any = field(default=None, repr=False, compare=False)


def valid_hash(digest: Any) -> bool:
    """Whether `digest` is an object name: 64 lowercase hex characters."""
    return isinstance(digest, str) and _HASH_RE.match(digest) is not None


class ObjectStore:
    """The `objects/` folder of a registry."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.temp_dir = self.root / "tmp"

    def path(self, digest: str) -> Path:
        """The file of object `digest`. Raises `IntegrityError` for a name that is not a
        hash (a damaged or hostile `registry.db`): it is never followed as a path."""
        if not valid_hash(digest):
            shown = repr(digest)[:80]
            raise IntegrityError(f"registry.db names object {shown}, which is not a 64-character "
                                 "hex hash: the database is damaged (run `nbmodels verify`)")
        return self.root / digest[:2] / digest[2:]

    def exists(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def file_mode(self) -> int:
        """The permissions for new object files: those of `registry.db` beside the folder
        (so whoever may read the database may load its objects), else what the umask gave
        the `objects/` folder, without execute bits."""
        database = self.root.parent / "registry.db"
        source = database if database.exists() else self.root
        return source.stat().st_mode & 0o666

    def present(self, stored: StoredObject) -> bool:
        """Whether the file of `stored` is there with its size (a cheap check, done by a
        writer inside the transaction that commits rows pointing at it)."""
        try:
            return os.stat(self.path(stored.hash)).st_size == stored.size
        except FileNotFoundError:
            return False

    def put(self, obj: Any, serializer: str = DEFAULT_SERIALIZER, max_bytes: int | None = None,
            timeout_s: float | None = DEFAULT_TIMEOUT_S, progress=None,
            on_written: Callable[[], Any] | None = None) -> StoredObject:
        """Serialize `obj` once, hashing exactly the bytes written; store them unless they
        are already stored intact.

        Raises `UnstorableObject` (with a reason) when `obj` does not serialize, is over
        `max_bytes` (checked on what arrays report before anything is copied, then while
        streaming) or takes longer than `timeout_s` seconds to serialize; nothing is left
        behind then. `progress(bytes written, bytes expected)` is told as it streams;
        `on_written()` is called once every byte is written, before the wait for the disk
        (fsync), which leaves the interpreter free for other work.
        """
        return self._publish_written(*self._write(obj, serializer, max_bytes, timeout_s,
                                                  progress, on_written))

    def put_later(self, obj: Any, serializer: str = DEFAULT_SERIALIZER,
                  max_bytes: int | None = None, timeout_s: float | None = DEFAULT_TIMEOUT_S,
                  progress=None, on_written: Callable[[], Any] | None = None
                  ) -> tuple[StoredObject, Future]:
        """`put`, returning once the bytes are written and hashed: the wait for the disk
        (fsync, the rename into place) goes on in a background thread meanwhile. Returns
        the object as it will be stored, and a Future of what `put` returns: rows that
        point at it are committed only once that Future is done (see the module doc).
        Raises as `put` does for a value that cannot be serialized."""
        handle, temp_name, stored = self._write(obj, serializer, max_bytes, timeout_s,
                                                progress, on_written)
        return stored, _publisher().submit(self._publish_written, handle, temp_name, stored)

    def _write(self, obj: Any, serializer: str, max_bytes: int | None,
               timeout_s: float | None, progress, on_written) -> tuple[int, str, StoredObject]:
        """Serialize `obj` into a temp file: its open handle, its name and what it holds.
        The temp file is gone again when this raises."""
        if max_bytes is not None and size_hint(obj) > max_bytes:
            raise UnstorableObject(_over_limit(max_bytes))
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(dir=self.temp_dir, suffix=_TEMP_SUFFIX)
        writer = HashingWriter(handle, max_bytes, progress,
                               size_hint(obj) if progress is not None else None)
        try:
            os.fchmod(handle, self.file_mode())  # mkstemp makes 0600: readable by us alone
            recorded = _serialize(obj, writer, serializer, timeout_s, temp_name)
            stored = StoredObject(writer.digest(), writer.size, recorded, False, obj)
            if on_written is not None:
                on_written()
        except BaseException:
            if not writer.abandoned:  # an abandoned serializer closes its own file
                _close_quietly(handle)
                Path(temp_name).unlink(missing_ok=True)
            raise
        return handle, temp_name, stored

    def _publish_written(self, handle: int, temp_name: str, stored: StoredObject
                         ) -> StoredObject:
        try:
            return self._publish(handle, Path(temp_name), stored)
        finally:
            _close_quietly(handle)
            Path(temp_name).unlink(missing_ok=True)

    def _publish(self, handle: int, temp_path: Path, stored: StoredObject) -> StoredObject:
        target = self.path(stored.hash)
        if not streamed(stored.size) and self._intact(target, stored) \
                and self.touch(stored.hash):
            return stored  # the caller's `finally` removes the temp file
        make_durable(handle, temp_path, target, stored.size)
        return StoredObject(stored.hash, stored.size, stored.serializer, True, stored.value)

    def _intact(self, target: Path, stored: StoredObject) -> bool:
        """Whether an existing file already holds these bytes (same size and hash)."""
        try:
            if os.stat(target).st_size != stored.size:
                return False
            return _hash_file(target) == stored.hash
        except FileNotFoundError:
            return False

    def read_verified(self, digest: str, progress=None) -> bytes:
        """The bytes of object `digest` (a private copy: nothing can change them after the
        check), returned only once they hash to `digest`, on every core. `progress(bytes
        read, size)` is told as it reads."""
        try:
            data = self.path(digest).read_bytes() if progress is None else \
                _read_reporting(self.path(digest), progress)
        except FileNotFoundError:
            raise IntegrityError(f"integrity: object {digest[:12]} is missing from "
                                 f"{self.root}") from None
        if blake3.blake3(data, max_threads=blake3.blake3.AUTO).hexdigest() != digest:
            raise IntegrityError(_mismatch(digest))
        return data

    def get(self, digest: str, serializer: str = DEFAULT_SERIALIZER, allow_pickle: bool = True,
            trusted: Iterable[str] = (), progress=None) -> Any:
        """Load an object: its bytes are read and hash-checked first, then deserialized.
        Raises `IntegrityError` on any mismatch (nothing of them deserialized then), and
        `formats.UntrustedContent` for a pickle when `allow_pickle` is False (before
        reading it) or for skops types not trusted."""
        if formats.is_pickle(serializer) and not allow_pickle:
            raise formats.UntrustedContent(f"it is a pickle ({serializer}), which runs code "
                                           "when loaded")
        return formats.load(self.read_verified(digest, progress), serializer, allow_pickle,
                            trusted)

    def check(self, digest: str) -> bool:
        """Whether the file for `digest` exists and its bytes hash to `digest`."""
        try:
            return _hash_file(self.path(digest)) == digest
        except (FileNotFoundError, IsADirectoryError):
            return False

    def hashes(self) -> Iterator[str]:
        """Every object file's hash, by listing the folder."""
        if not self.root.is_dir():
            return
        for sub in self.root.iterdir():
            if sub.is_dir() and len(sub.name) == 2 and sub != self.temp_dir:
                for file in sub.iterdir():
                    digest = sub.name + file.name
                    if _HASH_RE.match(digest):
                        yield digest

    def stat(self, digest: str) -> os.stat_result | None:
        try:
            return os.stat(self.path(digest))
        except FileNotFoundError:
            return None

    def temp_files(self) -> list[Path]:
        return sorted(self.temp_dir.glob("*" + _TEMP_SUFFIX)) if self.temp_dir.is_dir() else []

    def touch(self, digest: str) -> bool:
        """Mark an object as just used, so a `gc` deciding now leaves it alone; False when
        its file is gone."""
        try:
            os.utime(self.path(digest))
            return True
        except FileNotFoundError:
            return False

    def remove(self, digest: str) -> bool:
        """Unlink an object's file; False when it was already gone."""
        try:
            self.path(digest).unlink()
            return True
        except FileNotFoundError:
            return False


def _serialize(obj: Any, writer: HashingWriter, serializer: str, timeout_s: float | None,
               temp_name: str) -> str:
    """Serialize `obj` into `writer`; return the serializer name to record. Whatever the
    value's own serialization raises (or a timeout, or the size limit) becomes
    `UnstorableObject`; a failure to write the file is raised as it is."""
    recorded: list[str] = []
    try:
        dump_bounded(lambda: recorded.append(formats.dump(obj, writer, serializer)),
                     writer, timeout_s, temp_name)
        writer.close()
    except BaseException as exc:
        if not writer.abandoned:
            writer.abort()
        if isinstance(exc, SerializerTimeout):
            raise UnstorableObject(f"serializing took longer than {timeout_s:g} s "
                                   "(NBModels.capture_timeout_s): not stored") from None
        if isinstance(exc, SizeLimitExceeded):
            raise UnstorableObject(_over_limit(writer.max_bytes)) from None
        if writer.error is not None and exc is writer.error:
            raise  # the disk failed, not the value
        if isinstance(exc, Exception):
            raise UnstorableObject(f"not serializable: {_unpicklable_part(exc)}") from None
        raise
    return recorded[0]


_HASH_BLOCK = 8 * 2**20  # large enough for BLAKE3's threads, small beside any object worth it


def _read_reporting(path: Path, progress) -> bytearray:
    """A file's bytes read by blocks into one buffer, `progress(read, size)` after each."""
    with open(path, "rb", buffering=0) as handle:
        size = os.fstat(handle.fileno()).st_size
        data = bytearray(size)
        view, done = memoryview(data), 0
        while done < size:
            count = handle.readinto(view[done:done + _HASH_BLOCK])
            if not count:
                del data[done:]  # shrank while read: the hash check refuses it
                break
            done += count
            progress(done, size)
        return data


def _hash_file(path: Path) -> str:
    """The BLAKE3 hash of a file read by blocks into one buffer: a mapping of the whole
    file would add its size to the kernel's resident memory while it is checked."""
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    buffer = bytearray(min(_HASH_BLOCK, max(1, os.stat(path).st_size)))
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as file:
        while count := file.readinto(buffer):
            hasher.update(view[:count])
    return hasher.hexdigest()


def _over_limit(max_bytes: int | None) -> str:
    return f"over the size limit ({(max_bytes or 0) / 2**20:g} MB, NBModels.max_object_mb)"


def _unpicklable_part(exc: BaseException) -> str:
    """`cannot pickle '_io.TextIOWrapper' object` -> `_io.TextIOWrapper`."""
    found = re.search(r"cannot pickle '([^']+)'", str(exc))
    if found:
        return found.group(1)
    text = f"{type(exc).__name__}: {exc}".splitlines()
    return text[0][:200] if text else type(exc).__name__


def _mismatch(digest: str) -> str:
    return (f"integrity check failed for object {digest[:12]}: its bytes no longer match "
            "their hash (run `nbmodels verify`); nothing of it was loaded")


@functools.cache
def _publisher() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="nbmodels-publish")


def _close_quietly(handle: int) -> None:
    try:
        os.close(handle)
    except OSError:
        pass


def make_durable(handle: int, temp_path: str | Path, target: Path, size: int) -> None:
    """fsync the temp file open as `handle`, rename it to `target` and fsync the folder:
    from then on the object survives a crash. Then its pages may leave the page cache
    (`writer.drop_cached`)."""
    os.fsync(handle)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(temp_path, target)
    _fsync_dir(target.parent)
    drop_cached(handle, size)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

