"""Object files: names are the hash of exactly the bytes written, damage is refused before a
byte is deserialized, damaged files heal when stored again, a bad value fails alone."""

from __future__ import annotations

import os
import pickle
import sys
import threading
import tracemalloc

import blake3
import numpy as np
import pytest

from nbmodels import IntegrityError
import nbmodels.objects as objects_module
from nbmodels.objects import ObjectStore, UnstorableObject, writer as writer_module


@pytest.fixture
def store(tmp_path):
    return ObjectStore(tmp_path / "objects")


def _big():  # several writer buffers
    return {"weights": np.arange(1_500_000, dtype=np.float64), "meta": list(range(50_000))}


def test_large_object_round_trips_and_is_named_by_its_bytes(store):
    obj = _big()
    stored = store.put(obj)
    data = store.path(stored.hash).read_bytes()
    assert len(data) == stored.size > 4 * writer_module.PIECE
    assert blake3.blake3(data).hexdigest() == stored.hash
    loaded = store.get(stored.hash)
    np.testing.assert_array_equal(loaded["weights"], obj["weights"])
    assert loaded["meta"] == obj["meta"]
    assert store.temp_files() == []


def test_storing_the_same_small_bytes_again_keeps_the_file_without_writing(store):
    first = store.put({"small": 1})
    inode = os.stat(store.path(first.hash)).st_ino
    again = store.put({"small": 1})
    assert (again.hash, again.written, first.written) == (first.hash, False, True)
    assert os.stat(store.path(first.hash)).st_ino == inode
    assert store.temp_files() == [] and list(store.hashes()) == [first.hash]


def test_storing_the_same_large_bytes_again_replaces_the_file_without_reading_it(
        store, monkeypatch):
    first = store.put(_big())
    monkeypatch.setattr(objects_module, "_hash_file", lambda path: pytest.fail("read back"))
    again = store.put(_big())
    assert (again.hash, again.size) == (first.hash, first.size) and again.written
    data = store.path(first.hash).read_bytes()
    assert blake3.blake3(data).hexdigest() == first.hash
    assert store.temp_files() == [] and list(store.hashes()) == [first.hash]
    np.testing.assert_array_equal(store.get(first.hash)["weights"], _big()["weights"])


@pytest.mark.parametrize("make", [_big, lambda: {"small": 1}], ids=["large", "small"])
def test_a_flipped_byte_is_refused_on_load(store, make):
    stored = store.put(make())
    path = store.path(stored.hash)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="integrity"):
        store.get(stored.hash)


def test_truncated_large_object_is_refused(store):
    stored = store.put(_big())
    path = store.path(stored.hash)
    path.write_bytes(path.read_bytes()[: stored.size // 2])
    with pytest.raises(IntegrityError):
        store.get(stored.hash)


def test_over_the_limit_mid_stream_leaves_nothing_behind(store):
    with pytest.raises(UnstorableObject, match="size limit"):
        store.put({"meta": list(range(1_000_000))}, max_bytes=3 * writer_module.PIECE)
    assert store.temp_files() == [] and list(store.hashes()) == []


def test_joblib_objects_still_load_verified(store):
    stored = store.put(_big(), serializer="joblib")
    assert store.get(stored.hash, "joblib")["meta"][-1] == 49_999


# ---- corrupt at birth (issue 9, item 3) -------------------------------------------------------

def test_an_array_mutated_while_it_is_saved_gives_a_file_that_matches_its_name(store):
    weights = np.zeros(4_000_000)  # 32 MB: many buffers, so the save takes a while
    stop = threading.Event()

    def mutate():
        value = 0.0
        while not stop.is_set():
            value += 1
            weights[::4096] = value  # touches every page, releasing the GIL often

    thread = threading.Thread(target=mutate)
    thread.start()
    try:
        stored = [store.put(weights) for _ in range(5)]
    finally:
        stop.set()
        thread.join()
    for item in stored:
        assert store.check(item.hash), "the file does not hash to its name"


# ---- healing (item 4) -------------------------------------------------------------------------

@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_storing_bytes_whose_file_is_damaged_replaces_the_file(store, damage):
    first = store.put(_big())
    path = store.path(first.hash)
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 3] ^= 0x01
    else:
        del data[len(data) // 2:]
    path.write_bytes(bytes(data))
    again = store.put(_big())
    assert again.hash == first.hash and again.written
    assert store.check(first.hash)
    assert store.get(first.hash)["meta"][-1] == 49_999


# ---- one bad value (item 5) -------------------------------------------------------------------

class _Raises:
    def __init__(self, error):
        self.error = error

    def __reduce__(self):
        raise self.error


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyError("gone"),
                                   NotImplementedError("no"), ZeroDivisionError("x")])
def test_any_error_while_pickling_is_unstorable_with_its_reason(store, error):
    with pytest.raises(UnstorableObject) as caught:
        store.put({"fine": 1, "bad": _Raises(error)})
    assert type(error).__name__ in caught.value.reason
    assert store.temp_files() == [] and list(store.hashes()) == []


class _Blocks:
    def __init__(self):
        self.release = threading.Event()

    def __reduce__(self):
        self.release.wait(60)  # a __reduce__ that does not return (until the test ends)
        return (dict, ())


