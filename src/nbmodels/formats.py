"""Serializers: how an object's bytes are made and read back, recorded per object.

`pickle5` (the default) and `joblib` are pickles: loading one runs whatever code its bytes
name. nbmodels loads them only after their hash matched, and not at all when pickles are
refused (`NBModels.allow_pickle = False`, `NBMODELS_ALLOW_PICKLE=0`). The safe formats load
without running code from the file:

| format | for | the object file | loads as |
| --- | --- | --- | --- |
| `skops` | scikit-learn models and pipelines | skops zip | the model; types skops does not trust by default are named, for the user to approve |
| `xgboost-json`, `xgboost-ubj` | XGBoost `Booster` and its scikit-learn wrappers | XGBoost's own model file | the same class |
| `lightgbm` | LightGBM `Booster` and its scikit-learn wrappers | LightGBM's text model | a `lightgbm.Booster` (the wrapper's booster) |
| `safetensors` | a PyTorch state dict (or a module: its state dict) | safetensors | the state dict |

`auto` picks the safe format that fits the object, else `pickle5`. The recorded name can
carry the class to rebuild (`xgboost-ubj:XGBClassifier`), chosen from a fixed list.
"""

from __future__ import annotations

import io
import os
import pickle
import sys
import tempfile
from typing import Any, Iterable

PICKLED = ("pickle5", "joblib")
SAFE = ("skops", "xgboost-json", "xgboost-ubj", "lightgbm", "safetensors")
FORMATS = PICKLED + SAFE
CHOICES = FORMATS + ("auto",)
DEFAULT = "pickle5"
_XGBOOST_CLASSES = ("Booster", "XGBClassifier", "XGBRegressor", "XGBRanker", "XGBRFClassifier",
                    "XGBRFRegressor")


class FormatError(ValueError):
    """A format that does not exist, or does not fit the object."""


class UntrustedContent(Exception):
    """A pickle while pickles are refused, or skops types not approved: `names` says what."""

    def __init__(self, message: str, names: tuple[str, ...] = ()):
        super().__init__(message)
        self.names = names


def base(recorded: str) -> str:
    """`xgboost-ubj:XGBClassifier` -> `xgboost-ubj`."""
    return recorded.split(":", 1)[0]


def is_pickle(recorded: str) -> bool:
    return base(recorded) in PICKLED


def choose(obj: Any, wanted: str | None) -> str:
    """The format to store `obj` in: `wanted` (None: the default), `auto` resolved by the
    object's type. Raises `FormatError` for an unknown format or one that cannot hold `obj`."""
    wanted = wanted or DEFAULT
    if wanted not in CHOICES:
        raise FormatError(f"unknown format {wanted!r}: use one of {', '.join(CHOICES)}")
    fits = fitting(obj)
    if wanted == "auto":
        return fits or DEFAULT
    if wanted in SAFE and base_family(wanted) != base_family(fits or ""):
        raise FormatError(f"format {wanted!r} cannot hold a {_type_name(obj)}"
                          + (f" (use {fits!r})" if fits else " (use pickle5 or joblib)"))
    return wanted


def base_family(fmt: str) -> str:
    return "xgboost" if fmt.startswith("xgboost") else fmt


def fitting(obj: Any) -> str | None:
    """The safe format for `obj`, or None when none fits."""
    if _instance(obj, "xgboost", ("Booster", "XGBModel")):
        return "xgboost-ubj"
    if _instance(obj, "lightgbm", ("Booster", "LGBMModel")):
        return "lightgbm"
    if _instance(obj, "sklearn.base", ("BaseEstimator",)):
        return "skops"
    torch = sys.modules.get("torch")
    if torch is not None and (isinstance(obj, torch.nn.Module) or (
            isinstance(obj, dict) and obj and all(
                isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()))):
        return "safetensors"
    return None


