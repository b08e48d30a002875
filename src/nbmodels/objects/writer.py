"""Serializing one value into a temp file while hashing exactly the bytes written.

The serializer (pickle, joblib, a safe format) writes into `HashingWriter`, which copies
every byte into one of a few fixed buffers; a worker thread writes each full buffer to the
file and hashes that same buffer (`os.write` and BLAKE3 release the GIL, so on two cores
this costs about the serialization time). The worker also asks the kernel to start writing
each buffer to the disk at once (`start_writeback`), so the disk works while the rest is
serialized and the closing fsync waits for the last buffers only, not for the whole file.
Copying first is what makes the hash true: a
thread of the user's that mutates an array while it is saved changes the user's array, not
the buffer that is both written and hashed, so an object's file always matches its name.

`dump_bounded` runs the serializer in a thread of its own and gives up after a timeout: a
value whose `__reduce__` never returns costs `NBModels.capture_timeout_s`, not the kernel.
Python cannot stop a thread, so an abandoned serializer keeps running until it returns (or
the kernel exits); its temp file is unlinked at once and its file descriptor is closed by
that thread when it finishes, and every write it still attempts raises.
"""

from __future__ import annotations

import functools
import os
import queue
import sys
import threading
from typing import Any, Callable

import blake3

PIECE = 1 << 20  # bytes per buffer handed to the worker
IN_FLIGHT = 8  # buffers at most: bounds the extra memory of a save to IN_FLIGHT * PIECE


class SizeLimitExceeded(Exception):
    pass


class Abandoned(Exception):
    """Raised in an abandoned serializer thread at its next write."""


class SerializerTimeout(Exception):
    """The serializer did not finish in time; its thread was abandoned."""