def test_a_value_whose_pickling_blocks_is_abandoned_after_the_timeout(store):
    value = _Blocks()
    try:
        with pytest.raises(UnstorableObject, match="capture_timeout_s"):
            store.put(["x" * 5_000_000, value], timeout_s=0.5)
        assert store.temp_files() == []  # removed at once, while the thread still runs
        assert store.put({"next": 1}, timeout_s=0.5).written  # the store still works
    finally:
        value.release.set()


class _NotesThread:
    """Pickles as an empty dict, noting the thread that pickled it."""

    def __init__(self, seen: list):
        self.seen = seen

    def __reduce__(self):
        self.seen.append(threading.current_thread())
        return (dict, ())


def test_one_idle_serializer_thread_serves_one_save_after_another(store):
    seen: list = []
    existing = set(threading.enumerate())
    for round_ in range(3):
        store.put([round_, _NotesThread(seen)])
    assert len(seen) == 3 and len(set(seen) - existing) <= 1  # no new thread per save
    assert all(thread is not threading.current_thread() and thread.daemon for thread in seen)


@pytest.mark.parametrize("kind", ["memmap", "strided"])
def test_an_array_over_the_limit_is_refused_before_it_is_copied(store, tmp_path, kind):
    if kind == "memmap":
        array = np.memmap(tmp_path / "big.dat", dtype=np.float64, mode="w+", shape=(8_000_000,))
    else:
        array = np.ones((4_000, 4_000))[:, ::2]  # 64 MB, not contiguous
    tracemalloc.start()
    try:
        with pytest.raises(UnstorableObject, match="size limit"):
            store.put(array, max_bytes=2**20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, f"{peak / 2**20:.0f} MB allocated: the array was copied"


# ---- hash before any byte is unpickled (item 7) -------------------------------------------------

def _tampered_object(store, tmp_path):
    """An object file whose bytes were replaced by a pickle that creates a marker file."""
    marker = tmp_path / "pwned"
    stored = store.put({"model": "weights"})
    payload = (b"cbuiltins\nexec\n(V" + f"open({str(marker)!r}, 'w').close()".encode()
               + b"\ntR.")
    store.path(stored.hash).write_bytes(payload)
    return stored.hash, marker


def test_a_tampered_pickle_never_runs(store, tmp_path):
    digest, marker = _tampered_object(store, tmp_path)
    pickle.loads(store.path(digest).read_bytes())  # the payload works when unpickled...
    assert marker.exists()
    marker.unlink()
    with pytest.raises(IntegrityError):
        store.get(digest)
    assert not marker.exists()  # ...and is never unpickled by a load


# ---- object names from the database (item 9) -----------------------------------------------------

@pytest.mark.parametrize("name", ["../../x", "/etc/passwd", "AB" * 32, "0" * 63, "0" * 64 + "/"])
def test_a_name_that_is_not_a_hash_never_becomes_a_path(store, name):
    with pytest.raises(IntegrityError, match="not a 64-character hex hash"):
        store.get(name)
    with pytest.raises(IntegrityError):
        store.path(name)


def test_the_disk_is_asked_to_start_writing_each_buffer_as_soon_as_it_is_written(
        store, monkeypatch):
    asked = []

    def start_writeback(fd, offset, length):
        asked.append((offset, length))
        real_start_writeback(fd, offset, length)

    real_start_writeback = writer_module.start_writeback
    monkeypatch.setattr(writer_module, "start_writeback", start_writeback)
    obj = _big()
    stored = store.put(obj)
    # buffer after buffer, every byte of the file, each at most one buffer long
    ends = [offset + length for offset, length in asked]
    assert [offset for offset, _ in asked] == [0, *ends[:-1]] and ends[-1] == stored.size
    assert max(length for _, length in asked) <= writer_module.PIECE
    assert blake3.blake3(store.path(stored.hash).read_bytes()).hexdigest() == stored.hash
    np.testing.assert_array_equal(store.get(stored.hash)["weights"], obj["weights"])


def test_a_small_value_is_written_without_the_early_writeback(store, monkeypatch):
    monkeypatch.setattr(writer_module, "start_writeback", lambda *a: pytest.fail("called"))
    assert store.get(store.put({"small": 1}).hash) == {"small": 1}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sync_file_range is Linux's")
def test_the_early_writeback_is_only_a_hint_that_cannot_fail(tmp_path):
    assert writer_module._sync_file_range() is not None
    read_end, write_end = os.pipe()  # sync_file_range refuses a pipe (ESPIPE)
    try:
        writer_module.start_writeback(write_end, 0, 1 << 20)
    finally:
        os.close(read_end)
        os.close(write_end)
    with open(tmp_path / "f", "wb") as file:
        file.write(b"x" * 10)
        writer_module.start_writeback(file.fileno(), 0, 1 << 30)  # past the end: no error


def test_a_large_object_leaves_the_page_cache_once_it_is_durable(store, monkeypatch):
    dropped = []

    def drop_cached(fd, size):
        # by now the file is in place under its name, whole
        dropped.append((len(list(store.hashes())), os.fstat(fd).st_size, size))
        real_drop_cached(fd, size)

    real_drop_cached = objects_module.drop_cached
    monkeypatch.setattr(objects_module, "drop_cached", drop_cached)
    stored = store.put(_big())
    assert dropped == [(1, stored.size, stored.size)] and stored.size >= writer_module.PIECE
    np.testing.assert_array_equal(store.get(stored.hash)["weights"], _big()["weights"])
