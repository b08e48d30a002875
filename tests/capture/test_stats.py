"""capture.stats, fingerprints and blocks: statistics and fingerprints by blocks, in bounded memory."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from nbmodels.capture import summarize_data


@pytest.fixture
def small_chunks(monkeypatch):
    """Blocks of 256 bytes: every array below spans many blocks (and rows of blocks)."""
    import nbmodels.capture.blocks as blocks
    import nbmodels.capture.data as capture_module

    monkeypatch.setattr(blocks, "CHUNK_BYTES", 256)
    capture_module._DESCRIBED.clear()
    yield capture_module
    capture_module._DESCRIBED.clear()


def _expected(column: pd.Series) -> dict:
    count = int(column.count())
    expected = {"count": count, "nulls": len(column) - count}
    for stat in ("mean", "std", "min", "max"):
        value = getattr(column, stat)()
        expected[stat] = None if pd.isna(value) else pytest.approx(float(value), rel=1e-9, abs=1e-9)
    return expected


def _stats(value, capture_module):
    capture_module._DESCRIBED.clear()
    return summarize_data(value).stats


def test_chunked_array_stats_equal_numpy_and_pandas(small_chunks):
    rng = np.random.default_rng(7)
    floats = rng.normal(100.0, 3.0, size=(1000, 5))
    floats[::7, 1] = np.nan
    floats[:, 2] = np.nan  # a column with no value at all
    floats[500:, 3] = np.nan  # values in the first blocks only
    stats = _stats(floats, small_chunks)
    for j in range(5):
        assert stats[str(j)] == _expected(pd.Series(floats[:, j])), j
    assert stats["2"] == {"count": 0, "nulls": 1000, "mean": None, "std": None, "min": None, "max": None}
    assert stats["1"]["mean"] == pytest.approx(np.nanmean(floats[:, 1]), rel=1e-12)
    assert stats["1"]["std"] == pytest.approx(np.nanstd(floats[:, 1], ddof=1), rel=1e-9)
    # Fortran order and the first 100 columns of a wider array: the same numbers
    assert _stats(np.asfortranarray(floats), small_chunks) == stats
    wide = np.tile(floats, (1, 30))
    stats = _stats(wide, small_chunks)
    assert list(stats) == [str(j) for j in range(100)]
    for j in (0, 1, 2, 3, 56, 99):
        assert stats[str(j)] == _expected(pd.Series(wide[:, j])), j

    # Integers beyond 2**53 whose int64 sum would overflow: float64 accumulators.
    big = rng.integers(2**61, 2**62, size=(3000, 2), dtype=np.int64)
    stats = _stats(big, small_chunks)
    for j in range(2):
        column = big[:, j].astype(np.float64)
        assert stats[str(j)]["mean"] == pytest.approx(column.mean(), rel=1e-12)
        assert stats[str(j)]["std"] == pytest.approx(column.std(ddof=1), rel=1e-9)
        assert stats[str(j)]["min"] == int(big[:, j].min()) and isinstance(stats[str(j)]["min"], int)
        assert stats[str(j)]["max"] == int(big[:, j].max())
    small = rng.integers(0, 255, size=5000, dtype=np.uint8)  # sums far past uint8
    assert _stats(small, small_chunks)["value"] == _expected(pd.Series(small))

    # 1-D with NaNs, N-D not contiguous, booleans (as 0.0/1.0), float32
    one = rng.normal(size=4001)
    one[::3] = np.nan
    assert _stats(one, small_chunks)["value"] == _expected(pd.Series(one))
    cube = rng.normal(size=(60, 7, 9))[::2, :, 1:]
    assert not cube.flags.c_contiguous and not cube.flags.f_contiguous
    assert _stats(cube, small_chunks)["value"] == _expected(pd.Series(cube.reshape(-1)))
    flags = rng.random((900, 2)) < 0.3
    stats = _stats(flags, small_chunks)
    assert stats["0"] == _expected(pd.Series(flags[:, 0].astype(float)))
    assert isinstance(stats["0"]["min"], float)
    single = rng.normal(size=(800, 3)).astype(np.float32)
    assert _stats(single, small_chunks)["1"]["std"] == pytest.approx(single[:, 1].astype(np.float64).std(ddof=1), rel=1e-9)

    # Empty and one-value arrays
    empty = {"count": 0, "nulls": 0, "mean": None, "std": None, "min": None, "max": None}
    assert _stats(np.array([], dtype=float), small_chunks)["value"] == empty
    assert _stats(np.zeros((0, 3), dtype=np.int64), small_chunks) == {str(j): empty for j in range(3)}
    assert _stats(np.zeros((5, 0)), small_chunks) == {}
    assert _stats(np.array(2.5), small_chunks)["value"] == {"count": 1, "nulls": 0, "mean": 2.5, "std": None, "min": 2.5, "max": 2.5}
    assert _stats(np.array([np.nan, np.inf]), small_chunks)["value"]["mean"] is None


def test_chunked_frame_and_series_stats_equal_pandas(small_chunks):
    rng = np.random.default_rng(8)
    n = 2000
    frame = pd.DataFrame({
        "x": np.where(rng.random(n) < 0.2, np.nan, rng.normal(5.0, 2.0, n)),
        "i": rng.integers(-(2**62), 2**62, n),
        "b": rng.random(n) < 0.4,
        "I": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(0, 9, n)), dtype="Int64"),
        "F": pd.array(rng.normal(size=n), dtype="Float64"),
        "when": pd.Series(pd.date_range("2024-01-01", periods=n, freq="h")).where(rng.random(n) < 0.9),
        "s": rng.choice(np.array(["a", "b", "b", None], dtype=object), n),
        "cat": pd.Categorical(rng.choice(["u", "v", "v"], n)),
    })
    frame["late"] = np.nan
    frame.loc[n - 3:, "late"] = [1.0, 2.0, 4.0]  # values in the last block only
    stats = _stats(frame, small_chunks)
    for name in ("x", "i", "b", "I", "F", "late"):
        assert stats[name] == _expected(frame[name]), name
    assert stats["b"]["min"] is False and stats["b"]["max"] is True
    assert stats["I"]["min"] == 0 and isinstance(stats["I"]["max"], int)
    assert stats["when"] == {"count": int(frame["when"].count()), "nulls": int(frame["when"].isna().sum()),
                             "min": frame["when"].min().isoformat(), "max": frame["when"].max().isoformat()}
    assert stats["s"] == {"count": int(frame["s"].count()), "nulls": int(frame["s"].isna().sum()),
                          "distinct": 2, "top": "b"}
    assert stats["cat"]["distinct"] == 2 and stats["cat"]["top"] == "v"
    assert _stats(frame["x"], small_chunks)["x"] == _expected(frame["x"])
    empty = pd.DataFrame({"a": pd.Series([], dtype=float), "w": pd.Series([], dtype="datetime64[ns]")})
    assert _stats(empty, small_chunks) == {
        "a": {"count": 0, "nulls": 0, "mean": None, "std": None, "min": None, "max": None},
        "w": {"count": 0, "nulls": 0, "min": None, "max": None},
    }
    json.dumps(summarize_data(frame).to_dict(), allow_nan=False)


def test_fingerprints_do_not_depend_on_blocks(monkeypatch):
    import nbmodels.capture as capture_module
    import nbmodels.capture.blocks as blocks

    rng = np.random.default_rng(9)
    multi_block = pd.DataFrame(index=range(300))
    for j in range(6):
        multi_block[f"c{j}"] = rng.normal(size=300)
    lists = pd.Series([1, "a", 2.5] * 100 + [[1, 2]], dtype=object)  # unhashable only at the end
    values = [
        rng.normal(size=(400, 3)),
        np.asfortranarray(rng.normal(size=(400, 3))),
        rng.normal(size=(50, 6, 8))[::2, ::3],
        rng.normal(size=5000)[::7],
        np.array([["a", None, 3], ["b", "c", [1]]] * 200, dtype=object).T,
        multi_block,
        pd.DataFrame(rng.normal(size=(300, 6))),
        pd.DataFrame({"s": rng.choice(["x", "y", None], 500), "n": rng.normal(size=500)},
                     index=pd.MultiIndex.from_product([range(250), ["p", "q"]])),
        pd.Series(rng.choice(["x", "y"], 700), index=rng.normal(size=700).astype(str)),
        lists,
        lists.to_frame("l"),
    ]
    whole = [capture_module.data_fingerprint(value) for value in values]
    monkeypatch.setattr(blocks, "CHUNK_BYTES", 64)
    assert [capture_module.data_fingerprint(value) for value in values] == whole
    # One block and several blocks of the same numbers still hash the same
    assert capture_module.data_fingerprint(multi_block) == capture_module.data_fingerprint(multi_block.copy())
    edited = lists.copy()
    edited.iloc[-1] = [1, 3]
    assert capture_module.data_fingerprint(edited) != whole[-2]


@pytest.mark.parametrize("kind", ["array", "fortran", "strided", "multi_block_frame", "series"])
def test_summaries_allocate_a_bounded_amount(kind):
    import tracemalloc

    import nbmodels.capture.blocks as blocks
    import nbmodels.capture.data as capture_module

    rng = np.random.default_rng(10)
    size = 16 * 2**20  # 16 MiB of float64; numpy reports its buffers to tracemalloc
    base = rng.normal(size=size // 8)
    base[::5] = np.nan
    value = {
        "array": lambda: base.reshape(-1, 8),
        "fortran": lambda: np.asfortranarray(base.reshape(-1, 8)),
        "strided": lambda: base.reshape(-1, 4, 2)[:, :, ::2],
        "multi_block_frame": lambda: pd.DataFrame({f"c{j}": base[j::4] for j in range(4)}).pipe(
            lambda f: f.assign(extra=f["c0"].to_numpy().copy())),
        "series": lambda: pd.Series(base),
    }[kind]()
    capture_module._DESCRIBED.clear()
    tracemalloc.start()
    try:
        summary = summarize_data(value)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.stats
    assert peak < 4 * blocks.CHUNK_BYTES + 2**20, peak


def test_a_frame_fingerprint_is_pinned_and_reads_dtypes_the_public_way_too(monkeypatch):
    """A fingerprint stored by an earlier nbmodels must still match: the value below was
    computed before the dtypes were read from pandas' block manager; `frame.dtypes` (what
    another pandas falls back on) gives the same fingerprint."""
    from nbmodels.capture import fingerprints

    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"], "c": [1.0, 2.0],
                          "d": pd.Categorical(["u", "v"]), 3: [1, 2]})
    frame["e"] = frame["a"] * 2  # a second int64 block
    assert fingerprints._column_dtypes(frame) == list(frame.dtypes)
    pinned = fingerprints.frame_fingerprint(frame)
    monkeypatch.setattr(fingerprints, "_column_dtypes", lambda frame: list(frame.dtypes))
    assert fingerprints.frame_fingerprint(frame) == pinned
    numeric = pd.DataFrame(np.arange(6.0).reshape(3, 2), columns=["x", "y"])
    assert fingerprints.frame_fingerprint(numeric)[:16] == "ad2db1eb6db0cff8"
