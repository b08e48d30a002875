"""What a re-run made, compared with the record: model bytes, predictions on the recorded
inputs, metrics, params, data fingerprints, package versions, and unseeded randomness.

Numbers (predictions, probabilities, metrics, float params) are the same within
`RTOL`/`ATOL` (as `numpy.isclose`): tight enough that only rounding noise passes.
Predictions are compared on the first `MAX_ROWS` rows of each recorded input the recorded
model predicts on.
"""

from __future__ import annotations

import io
import math
import re
import sys
import warnings
from typing import Any, Callable

from .. import capture, formats
from ..tracking import CellRecord
from .report import Difference

RTOL = 1e-6
ATOL = 1e-9
MAX_ROWS = 10_000
_MISSING = object()
# Calls that seed torch's generators, in the cells' sources
_TORCH_SEED = re.compile(r"\b(manual_seed|seed_everything|set_seed)\s*\(")


def model_hash(model: Any, serializer: str) -> str | None:
    """The object hash `model` would be stored under with `serializer` (None when it does
    not serialize so: the record's format no longer fits it)."""
    import blake3

    buffer = io.BytesIO()
    try:
        formats.dump(model, buffer, serializer)
    except Exception:  # noqa: BLE001  compared by its predictions instead
        return None
    return blake3.blake3(buffer.getbuffer()).hexdigest()


def compare_model(name: str, new: Any, digest: str, serializer: str,
                  load_recorded: Callable[[], Any], inputs: Callable[[], dict]
                  ) -> tuple[str, list[Difference]]:
    """`exact`, `equivalent` or `differs` for the re-made model `new` against the one
    stored as `digest`, and the differences. `load_recorded` and `inputs` are called only
    when the bytes differ (they deserialize what is stored)."""
    if new is None:
        return "differs", [Difference("model", name, f"{name}: the re-run did not make it")]
    if model_hash(new, serializer) == digest:
        return "exact", []
    recorded = load_recorded()
    if _is_state_dict(recorded):
        return _compare_weights(name, recorded, new)
    new = _like(recorded, new)
    compared, found = [], []
    for label, data in inputs().items():
        try:
            before = predictions(recorded, data)
        except Exception:  # noqa: BLE001  not an input this model predicts on (a target)
            continue
        compared.append(label)
        try:
            after = predictions(new, data)
        except Exception as exc:  # noqa: BLE001
            found.append(Difference("predictions", name, f"{name} cannot predict on {label} "
                                    f"any more: {type(exc).__name__}: {exc}"))
            continue
        what = prediction_difference(before, after)
        if what:
            found.append(Difference("predictions", name, f"{name} on {label}: {what}"))
    if not compared:
        return "differs", [Difference("model", name, f"{name}: other bytes than stored, and "
                                      "no recorded input it predicts on to compare predictions")]
    return ("differs", found) if found else ("equivalent", [])


