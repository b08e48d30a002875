"""Object files: the pipelined writer and the parallel verifying loader keep the same
guarantees as writing and reading inline (names are hashes, damage is refused)."""

from __future__ import annotations

import blake3
import numpy as np
import pytest

from nbmodels import IntegrityError
from nbmodels import objects as objects_module
from nbmodels.objects import ObjectStore, UnstorableObject


@pytest.fixture
def store(tmp_path):
    return ObjectStore(tmp_path / "objects")


def _big():  # several chunks and above the parallel-load threshold
    return {"weights": np.arange(1_500_000, dtype=np.float64), "meta": list(range(50_000))}


def test_large_object_round_trips_and_is_named_by_its_bytes(store):
    obj = _big()
    stored = store.put(obj)
    data = store.path(stored.hash).read_bytes()
    assert len(data) == stored.size > objects_module._PARALLEL_LOAD_BYTES
    assert blake3.blake3(data).hexdigest() == stored.hash
    loaded = store.get(stored.hash)
    np.testing.assert_array_equal(loaded["weights"], obj["weights"])
    assert loaded["meta"] == obj["meta"]
    assert store.temp_files() == []


def test_storing_the_same_bytes_again_writes_nothing_new(store):
    first = store.put(_big())
    again = store.put(_big())
    assert (again.hash, again.written, first.written) == (first.hash, False, True)
    assert store.temp_files() == [] and list(store.hashes()) == [first.hash]


@pytest.mark.parametrize("make", [_big, lambda: {"small": 1}], ids=["parallel", "inline"])
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
        store.put(_big(), max_bytes=3 * objects_module._CHUNK)
    assert store.temp_files() == [] and list(store.hashes()) == []


def test_joblib_objects_still_load_verified(store):
    stored = store.put(_big(), serializer="joblib")
    assert store.get(stored.hash, "joblib")["meta"][-1] == 49_999