class HashingWriter:
    """A file-like that writes every byte to `fd` and hashes it, counting them.

    Call `close()` once the serializer is done (it re-raises an error of the worker) or
    `abort()` after a failure. A value smaller than one buffer is written and hashed inline,
    with no thread.
    """

    def __init__(self, fd: int, max_bytes: int | None, progress=None, expected: int | None = None):
        self.fd = fd
        self.progress, self.expected = progress, expected  # progress(written, expected)
        self.hasher = blake3.blake3()
        self.size = 0
        self._written = 0  # bytes in the file so far
        self.max_bytes = max_bytes
        self.abandoned = False
        self._buffer: bytearray | None = None
        self._fill = 0
        self._allocated = 0
        self._free: queue.SimpleQueue = queue.SimpleQueue()
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def write(self, data) -> int:
        if self.abandoned:
            raise Abandoned
        view = memoryview(data)
        if view.format != "B" or view.ndim != 1 or not view.c_contiguous:
            # raw memory order, as the pickler means it for an F-contiguous buffer
            view = view.cast("B") if view.c_contiguous else memoryview(view.tobytes("A"))
        count = view.nbytes
        self.size += count
        if self.max_bytes is not None and self.size > self.max_bytes:
            raise SizeLimitExceeded
        if self.progress is not None:
            self.progress(self.size, max(self.size, self.expected or 0))
        while view.nbytes:
            if self._buffer is None:
                self._buffer, self._fill = self._take_buffer(), 0
            take = min(PIECE - self._fill, view.nbytes)
            self._buffer[self._fill:self._fill + take] = view[:take]
            self._fill += take
            view = view[take:]
            if self._fill == PIECE:
                self._send()
        return count

    @property
    def error(self) -> BaseException | None:
        """The worker's failure to write or hash, if any."""
        return self._error

    def tell(self) -> int:  # joblib aligns numpy buffers on the stream position
        return self.size

    def digest(self) -> str:
        return self.hasher.hexdigest()

    def _take_buffer(self) -> bytearray:
        try:
            return self._free.get_nowait()
        except queue.Empty:
            if self._allocated < IN_FLIGHT + 1:
                self._allocated += 1
                return bytearray(PIECE)
            return self._free.get()  # every buffer is in flight: wait for the worker

    def _send(self) -> None:
        if self._error is not None:
            raise self._error
        if self._queue is None:
            self._queue = queue.Queue()
            self._thread = threading.Thread(target=self._drain, name="nbmodels-writer",
                                            daemon=True)
            self._thread.start()
        self._queue.put((self._buffer, self._fill))
        self._buffer = None

    def _drain(self) -> None:
        while (item := self._queue.get()) is not None:
            buffer, fill = item
            if self._error is None:
                try:
                    self._write_and_hash(memoryview(buffer)[:fill])
                    start_writeback(self.fd, self._written - fill, fill)
                except BaseException as exc:  # re-raised in the serializer's thread
                    self._error = exc
            self._free.put(buffer)

    def _write_and_hash(self, view: memoryview) -> None:
        written = view
        while written.nbytes:
            written = written[os.write(self.fd, written):]
        self._written += view.nbytes
        self.hasher.update(view)

    def close(self) -> None:
        """Write and hash what is left and stop the worker; raise its error if it had one."""
        if self._thread is None:
            if self._buffer is not None:
                self._write_and_hash(memoryview(self._buffer)[:self._fill])
        else:
            if self._buffer is not None and self._fill:
                self._send()
            self._stop()
        self._buffer = None
        if self._error is not None:
            raise self._error

    def abort(self) -> None:
        """Stop the worker without raising (the caller is already handling an error)."""
        self._error = self._error or SizeLimitExceeded()
        self._stop()

    def _stop(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()


def streamed(size: int) -> bool:
    """Whether a value of `size` bytes went through the writer thread (one full buffer or
    more), so its bytes were hinted to the disk as they were written (`start_writeback`)."""
    return size >= PIECE


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask Linux to start writing these bytes of `fd` to the disk now, without waiting
    (`sync_file_range(SYNC_FILE_RANGE_WRITE)`). Only a head start for the fsync that
    follows, which is still what makes the file durable: where the call is missing or
    fails, nothing changes but the speed."""
    call = _sync_file_range()
    if call is not None:
        call(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


_SYNC_FILE_RANGE_WRITE = 2


def drop_cached(fd: int, size: int) -> None:
    """Let the kernel drop the cached pages of a file that is fsynced (clean), when it is
    large enough to have gone through the writer thread.

    An object file is written once and read, if ever, by a later restore: the value is
    still in the kernel's memory. Cached, its pages would grow the page cache by the size
    of every model saved; on a virtual machine that hands free memory back to its host
    (virtio-balloon free page reporting, as on the machine of `bench/`), each page the
    cache newly takes costs a fault in the host, and writing new files fell from 3.9 GB/s
    to 210 MB/s once ~200 MB had been written. Dropped, the next save writes into pages
    already in use. Advice only: where it is missing or refused nothing else changes."""
    if streamed(size) and hasattr(os, "posix_fadvise"):
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        except OSError:
            pass


@functools.cache
def _sync_file_range():
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # only once a value is large enough to need the writer thread

    try:
        call = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):  # another libc
        return None
    call.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    call.restype = ctypes.c_int
    return call


def dump_bounded(dump: Callable[[], None], writer: HashingWriter, timeout_s: float | None,
                 temp_path: str) -> None:
    """Run `dump()` (which writes into `writer`), giving up after `timeout_s` seconds.

    On time out `SerializerTimeout` is raised, `temp_path` is unlinked and the thread is left to
    finish on its own: it then stops its writer and closes `writer.fd`. Otherwise the
    caller owns the file descriptor as usual. `timeout_s=None` dumps in the calling thread.
    """
    if timeout_s is None:
        dump()
        return
    state = {"done": False, "error": None}
    lock = threading.Lock()
    finished = threading.Event()

    def run() -> None:
        try:
            dump()
        except BaseException as exc:  # handed to the waiting caller
            state["error"] = exc
        finally:
            with lock:
                state["done"] = True
                abandoned = writer.abandoned
            if abandoned:
                writer.abort()
                os.close(writer.fd)

    _SerializerThread.run_soon(run, finished.set)
    try:
        finished.wait(timeout_s)
    finally:  # also on KeyboardInterrupt while waiting
        with lock:
            if not state["done"]:
                writer.abandoned = True
        if writer.abandoned:
            try:
                os.unlink(temp_path)
            except FileNotFoundError:
                pass
    if writer.abandoned:
        raise SerializerTimeout
    if state["error"] is not None:
        raise state["error"]


def size_hint(obj: Any, depth: int = 2) -> int:
    """A cheap lower bound of `obj`'s serialized size, from what arrays and frames report
    (`nbytes`), without copying anything: a memmap or a non-contiguous array would be copied
    whole by pickle before a size limit applied while streaming."""
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(obj, numpy.ndarray):
        return int(obj.nbytes)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(obj, torch.Tensor):
        return int(obj.nelement() * obj.element_size())
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(obj, (pandas.DataFrame, pandas.Series)):
        try:
            usage = obj.memory_usage(index=False, deep=False)
            return int(usage.sum() if hasattr(usage, "sum") else usage)
        except Exception:  # an exotic extension dtype: no hint, the stream limit applies
            return 0
    if depth and isinstance(obj, (list, tuple, dict)) and len(obj) <= 10_000:
        items = obj.values() if isinstance(obj, dict) else obj
        return sum(size_hint(item, depth - 1) for item in items)
    return 0


class _SerializerThread:
    """A daemon thread that runs serializers one after another, kept idle between saves:
    starting a thread costs about a millisecond here, as much as saving a small model. A
    thread stuck in an abandoned serializer is not idle, so it is never handed another;
    daemon, so that it never holds up the kernel's exit."""

    _idle: list[_SerializerThread] = []
    _lock = threading.Lock()

    def __init__(self) -> None:
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="nbmodels-serializer", daemon=True).start()

    @classmethod
    def run_soon(cls, task: Callable[[], None], then: Callable[[], None]) -> None:
        """Run `task` in an idle serializer thread (a new one when none is idle), then
        `then()` once that thread is idle again (so the next save finds it idle)."""
        with cls._lock:
            worker = cls._idle.pop() if cls._idle else None
        (worker or cls())._tasks.put((task, then))

    def _serve(self) -> None:
        while True:
            task, then = self._tasks.get()
            task()  # it reports its own errors (see `dump_bounded`)
            with self._lock:
                self._idle.append(self)
            then()
