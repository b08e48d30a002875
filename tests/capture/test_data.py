"""capture.data and capture.formats: which values are data; fingerprint, schema, statistics."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from nbmodels.capture import DataSummary, is_data, summarize_data, type_name

# --------------------------------------------------------------------------- frames, series, arrays


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "x": [1.5, 2.5, np.nan, 4.0],
            "n": np.array([1, 2, 3, 4], dtype="int64"),
            "flag": [True, False, True, True],
            "when": pd.to_datetime(["2024-01-01", "2024-01-02", None, "2024-01-04"]),
            "name": pd.array(["a", "b", "a", None], dtype="string"),
            "cat": pd.Categorical(["u", "v", "u", "u"]),
            "obj": pd.Series([1, "two", 3.0, None], dtype=object),
        }
    )


def fingerprint(value) -> str:
    return summarize_data(value).fingerprint


def test_fingerprint_equal_for_equal_data(frame):
    assert fingerprint(frame) == fingerprint(frame.copy())
    assert fingerprint(frame) == fingerprint(frame.copy(deep=True))
    # The same numbers in one block or in separate ones
    one_block = pd.DataFrame(np.arange(6.0).reshape(3, 2), columns=["p", "q"])
    two_blocks = pd.DataFrame({"p": [0.0, 2.0, 4.0]})
    two_blocks["q"] = [1.0, 3.0, 5.0]
    assert fingerprint(one_block) == fingerprint(two_blocks)


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.assign(x=[1.5, 2.5, np.nan, 4.5]),
        lambda f: f.assign(n=[1, 2, 3, 5]),
        lambda f: f.assign(name=pd.array(["a", "b", "c", None], dtype="string")),
        lambda f: f.assign(cat=pd.Categorical(["u", "v", "v", "u"])),
        lambda f: f.assign(obj=pd.Series([1, "two", 3.0, "x"], dtype=object)),
        lambda f: f.assign(when=pd.to_datetime(["2024-01-01", "2024-01-02", None, "2024-01-05"])),
        lambda f: f.rename(columns={"x": "y"}),
        lambda f: f.astype({"n": "int32"}),
        lambda f: f.astype({"name": object}),
        lambda f: f.iloc[::-1],
        lambda f: f.iloc[::-1].reset_index(drop=True),
        lambda f: f.set_axis([10, 11, 12, 13]),
        lambda f: f[["n", "x", "flag", "when", "name", "cat", "obj"]],
    ],
)
def test_fingerprint_changes_with_content(frame, change):
    assert fingerprint(change(frame)) != fingerprint(frame)


def test_fingerprint_after_in_place_edit(frame):
    before = fingerprint(frame)
    frame.loc[0, "x"] = 9.0
    assert fingerprint(frame) != before


def test_frame_schema_and_stats_match_pandas(frame):
    summary = summarize_data(frame)
    assert isinstance(summary, DataSummary) and summary.type == type_name(frame)
    assert summary.schema["kind"] == "DataFrame" and summary.schema["shape"] == [4, 7]
    assert list(summary.schema["columns"]) == ["x", "n", "flag", "when", "name", "cat", "obj"]
    assert summary.schema["columns"]["cat"] == "category"
    x = summary.stats["x"]
    assert x["count"] == 3 and x["nulls"] == 1
    assert x["mean"] == pytest.approx(frame["x"].mean()) and x["std"] == pytest.approx(frame["x"].std())
    assert (x["min"], x["max"]) == (1.5, 4.0)
    assert summary.stats["n"]["std"] == pytest.approx(frame["n"].std())
    assert summary.stats["when"] == {"count": 3, "nulls": 1, "min": "2024-01-01T00:00:00", "max": "2024-01-04T00:00:00"}
    assert summary.stats["name"] == {"count": 3, "nulls": 1, "distinct": 2, "top": "a"}
    assert summary.stats["cat"]["top"] == "u" and summary.stats["cat"]["distinct"] == 2
    assert summary.stats["flag"]["mean"] == 0.75
    assert summary.nbytes > 0
    json.dumps(summary.to_dict(), allow_nan=False)


def test_default_string_dtype_and_wide_frames():
    strings = pd.DataFrame({"s": ["a", "b", None]})  # pandas 3: the new `str` dtype
    summary = summarize_data(strings)
    assert summary.stats["s"]["nulls"] == 1
    assert fingerprint(strings) != fingerprint(pd.DataFrame({"s": ["a", "c", None]}))
    wide = pd.DataFrame(np.ones((2, 300)))
    assert len(summarize_data(wide).stats) == 200
    assert summarize_data(wide).schema["columns"]["299"] == "float64"


def test_unhashable_objects_and_nullable_dtypes():
    lists = pd.DataFrame({"l": [[1], [2, 3], None], "i": pd.array([1, None, 3], dtype="Int64")})
    summary = summarize_data(lists)
    assert summary.stats["i"] == {"count": 2, "nulls": 1, "mean": 2.0, "std": pytest.approx(math.sqrt(2)), "min": 1, "max": 3}
    edited = lists.copy()
    edited.at[0, "l"] = [9]
    assert fingerprint(edited) != summary.fingerprint
    json.dumps(summary.to_dict(), allow_nan=False)


def test_series_summary():
    series = pd.Series([1.0, 2.0, 4.0], name="target", index=["a", "b", "c"])
    summary = summarize_data(series)
    assert summary.schema == {"kind": "Series", "name": "target", "dtype": "float64", "shape": [3]}
    assert summary.stats["target"]["mean"] == pytest.approx(series.mean())
    assert fingerprint(series) == fingerprint(series.copy())
    assert fingerprint(series) != fingerprint(series.rename("other"))
    assert fingerprint(series) != fingerprint(series.set_axis(["a", "b", "d"]))
    assert fingerprint(series) != fingerprint(series.to_frame())


def test_ndarray_summaries():
    one = np.array([1.0, np.nan, 3.0])
    stats = summarize_data(one).stats
    assert stats == {"value": {"count": 2, "nulls": 1, "mean": 2.0, "std": pytest.approx(math.sqrt(2)), "min": 1.0, "max": 3.0}}

    two = np.arange(12, dtype="int32").reshape(4, 3)
    summary = summarize_data(two)
    assert summary.schema == {"kind": "ndarray", "dtype": "int32", "shape": [4, 3]}
    assert list(summary.stats) == ["0", "1", "2"]
    assert summary.stats["1"]["mean"] == pytest.approx(pd.Series(two[:, 1]).mean())
    assert summary.stats["1"]["std"] == pytest.approx(pd.Series(two[:, 1]).std())
    assert summary.nbytes == two.nbytes

    three = np.arange(24.0).reshape(2, 3, 4)
    assert summarize_data(three).stats["value"]["max"] == 23.0
    assert len(summarize_data(np.zeros((2, 150))).stats) == 100

    # The same content in C or Fortran order is the same data; a reshape is not.
    assert fingerprint(two) == fingerprint(np.asfortranarray(two))
    assert fingerprint(two) != fingerprint(two.reshape(3, 4))
    assert fingerprint(two) != fingerprint(two.astype("int64"))
    changed = two.copy()
    changed[3, 2] = -1
    assert fingerprint(two) != fingerprint(changed)
    assert fingerprint(np.array(["a", None], dtype=object)) != fingerprint(np.array(["b", None], dtype=object))
    assert summarize_data(np.array([], dtype=float)).stats["value"]["mean"] is None
    json.dumps([summarize_data(v).to_dict() for v in (one, two, three)], allow_nan=False)


def test_is_data_and_summarize_rejects_other_values():
    assert is_data(np.zeros(1)) and is_data(pd.Series(dtype=float)) and not is_data([1, 2])
    with pytest.raises(TypeError):
        summarize_data([1, 2])


def test_summaries_are_described_once_per_fingerprint(monkeypatch):
    import nbmodels.capture.data as capture_module

    frame = pd.DataFrame({"a": np.arange(10.0)})
    calls = []
    real = capture_module._describe
    monkeypatch.setattr(capture_module, "_describe", lambda *a: calls.append(1) or real(*a))
    first = summarize_data(frame)
    again = summarize_data(frame.copy())
    assert first == again and len(calls) == 1  # same content: described once
    changed = summarize_data(frame.assign(a=frame["a"] + 1))
    assert changed.fingerprint != first.fingerprint and len(calls) == 2


# --------------------------------------------------------------------------- issue 8 item 4: more kinds of data


def _summary(value) -> DataSummary:
    summary = summarize_data(value)
    json.dumps(summary.to_dict(), allow_nan=False)
    return summary


def test_sparse_matrices_are_data():
    from scipy import sparse

    dense = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 3.0], [0.0, 0.0, 0.0]])
    csr = sparse.csr_matrix(dense)
    assert is_data(csr) and is_data(sparse.csc_array(dense)) and is_data(sparse.coo_matrix(dense))
    summary = _summary(csr)
    assert summary.schema == {"kind": "sparse", "format": "csr", "dtype": "float64", "shape": [4, 3]}
    assert summary.stats["nonzero"]["count"] == 3 and summary.stats["nonzero"]["max"] == 3.0
    assert summary.stats["nonzero"]["density"] == pytest.approx(3 / 12)
    # The same matrix in another format, or with unsorted duplicate entries, is the same data
    assert summary.fingerprint == _summary(sparse.csc_matrix(dense)).fingerprint
    duplicated = sparse.coo_matrix(([1.0, 0.5, 2.0, 3.0], ([0, 0, 1, 2], [1, 1, 0, 2])), shape=(4, 3))
    assert _summary(duplicated).fingerprint == summary.fingerprint
    changed = dense.copy()
    changed[3, 0] = 1.0
    assert _summary(sparse.csr_matrix(changed)).fingerprint != summary.fingerprint
    assert _summary(sparse.csr_matrix(dense.T)).fingerprint != summary.fingerprint


def test_torch_tensors_are_data():
    import torch

    tensor = torch.arange(12, dtype=torch.float32).reshape(4, 3)
    assert is_data(tensor) and is_data(torch.nn.Parameter(tensor.clone()))
    summary = _summary(tensor.requires_grad_())
    assert summary.schema == {"kind": "Tensor", "dtype": "torch.float32", "shape": [4, 3], "device": "cpu"}
    assert summary.stats["1"]["mean"] == pytest.approx(5.5) and summary.nbytes == 48
    assert summary.fingerprint == _summary(tensor.detach().clone()).fingerprint
    assert summary.fingerprint == _summary(tensor.detach().T.contiguous().T).fingerprint  # layout
    assert summary.fingerprint != _summary(tensor.detach() + 1).fingerprint
    assert summary.fingerprint != _summary(tensor.detach().double()).fingerprint
    assert summary.fingerprint != _summary(tensor.detach().numpy()).fingerprint  # a tensor is not an array
    bf16 = _summary(torch.ones(3, dtype=torch.bfloat16))
    assert bf16.schema["dtype"] == "torch.bfloat16" and bf16.stats["value"]["mean"] == 1.0
    assert _summary(torch.ones(2, 2).to_sparse()).schema["shape"] == [2, 2]


def test_xgboost_dmatrix_is_data():
    import xgboost

    X = np.arange(12.0).reshape(4, 3)
    y = np.array([0, 1, 0, 1])
    matrix = xgboost.DMatrix(X, label=y, feature_names=["a", "b", "c"])
    assert is_data(matrix)
    summary = _summary(matrix)
    assert summary.schema["kind"] == "DMatrix" and summary.schema["shape"] == [4, 3]
    assert summary.schema["features"] == ["a", "b", "c"]
    assert summary.stats["label"]["mean"] == 0.5 and summary.complete
    assert summary.fingerprint == _summary(xgboost.DMatrix(X, label=y, feature_names=["a", "b", "c"])).fingerprint
    assert summary.fingerprint != _summary(xgboost.DMatrix(X, label=1 - y, feature_names=["a", "b", "c"])).fingerprint
    assert summary.fingerprint != _summary(xgboost.DMatrix(X + 1, label=y, feature_names=["a", "b", "c"])).fingerprint


def test_lightgbm_dataset_is_data_before_and_after_construction():
    import lightgbm

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    y = (X["a"] > 0).astype(int)
    dataset = lightgbm.Dataset(X, label=y, params={"verbose": -1})
    assert is_data(dataset)
    raw = _summary(dataset)
    assert raw.complete and raw.schema["source"] == "raw data" and raw.schema["shape"] == [200, 3]
    assert raw.stats["a"]["mean"] == pytest.approx(X["a"].mean())
    assert raw.fingerprint == _summary(lightgbm.Dataset(X.copy(), label=y.copy())).fingerprint
    assert raw.fingerprint != _summary(lightgbm.Dataset(X, label=1 - y)).fingerprint
    lightgbm.train({"verbose": -1, "num_leaves": 4}, dataset, num_boost_round=2)
    assert dataset.data is None  # free_raw_data: only the binned content is left
    binned = _summary(dataset)
    assert binned.complete and binned.schema["source"] == "binned"
    assert binned.schema["shape"] == [200, 3] and binned.stats["label"]["mean"] == pytest.approx(y.mean())
    twin = lightgbm.Dataset(X.copy(), label=y.copy(), params={"verbose": -1}).construct()
    twin.data = None
    assert _summary(twin).fingerprint == binned.fingerprint


def test_lightgbm_dataset_from_a_file_is_fingerprinted_by_stamp_only(tmp_path):
    import lightgbm

    path = tmp_path / "train.csv"
    path.write_text("1,0.5\n0,0.1\n")
    summary = _summary(lightgbm.Dataset(str(path)))
    assert summary.complete is False and summary.schema["source"] == "file"


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_matrix_memmap_and_masked_arrays_are_summarized(tmp_path):
    """Issue 9 item 5: an np.matrix or masked array made the summary raise."""
    plain = np.arange(6.0).reshape(2, 3)
    matrix = _summary(np.asmatrix(plain))
    assert matrix.fingerprint == _summary(plain).fingerprint and matrix.stats == _summary(plain).stats
    assert matrix.type == "numpy.matrix"
    memmap = np.memmap(tmp_path / "m.dat", dtype="float64", mode="w+", shape=(2, 3))
    memmap[:] = plain
    assert _summary(memmap).fingerprint == matrix.fingerprint
    masked = np.ma.masked_array([1.0, 2.0, 10.0], mask=[False, False, True])
    summary = _summary(masked)
    assert summary.schema["masked"] == 1
    assert summary.stats["value"] == {"count": 2, "nulls": 1, "mean": 1.5, "std": pytest.approx(math.sqrt(0.5)),
                                      "min": 1.0, "max": 2.0}
    assert summary.fingerprint != _summary(np.ma.masked_array([1.0, 2.0, 10.0], mask=[True, False, False])).fingerprint
    assert summary.fingerprint != _summary(np.array([1.0, 2.0, 10.0])).fingerprint
    assert _summary(np.ma.masked_array(["a", "b"], mask=[0, 1])).stats == {"value": {"count": 1}}


def test_content_that_cannot_be_read_still_gets_a_summary():
    """Issue 9 item 5: one unreadable value never loses the run."""
    from scipy import sparse

    class Broken(sparse.csr_matrix):
        def tocsr(self, copy=False):
            raise RuntimeError("corrupt")

    broken = Broken(np.eye(2))
    first, second = _summary(broken), _summary(broken)
    assert first.complete is False and "RuntimeError: corrupt" in first.schema["content"]
    assert first.fingerprint != second.fingerprint  # an unread content never equals another


def test_statistics_that_fail_keep_the_fingerprint(monkeypatch):
    import nbmodels.capture.data as data

    def fail(*args):
        raise MemoryError("too big")

    monkeypatch.setattr(data, "_describe_array", fail)
    summary = _summary(np.arange(3.0) + 0.5)
    assert summary.complete and summary.stats == {} and "MemoryError" in summary.schema["error"]
