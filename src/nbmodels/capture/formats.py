"""Data in the formats of SciPy (sparse matrices), torch (tensors), XGBoost (`DMatrix`) and
LightGBM (`Dataset`): which values are, their fingerprint, schema and statistics.

Each library is looked up in `sys.modules`: a value of a library the kernel has not
imported cannot exist, so nothing here imports one that is not already loaded.
"""

from __future__ import annotations

import os
import tempfile

from typing import Any, Callable

from .fingerprints import hash_values, header, new_hasher
from .models import is_instance_of, module_attr
from .stats import array_stats


def kind(value: Any) -> str | None:
    """"sparse", "Tensor", "DMatrix", "Dataset" or None."""
    issparse = module_attr("scipy.sparse", "issparse")
    if issparse is not None and issparse(value):
        return "sparse"
    if is_instance_of(value, "torch", "Tensor"):
        return "Tensor"
    if is_instance_of(value, "xgboost", "DMatrix"):
        return "DMatrix"
    if is_instance_of(value, "lightgbm", "Dataset"):
        return "Dataset"
    return None


def fingerprint(kind: str, value: Any, inner: Callable[[Any], str]) -> tuple[str, bool]:
    """`(fingerprint, complete)` of a value of `kind`; `inner` fingerprints data held inside."""
    hasher = new_hasher()
    complete = True
    if kind == "sparse":
        _hash_sparse(hasher, value)
    elif kind == "Tensor":
        array = tensor_array(value)
        hasher.update(header("Tensor", str(value.dtype), list(value.shape)))
        hash_values(hasher, array)
    elif kind == "DMatrix":
        hasher.update(header("DMatrix", value.num_row(), value.num_col(), value.feature_names,
                             value.feature_types))
        _hash_sparse(hasher, value.get_data())
        for field in ("label", "weight", "base_margin"):
            _hash_field(hasher, field, getattr(value, f"get_{field}")())
    elif kind == "Dataset":
        complete = _hash_dataset(hasher, value, inner)
    else:
        raise TypeError(f"not data: {kind}")
    return hasher.hexdigest(), complete


def describe(kind: str, value: Any, inner: Callable[[Any], tuple]) -> tuple[dict, dict, int]:
    """`(schema, stats, nbytes)` of a value of `kind`; `inner` describes data held inside."""
    if kind == "sparse":
        csr = value.tocsr()
        schema = {"kind": "sparse", "format": value.format, "dtype": str(value.dtype),
                  "shape": list(value.shape)}
        nonzero = array_stats(csr.data)["value"]
        nonzero["density"] = csr.nnz / max(1, csr.shape[0] * csr.shape[1])
        return schema, {"nonzero": nonzero}, int(csr.data.nbytes + csr.indices.nbytes + csr.indptr.nbytes)
    if kind == "Tensor":
        schema = {"kind": "Tensor", "dtype": str(value.dtype), "shape": list(value.shape),
                  "device": str(value.device)}
        return schema, array_stats(tensor_array(value)), int(value.element_size() * value.nelement())
    if kind == "DMatrix":
        schema = {"kind": "DMatrix", "shape": [value.num_row(), value.num_col()],
                  "features": value.feature_names, "feature_types": value.feature_types}
        return schema, _label_stats(value.get_label()), 0
    return _describe_dataset(value, inner)


def tensor_array(tensor: Any) -> Any:
    """A tensor's values as a NumPy array: a view for a dense CPU tensor, else a copy."""
    import torch

    tensor = tensor.detach()
    if tensor.layout != torch.strided:
        tensor = tensor.to_dense()
    tensor = tensor.cpu().resolve_conj().resolve_neg()
    try:
        return tensor.numpy()
    except TypeError:  # bfloat16 and others NumPy lacks: exact in float64
        return tensor.double().numpy()


def _hash_sparse(hasher, matrix: Any) -> None:
    import numpy as np

    csr = matrix.tocsr()
    if not csr.has_canonical_format:  # duplicate or unsorted entries: the same matrix
        csr = csr.copy()
        csr.sum_duplicates()
    hasher.update(header("sparse", csr.dtype.str, list(csr.shape)))
    hash_values(hasher, csr.indptr.astype(np.int64, copy=False))
    hash_values(hasher, csr.indices.astype(np.int64, copy=False))
    hash_values(hasher, csr.data)


def _hash_field(hasher, name: str, values: Any) -> None:
    import numpy as np

    if values is None:
        hasher.update(header(name, None))
        return
    array = np.asarray(values)
    hasher.update(header(name, array.dtype.str, list(array.shape)))
    hash_values(hasher, array)


def _label_stats(label: Any) -> dict:
    import numpy as np

    label = np.asarray(label) if label is not None else None
    if label is None or label.size == 0:
        return {}
    return {"label": array_stats(label.reshape(-1))["value"]}


def _dataset_handle(dataset: Any) -> Any:
    return getattr(dataset, "_handle", None) or getattr(dataset, "handle", None)


def _hash_dataset(hasher, dataset: Any, inner: Callable[[Any], str]) -> bool:
    """Hash a LightGBM Dataset: its raw data while it has it, else its binned content (once
    constructed with `free_raw_data`), else only the path and stamp of its file."""
    raw, complete = dataset.data, True
    features = dataset.feature_name if isinstance(dataset.feature_name, list) else None
    hasher.update(header("Dataset", features, str(dataset.categorical_feature)))
    if raw is not None and kind(raw) != "Dataset" and not isinstance(raw, (str, os.PathLike)):
        hasher.update(header("raw", inner(raw)))
    elif _dataset_handle(dataset) is not None:
        with tempfile.TemporaryDirectory(prefix="nbmodels-") as folder:
            path = os.path.join(folder, "dataset.bin")
            dataset.save_binary(path)
            hasher.update(header("binned"))
            with open(path, "rb") as file:
                while block := file.read(2**20):
                    hasher.update(block)
    elif isinstance(raw, (str, os.PathLike)):
        stamp = os.stat(raw)
        hasher.update(header("file", os.fspath(raw), stamp.st_size, stamp.st_mtime_ns))
        complete = False
    else:
        raise ValueError("a LightGBM Dataset with neither raw data nor a constructed handle")
    for field in ("label", "weight", "group", "init_score"):
        _hash_field(hasher, field, getattr(dataset, field, None))
    return complete


def _describe_dataset(dataset: Any, inner: Callable[[Any], tuple]) -> tuple[dict, dict, int]:
    raw = dataset.data
    features = dataset.feature_name if isinstance(dataset.feature_name, list) else None
    schema = {"kind": "Dataset", "features": features}
    if raw is not None and kind(raw) != "Dataset" and not isinstance(raw, (str, os.PathLike)):
        raw_schema, stats, nbytes = inner(raw)
        schema.update(shape=raw_schema.get("shape"), source="raw data", raw=raw_schema)
        return schema, stats, nbytes
    if _dataset_handle(dataset) is not None:
        schema.update(shape=[dataset.num_data(), dataset.num_feature()], source="binned")
    else:
        schema.update(source="file", content="path and modification time only")
    return schema, _label_stats(dataset.label), 0
