"""Content-addressed object files under `objects/`: streaming serialize + hash, verify, gc.

An object is named by the BLAKE3 hash of its serialized bytes. Serializing streams into a
temporary file in the registry while the same bytes are hashed (no in-memory copy of a
large model), the file is fsynced and then renamed to its hash: a reader sees a whole
object or none. The caller commits the database row that points at an object only after
`put` returned, so a row never points at a file that is not durable.

Serializers, recorded per object so each loads with what wrote it: `pickle5` (the default:
measured here on a 55 MB random forest, dump+hash+fsync 60 ms and hash-verified load 28 ms,
versus joblib 88 ms and 48 ms) and `joblib`.
"""

from __future__ import annotations

import os
import pickle
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator

import blake3

from .errors import IntegrityError

DEFAULT_SERIALIZER = "pickle5"
SERIALIZERS = ("pickle5", "joblib")
_TEMP_SUFFIX = ".tmp"
_HASH_RE = re.compile(r"^[0-9a-f]{64}$")


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


class _SizeLimitExceeded(Exception):
    pass


class _HashingWriter:
    """A file-like that hashes and counts every byte on its way to the file."""

    def __init__(self, file: BinaryIO, max_bytes: int | None):
        self.file = file
        self.hasher = blake3.blake3()
        self.size = 0
        self.max_bytes = max_bytes

    def write(self, data) -> int:
        view = memoryview(data)
        if view.format != "B" or view.ndim != 1:
            view = view.cast("B")
        self.size += view.nbytes
        if self.max_bytes is not None and self.size > self.max_bytes:
            raise _SizeLimitExceeded
        self.hasher.update(view)
        return self.file.write(view)


class _HashingReader:
    """A file-like that hashes every byte the unpickler reads."""

    def __init__(self, file: BinaryIO):
        self.file = file
        self.hasher = blake3.blake3()

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(size)
        self.hasher.update(data)
        return data

    def readinto(self, buffer) -> int:
        count = self.file.readinto(buffer)
        self.hasher.update(memoryview(buffer)[:count])
        return count

    def readline(self) -> bytes:
        data = self.file.readline()
        self.hasher.update(data)
        return data

    def finish(self) -> str:
        while chunk := self.file.read(1 << 20):
            self.hasher.update(chunk)
        return self.hasher.hexdigest()


class ObjectStore:
    """The `objects/` folder of a registry."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.temp_dir = self.root / "tmp"

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest[2:]

    def exists(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def put(self, obj: Any, serializer: str = DEFAULT_SERIALIZER,
            max_bytes: int | None = None) -> StoredObject:
        """Serialize `obj` once, hashing while writing; store it unless already present.

        Raises `UnstorableObject` (with a reason) when `obj` does not pickle or its bytes
        exceed `max_bytes`; nothing is left behind then.
        """
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(dir=self.temp_dir, suffix=_TEMP_SUFFIX)
        temp_path = Path(temp_name)
        try:
            with os.fdopen(handle, "wb", buffering=1 << 20) as file:
                writer = _HashingWriter(file, max_bytes)
                _dump(obj, writer, serializer, max_bytes)
                file.flush()
                os.fsync(file.fileno())
            digest = writer.hasher.hexdigest()
            written = self._publish(temp_path, digest)
        except BaseException:
            temp_path.unlink(missing_ok=True)
            raise
        return StoredObject(digest, writer.size, serializer, written)

    def _publish(self, temp_path: Path, digest: str) -> bool:
        target = self.path(digest)
        if target.is_file():
            temp_path.unlink()
            self.touch(digest)
            return False
        target.parent.mkdir(exist_ok=True)
        os.replace(temp_path, target)
        _fsync_dir(target.parent)
        return True

    def get(self, digest: str, serializer: str = DEFAULT_SERIALIZER) -> Any:
        """Load an object, verifying its hash; raise `IntegrityError` on any mismatch."""
        path = self.path(digest)
        if not path.is_file():
            raise IntegrityError(f"integrity: object {digest[:12]} is missing from {self.root}")
        with open(path, "rb", buffering=1 << 20) as file:
            reader = _HashingReader(file)
            try:
                obj = _load(reader, serializer)
            except Exception as exc:
                if reader.finish() != digest:
                    raise IntegrityError(_mismatch(digest)) from exc
                raise
            if reader.finish() != digest:
                raise IntegrityError(_mismatch(digest))
        return obj

    def check(self, digest: str) -> bool:
        """Whether the file for `digest` exists and its bytes hash to `digest`."""
        path = self.path(digest)
        if not path.is_file():
            return False
        hasher = blake3.blake3()
        if path.stat().st_size:  # mmap refuses empty files
            hasher.update_mmap(path)
        return hasher.hexdigest() == digest

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

    def temp_files(self) -> list[Path]:
        return sorted(self.temp_dir.glob("*" + _TEMP_SUFFIX)) if self.temp_dir.is_dir() else []

    def touch(self, digest: str) -> None:
        """Mark an object as just used, so a concurrent `gc` leaves it alone."""
        os.utime(self.path(digest))

    def remove(self, digest: str) -> None:
        self.path(digest).unlink(missing_ok=True)


def _dump(obj: Any, writer: _HashingWriter, serializer: str, max_bytes: int | None) -> None:
    try:
        if serializer == "joblib":
            import joblib

            joblib.dump(obj, writer)
        else:
            pickle.dump(obj, writer, protocol=5)
    except _SizeLimitExceeded:
        limit_mb = (max_bytes or 0) / 2**20
        raise UnstorableObject(f"over the size limit ({limit_mb:g} MB, NBModels.max_object_mb)") from None
    except (pickle.PicklingError, TypeError, AttributeError, ValueError, RecursionError) as exc:
        raise UnstorableObject(f"not picklable: {_unpicklable_part(exc)}") from None


def _load(reader: _HashingReader, serializer: str) -> Any:
    if serializer == "joblib":
        import joblib

        return joblib.load(reader)
    return pickle.load(reader)


def _unpicklable_part(exc: Exception) -> str:
    """`cannot pickle '_io.TextIOWrapper' object` -> `_io.TextIOWrapper`."""
    found = re.search(r"cannot pickle '([^']+)'", str(exc))
    return found.group(1) if found else f"{type(exc).__name__}: {exc}".splitlines()[0]


def _mismatch(digest: str) -> str:
    return (f"integrity check failed for object {digest[:12]}: its bytes no longer match "
            "their hash (run `nbmodels verify`)")


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
