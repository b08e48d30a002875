"""Reading and writing keys on a remote: a folder (`file:///path`, no extra needed) or
object storage through obstore (`s3://`, `gs://`, `az://`; `pip install nbmodels[remote]`).

Why obstore (measured against moto's S3 server on this machine, see README "Team
registries"): both it and s3fs refuse a second "create only" put (`If-None-Match: *`), but
obstore got a 60 MB object back in 0.13 s where s3fs took 0.37 s, put it in 0.5 s where
s3fs took 0.57 s, and imports in 40 ms (s3fs: 540 ms); it is one compiled wheel with no
dependencies and speaks S3, GCS and Azure with one API.

Credentials and endpoints come from each store's standard environment (`AWS_ACCESS_KEY_ID`,
`AWS_ENDPOINT_URL`, `GOOGLE_APPLICATION_CREDENTIALS`, `AZURE_STORAGE_ACCOUNT_NAME`, ...);
for S3 without keys in the environment, boto3's chain (profiles, `~/.aws/credentials`, SSO)
when boto3 is installed. Nothing of them is stored: a remote is only its URL.

Every transport counts its requests, uploads and downloads (for `nbmodels push`'s report,
the tests and the benchmark).
"""

from __future__ import annotations

import os
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from ..errors import InvalidInputError, NbModelsError

SCHEMES = ("s3", "gs", "az", "file")
WORKERS = 16  # requests in flight: many small objects upload concurrently
_CHUNK = 8 * 2**20
T = TypeVar("T")
R = TypeVar("R")


class RemoteError(NbModelsError):
    """A remote that cannot be reached, read or written (one line, never a credential)."""


class Missing(Exception):
    """The key is not on the remote."""


def normalize_url(url: str) -> str:
    """A remote URL as it is stored: a plain folder path becomes `file:///abs/path`; no
    trailing slash. Raises `InvalidInputError` for another scheme, or for a URL that could
    hold a secret (user info, a query string): credentials are never stored."""
    text = str(url).strip()
    if not text or "\n" in text or "\x00" in text:
        raise InvalidInputError(f"bad remote URL {url!r}")
    if "://" not in text:
        return Path(text).expanduser().resolve().as_uri()
    parts = urlsplit(text)
    if parts.scheme not in SCHEMES:
        raise InvalidInputError(f"bad remote URL {text!r}: use s3://BUCKET/PREFIX, gs://..., "
                                "az://..., file:///PATH or a folder path")
    if parts.query or parts.fragment or "@" in parts.netloc or parts.password:
        raise InvalidInputError(f"remote URL {parts.scheme}://{parts.hostname}/... holds user "
                                "info or a query string: credentials come from the store's "
                                "own environment and config files, never from the URL")
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise InvalidInputError(f"bad file URL {text!r}: use file:///ABSOLUTE/PATH")
        return "file://" + parts.path.rstrip("/") if parts.path != "/" else "file:///"
    if not parts.netloc:
        raise InvalidInputError(f"bad remote URL {text!r}: no bucket")
    return text.rstrip("/")


def open_transport(url: str) -> Transport:
    """The transport for a (normalized) remote URL."""
    scheme = urlsplit(url).scheme
    if scheme == "file":
        return FileTransport(url)
    return ObstoreTransport(url)


def parallel(fn: Callable[[T], R], items: Iterable[T], workers: int = WORKERS) -> list[R]:
    """`[fn(item) ...]` with up to `workers` at once (I/O bound: obstore and file writes
    release the GIL); the first error is raised once all have finished."""
    items = list(items)
    if len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(min(workers, len(items)), thread_name_prefix="nbmodels-remote") as pool:
        return list(pool.map(fn, items))


def counted(fn: Callable[[T], R], progress: Callable[[int, int], None] | None,
            total: int) -> Callable[[T], R]:
    """`fn`, telling `progress(done, total)` after each call (from any thread)."""
    if progress is None:
        return fn
    lock, done = threading.Lock(), [0]

    def call(item: T) -> R:
        result = fn(item)
        with lock:
            done[0] += 1
            progress(done[0], total)
        return result

    return call


class Transport:
    """Keys on a remote. `put(..., create=True)` returns False instead of overwriting."""

    def __init__(self, url: str):
        self.url = url
        self.requests = 0
        self.uploads = 0
        self.uploaded_bytes = 0
        self.downloaded_bytes = 0
        self._lock = threading.Lock()

    def _count(self, requests: int = 1, uploaded: int | None = None, downloaded: int = 0) -> None:
        with self._lock:
            self.requests += requests
            if uploaded is not None:
                self.uploads += 1
                self.uploaded_bytes += uploaded
            self.downloaded_bytes += downloaded

    def get(self, key: str) -> bytes:
        raise NotImplementedError

    def get_into(self, key: str, write: Callable[[memoryview], None]) -> None:
        """Stream the bytes of `key` into `write`, chunk by chunk."""
        raise NotImplementedError

    def head(self, key: str) -> int | None:
        """The size of `key`, or None when it is not there."""
        raise NotImplementedError

    def put(self, key: str, data: bytes, create: bool = False) -> bool:
        raise NotImplementedError

    def list(self, prefix: str) -> list[str]:
        raise NotImplementedError

    def fail(self, exc: BaseException) -> RemoteError:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return RemoteError(f"remote {self.url}: {first[:300]}")