def dump(obj: Any, file, fmt: str) -> str:
    """Write `obj` to `file` (a writable binary file-like) as `fmt` (a format name, or a
    recorded one) and return the name to record for the object."""
    fmt = base(fmt)
    if fmt == "pickle5":
        pickle.dump(obj, file, protocol=5)
    elif fmt == "joblib":
        import joblib

        joblib.dump(obj, file)
    elif fmt == "skops":
        import skops.io

        file.write(skops.io.dumps(obj))
    elif fmt.startswith("xgboost"):
        return _dump_xgboost(obj, file, fmt)
    elif fmt == "lightgbm":
        booster = obj if _instance(obj, "lightgbm", ("Booster",)) else obj.booster_
        file.write(booster.model_to_string().encode())
        return "lightgbm:Booster"
    elif fmt == "safetensors":
        file.write(_safetensors_bytes(obj))
    else:
        raise FormatError(f"unknown format {fmt!r}")
    return fmt


def load(data, recorded: str, allow_pickle: bool = True, trusted: Iterable[str] = ()) -> Any:
    """The object from `data` (its whole bytes, already hash-checked). Raises
    `UntrustedContent` for a pickle when `allow_pickle` is False, and for skops types that
    are neither trusted by skops nor in `trusted`."""
    fmt, _, cls = recorded.partition(":")
    if fmt in PICKLED and not allow_pickle:
        raise UntrustedContent(f"it is a pickle ({fmt}), which runs code when loaded")
    if fmt == "pickle5":
        return pickle.loads(data)
    if fmt == "joblib":
        import joblib

        return joblib.load(io.BytesIO(data))
    if fmt == "skops":
        return _load_skops(bytes(data), set(trusted))
    if fmt.startswith("xgboost"):
        return _load_xgboost(data, cls)
    if fmt == "lightgbm":
        import lightgbm

        return lightgbm.Booster(model_str=bytes(data).decode())
    if fmt == "safetensors":
        import safetensors.torch

        return safetensors.torch.load(bytes(data))
    raise FormatError(f"object stored as {recorded!r}, a format this nbmodels does not know")


def _dump_xgboost(obj: Any, file, fmt: str) -> str:
    raw_format = fmt.rsplit("-", 1)[1]
    cls = type(obj).__name__
    if cls not in _XGBOOST_CLASSES:
        raise FormatError(f"{fmt} stores {', '.join(_XGBOOST_CLASSES)}, not {cls}")
    if cls == "Booster":
        file.write(obj.save_raw(raw_format=raw_format))
    else:  # the wrapper's own file keeps its scikit-learn attributes (classes, ...)
        with tempfile.TemporaryDirectory(prefix="nbmodels-") as folder:
            path = os.path.join(folder, f"model.{raw_format}")
            obj.save_model(path)
            with open(path, "rb") as saved:
                file.write(saved.read())
    return f"{fmt}:{cls}"


def _load_xgboost(data, cls: str) -> Any:
    import xgboost

    if cls not in _XGBOOST_CLASSES:
        raise UntrustedContent(f"its XGBoost class {cls!r} is not one nbmodels rebuilds",
                               (cls,))
    model = getattr(xgboost, cls)()
    model.load_model(bytearray(data))
    return model


def _load_skops(data: bytes, trusted: set[str]) -> Any:
    import skops.io

    untrusted = tuple(t for t in skops.io.get_untrusted_types(data=data) if t not in trusted)
    if untrusted:
        raise UntrustedContent(f"it holds types skops does not trust by default: "
                               f"{', '.join(untrusted)}", untrusted)
    return skops.io.loads(data, trusted=sorted(trusted) or None)


def _safetensors_bytes(obj: Any) -> bytes:
    import safetensors.torch
    import torch

    state = obj.state_dict() if isinstance(obj, torch.nn.Module) else obj
    tensors = {k: v.detach().contiguous() for k, v in state.items()}
    try:
        return safetensors.torch.save(tensors)
    except RuntimeError:  # tensors sharing memory (tied weights): each gets its own copy
        return safetensors.torch.save({k: v.clone() for k, v in tensors.items()})


def _instance(obj: Any, module: str, names: tuple[str, ...]) -> bool:
    found = sys.modules.get(module)
    classes = tuple(c for c in (getattr(found, n, None) for n in names) if isinstance(c, type))
    return bool(classes) and isinstance(obj, classes)


def _type_name(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"