def predictions(model: Any, data: Any) -> list:
    """What `model` predicts on the first `MAX_ROWS` rows of `data`, as NumPy arrays:
    `predict` (and `predict_proba` when there is one), or a network's output."""
    import numpy as np

    data = _columns_for(model, _head(data))
    torch = sys.modules.get("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if torch is not None and isinstance(model, torch.nn.Module):
            model.eval()  # dropout off: the output of a copy nobody else holds
            tensor = data if isinstance(data, torch.Tensor) else torch.as_tensor(
                np.asarray(data), dtype=torch.float32)
            with torch.no_grad():
                return [model(tensor).detach().cpu().numpy()]
        found = [np.asarray(model.predict(data))]
        proba = getattr(model, "predict_proba", None)
        if callable(proba):
            try:
                found.append(np.asarray(proba(data)))
            except Exception:  # noqa: BLE001  a classifier without probabilities (SVC)
                pass
        return found


def prediction_difference(before: list, after: list) -> str | None:
    """How the predictions `after` differ from `before`, in words; None when the same."""
    import numpy as np

    for kind, old, new in zip(("predictions", "probabilities"), before, after):
        if old.shape != new.shape:
            return f"{kind} of shape {old.shape} recorded, {new.shape} now"
        if old.dtype.kind in "fciub" and new.dtype.kind in "fciub":
            close = np.isclose(old, new, rtol=RTOL, atol=ATOL, equal_nan=True)
        else:
            close = old == new
        if not np.all(close):
            rows = int(np.sum(~close.reshape(len(close), -1).all(axis=1))) if close.ndim else 1
            return f"{rows} of {len(old) if old.ndim else 1} {kind} differ"
    if len(before) != len(after):
        return "probabilities are no longer given"
    return None


def compare_metrics(recorded: dict, record: CellRecord, namespace: dict) -> list[Difference]:
    """Each recorded metric against the value the re-run computed (logged or bound)."""
    found = []
    for name, old in recorded.items():
        new = record.logged_metrics.get(name, namespace.get(name, _MISSING))
        if new is _MISSING:
            found.append(Difference("metrics", name, f"{name}: the re-run did not compute it",
                                    old))
            continue
        new = capture.json_value(new)
        if not same_value(old, new):
            found.append(Difference("metrics", name, f"{name}: {_show(old)} recorded, "
                                    f"{_show(new)} now", old, new))
    return found


def remade_params(record: CellRecord, python: str) -> dict:
    """The params the re-run would record, as `Registry.record_run` makes them: the cell's
    own plain values, then logged ones, then the hyperparameters of each outer model."""
    computed = capture.cell_names(python).computed
    params, models = {}, {}
    for name, value in record.values.items():
        role = capture.role_of(name, value, (), (), computed)
        if role == "param":
            params[name] = capture.json_value(value)
        elif role == "model":
            models[name] = value
    params.update({k: capture.json_value(v) for k, v in record.logged_params.items()})
    outer = capture.top_level_models(models)
    for name in outer:
        prefix = f"{name}." if len(outer) > 1 else ""
        for key, value in capture.model_params(models[name]).items():
            params.setdefault(prefix + key, value)
    return params


def compare_params(recorded: dict, record: CellRecord, python: str) -> list[Difference]:
    """Each param recorded or made now whose value is not the same."""
    now = remade_params(record, python)
    for name in recorded:  # a name recorded by --params: its value whatever its role
        if name not in now and name in record.values:
            now[name] = capture.json_value(record.values[name])
    found = []
    for name in [*recorded, *(n for n in now if n not in recorded)]:
        old, new = recorded.get(name, _MISSING), now.get(name, _MISSING)
        if old is _MISSING or new is _MISSING or not same_value(old, new):
            found.append(Difference("params", name, f"{name}: {_show(old)} recorded, "
                                    f"{_show(new)} now", _plain(old), _plain(new)))
    return found


def compare_data(recorded: dict, summaries: dict) -> list[Difference]:
    """Each recorded input (`{label: fingerprint}`) against the fingerprint of what the
    re-run read under that label (`{label: DataSummary}`), and inputs read only now."""
    found = []
    for label, old in recorded.items():
        summary = summaries.get(label)
        if summary is None:
            found.append(Difference("data", label, f"{label}: recorded as an input, not read "
                                    "by the re-run", old[:16]))
        elif summary.fingerprint != old:
            found.append(Difference("data", label, f"{label}: other content than recorded "
                                    f"(fingerprint {old[:8]} recorded, "
                                    f"{summary.fingerprint[:8]} now)", old[:16],
                                    summary.fingerprint[:16]))
    for label in sorted(set(summaries) - set(recorded)):
        found.append(Difference("data", label, f"{label}: read by the re-run, not recorded",
                                None, summaries[label].fingerprint[:16]))
    return found


def compare_packages(recorded: dict) -> list[Difference]:
    """Each package the run recorded whose installed version is another now."""
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for dist, old in sorted(recorded.items()):
        try:
            now = version(dist)
        except PackageNotFoundError:
            now = None
        if now != old:
            found.append(Difference("packages", dist, f"{dist} {old} when recorded, "
                                    f"{now or 'not installed'} now", old, now))
    return found


def unseeded(name: str, model: Any, sources: list[str]) -> list[Difference]:
    """What in `model` draws random numbers without a fixed seed: a scikit-learn style
    `random_state` left None (in it or in any estimator it holds), or a torch network
    trained by cells that never call `torch.manual_seed` (or `seed_everything`)."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        if any(_TORCH_SEED.search(source) for source in sources):
            return []
        return [Difference("randomness", name, f"{name} ({type(model).__name__}) was trained "
                           "by cells that never call torch.manual_seed: its initial weights "
                           "and batches are drawn anew on each run")]
    get_params = getattr(model, "get_params", None)
    if not callable(get_params):
        return []
    try:
        params = get_params(deep=True)
    except Exception:  # noqa: BLE001
        return []
    keys = sorted(k for k, v in params.items() if k.split("__")[-1] == "random_state"
                  and v is None and _seed_used(params, k[:-len("random_state")]))
    if not keys:
        return []
    return [Difference("randomness", name, f"{name} ({type(model).__name__}) has "
                       f"{', '.join(f'{k}=None' for k in keys)}: each fit draws other random "
                       "numbers (set random_state=0 to fix them)", None, None)]


def _seed_used(params: dict, prefix: str) -> bool:
    """Whether scikit-learn draws random numbers with the estimator whose params start with
    `prefix`: not for a deterministic `solver` (lbfgs, newton-cg, cholesky ...), nor for an
    SVC without `probability`."""
    solver = params.get(prefix + "solver")
    if isinstance(solver, str) and solver not in ("sag", "saga", "liblinear", "auto"):
        return False
    return params.get(prefix + "probability", True) is not False


def same_value(old: Any, new: Any) -> bool:
    """Equal JSON values, numbers within the tolerance, NaN equal to NaN."""
    if _number(old) and _number(new):
        if math.isnan(old) or math.isnan(new):
            return math.isnan(old) and math.isnan(new)
        return math.isclose(old, new, rel_tol=RTOL, abs_tol=ATOL) or old == new
    if isinstance(old, list) and isinstance(new, list):
        return len(old) == len(new) and all(same_value(a, b) for a, b in zip(old, new))
    if isinstance(old, dict) and isinstance(new, dict):
        return old.keys() == new.keys() and all(same_value(old[k], new[k]) for k in old)
    return type(old) is type(new) and old == new


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _plain(value: Any) -> Any:
    return None if value is _MISSING else value


def _show(value: Any) -> str:
    if value is _MISSING:
        return "(none)"
    if isinstance(value, float):
        return f"{value:.6g}"
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _head(data: Any) -> Any:
    try:
        return data.iloc[:MAX_ROWS] if hasattr(data, "iloc") else data[:MAX_ROWS]
    except Exception:  # noqa: BLE001  a DMatrix: whole
        return data


def _columns_for(model: Any, data: Any) -> Any:
    """The columns of a frame `model` was fitted on, when it names them and the frame has
    more (the input is `df`, the cell fitted on `df[["a", "b"]]`)."""
    names = getattr(model, "feature_names_in_", None)
    columns = getattr(data, "columns", None)
    if names is None or columns is None or len(names) == len(columns):
        return data
    try:
        return data[list(names)] if set(names) <= set(columns) else data
    except Exception:  # noqa: BLE001
        return data


def _like(recorded: Any, new: Any) -> Any:
    """`new` as the kind of object the record loads as: a LightGBM model's booster when it
    was stored in LightGBM's own format (which loads as a `Booster`)."""
    if capture.models.is_instance_of(recorded, "lightgbm", "Booster") and \
            hasattr(new, "booster_"):
        return new.booster_
    return new


def _is_state_dict(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, dict) and bool(value) and all(
        isinstance(v, torch.Tensor) for v in value.values())


def _compare_weights(name: str, recorded: dict, new: Any) -> tuple[str, list[Difference]]:
    """A network stored as safetensors (its state dict) against the re-made network."""
    import torch

    state = new.state_dict() if isinstance(new, torch.nn.Module) else new
    if not isinstance(state, dict) or state.keys() != recorded.keys():
        return "differs", [Difference("model", name, f"{name}: other layers than stored")]
    differing = [k for k in recorded if recorded[k].shape != state[k].shape or not torch.allclose(
        recorded[k].float(), state[k].detach().cpu().float(), rtol=RTOL, atol=ATOL)]
    if differing:
        return "differs", [Difference("model", name, f"{name}: other weights than stored in "
                                      f"{', '.join(differing[:5])}"
                                      + (" …" if len(differing) > 5 else ""))]
    return "equivalent", []