class FileTransport(Transport):
    """A remote in a folder (a mounted share): whole files written under a temporary name,
    then linked to their key, which fails if the key exists (create only) or renamed over
    it; a reader never sees half a file."""

    def __init__(self, url: str):
        super().__init__(url)
        self.root = Path(urlsplit(url).path)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*key.split("/"))

    def get(self, key: str) -> bytes:
        self._count()
        try:
            data = self._path(key).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            raise Missing(key) from None
        except OSError as exc:
            raise self.fail(exc) from None
        self._count(0, downloaded=len(data))
        return data

    def get_into(self, key: str, write: Callable[[memoryview], None]) -> None:
        self._count()
        buffer = bytearray(_CHUNK)
        view = memoryview(buffer)
        try:
            with open(self._path(key), "rb", buffering=0) as file:
                while count := file.readinto(buffer):
                    write(view[:count])
                    self._count(0, downloaded=count)
        except (FileNotFoundError, NotADirectoryError):
            raise Missing(key) from None

    def head(self, key: str) -> int | None:
        self._count()
        try:
            return self._path(key).stat().st_size
        except (FileNotFoundError, NotADirectoryError):
            return None

    def put(self, key: str, data: bytes, create: bool = False) -> bool:
        target = self._path(key)
        self._count(uploaded=len(data))
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            temp = target.with_name(f".tmp-{uuid.uuid4().hex}")
            with open(temp, "xb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            try:
                if not create:
                    os.replace(temp, target)
                    return True
                os.link(temp, target)  # atomic, and refuses an existing key
                return True
            except FileExistsError:
                return False
            finally:
                temp.unlink(missing_ok=True)
        except OSError as exc:
            raise self.fail(exc) from None

    def list(self, prefix: str) -> list[str]:
        self._count()
        base = self._path(prefix.rstrip("/")) if prefix else self.root
        found = []
        for folder, _dirs, files in os.walk(base):
            relative = Path(folder).relative_to(self.root).as_posix()
            found += [f"{relative}/{f}" if relative != "." else f
                      for f in files if not f.startswith(".tmp-")]
        return sorted(found)


class ObstoreTransport(Transport):
    """S3 (and S3-compatible stores), GCS and Azure through obstore."""

    def __init__(self, url: str):
        super().__init__(url)
        try:
            import obstore
            from obstore.store import from_url
        except ImportError:
            raise RemoteError(f"{urlsplit(url).scheme}:// remotes need obstore: "
                              "pip install 'nbmodels[remote]'") from None
        self._obstore = obstore
        from obstore import exceptions

        self._exceptions = exceptions
        try:
            self.store = from_url(url, **_store_options(url))
        except Exception as exc:  # noqa: BLE001  a bad URL or configuration: one line
            raise self.fail(exc) from None

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(self.store, *args, **kwargs)
        except FileNotFoundError:  # obstore's NotFoundError
            raise Missing(args[0] if args else "") from None
        except (self._exceptions.AlreadyExistsError, self._exceptions.PreconditionError):
            raise
        except Exception as exc:  # noqa: BLE001  network, permissions: one line
            raise self.fail(exc) from None

    def get(self, key: str) -> bytes:
        self._count()
        data = bytes(self._call(self._obstore.get, key).bytes())
        self._count(0, downloaded=len(data))
        return data

    def get_into(self, key: str, write: Callable[[memoryview], None]) -> None:
        self._count()
        result = self._call(self._obstore.get, key)
        try:
            for chunk in result.stream(min_chunk_size=_CHUNK):
                view = memoryview(chunk)
                write(view)
                self._count(0, downloaded=view.nbytes)
        except Exception as exc:  # noqa: BLE001  the connection broke mid-way
            raise self.fail(exc) from None

    def head(self, key: str) -> int | None:
        self._count()
        try:
            return self._call(self._obstore.head, key)["size"]
        except Missing:
            return None

    def put(self, key: str, data: bytes, create: bool = False) -> bool:
        self._count(uploaded=len(data))
        # a conditional put is one request (no multipart); an object is content-addressed,
        # so a plain put of it can only write the same bytes again
        try:
            self._call(self._obstore.put, key, data, mode="create" if create else "overwrite",
                       use_multipart=False)
            return True
        except (self._exceptions.AlreadyExistsError, self._exceptions.PreconditionError):
            return False

    def list(self, prefix: str) -> list[str]:
        found = []
        pages = 0
        try:
            for batch in self._obstore.list(self.store, prefix.rstrip("/") or None,
                                            chunk_size=1000):
                pages += 1
                found += [meta["path"] for meta in batch]
        except FileNotFoundError:
            pass
        except Exception as exc:  # noqa: BLE001
            raise self.fail(exc) from None
        finally:
            self._count(max(pages, 1))
        return sorted(found)


def _store_options(url: str) -> dict:
    """obstore options from the standard environment: plain HTTP allowed when the S3
    endpoint is (a local MinIO or moto); boto3's credential chain when no keys are set."""
    options: dict = {}
    if urlsplit(url).scheme != "s3":
        return options
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        options["endpoint"] = endpoint
        if endpoint.startswith("http://"):
            options["client_options"] = {"allow_http": True}
    if not os.environ.get("AWS_ACCESS_KEY_ID"):
        try:
            from obstore.auth.boto3 import Boto3CredentialProvider

            options["credential_provider"] = Boto3CredentialProvider()
        except Exception:  # noqa: BLE001  no boto3: obstore's own chain (env, instance roles)
            return options
    return options


def scratch_file(folder: Path) -> tuple[int, str]:
    """A new temporary file in `folder` (made if needed): `(fd, name)`."""
    folder.mkdir(parents=True, exist_ok=True)
    return tempfile.mkstemp(dir=folder, suffix=".tmp")
