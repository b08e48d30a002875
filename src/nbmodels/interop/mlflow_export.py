"""A version as an MLflow model directory, written without MLflow.

MLflow's own `log_model` spends most of its time in a subprocess that imports the model to
infer its requirements. The registry already knows them (the run's recorded packages), and
it knows the input schema, so this module writes the directory from records: `MLmodel`,
the model file, `requirements.txt`, `python_env.yaml`, `conda.yaml`, and an input example.

The model file is the flavour's own format (what `mlflow.<flavour>.load_model` reads):
stored bytes already in that format (a pickle or skops file of a scikit-learn model, an
XGBoost or LightGBM model file) are copied as they are, hash-verified, without loading the
model; others are loaded and written by the flavour's library. A model with `predict` but
no MLflow flavour gets a `python_function` loader of its own (`code/nbmodels_pyfunc.py`),
so serving it needs neither nbmodels nor anything it did not need to train.
"""

from __future__ import annotations

import io
import json
import pickle
import platform
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import formats

# the distribution each flavour's loader imports
FLAVOR_PACKAGES = {"sklearn": ["scikit-learn"], "xgboost": ["xgboost"],
                   "lightgbm": ["lightgbm"], "pytorch": ["torch"], "python_function": []}
_COLUMN_TYPES = {"float64": "double", "float32": "float", "int64": "long", "uint32": "long",
                 "int32": "integer", "int16": "integer", "int8": "integer", "uint16": "integer",
                 "uint8": "integer", "bool": "boolean", "boolean": "boolean", "object": "string",
                 "string": "string", "str": "string", "datetime64[ns]": "datetime",
                 "datetime64[us]": "datetime", "datetime64[ms]": "datetime",
                 "datetime64[s]": "datetime", "Int64": "long", "Int32": "integer",
                 "Float64": "double", "Float32": "float"}
_PYFUNC_LOADER = '''"""MLflow python_function loader for a model exported by nbmodels: a pickled
object with `predict` (written by nbmodels export; needs only what the model needs)."""

import pickle


class _Model:
    def __init__(self, model):
        self.model = model

    def predict(self, model_input, params=None):
        return self.model.predict(model_input)


def _load_pyfunc(path):
    with open(path, "rb") as file:
        return _Model(pickle.load(file))
'''


class ExportError(ValueError):
    """A version this module cannot export (the registry turns it into an nbmodels error)."""


@dataclass
class ModelSource:
    """What the registry hands over: the model as stored, and what to write beside it.

    `data` holds the object's verified bytes when `plan()` said they can be used as they
    are, else `obj` holds the loaded model."""

    model_type: str
    serializer: str
    flavor: str
    data: bytes | None = None
    obj: Any = None
    skops_trusted: list[str] = field(default_factory=list)
    packages: dict = field(default_factory=dict)
    python: str | None = None
    signature: dict | None = None  # MLflow's {"inputs": JSON text, "outputs": None, ...}
    example: Any = None  # a few rows of the training data (DataFrame or ndarray)
    metadata: dict = field(default_factory=dict)


def flavor_of(model_type: str, serializer: str) -> str:
    """The MLflow flavour a stored model is exported as."""
    module = model_type.split(".", 1)[0]
    fmt = formats.base(serializer)
    if module == "xgboost" or fmt.startswith("xgboost"):
        return "xgboost"
    if module == "lightgbm" or fmt == "lightgbm":
        return "lightgbm"
    if module == "sklearn" or fmt == "skops":
        return "sklearn"
    if module == "torch" or fmt == "safetensors":
        return "pytorch"
    return "python_function"


def plan(model_type: str, serializer: str) -> tuple[str, bool]:
    """`(flavour, copy)`: whether the stored bytes are already the flavour's file, so the
    model need not be loaded to export it."""
    flavor = flavor_of(model_type, serializer)
    fmt = formats.base(serializer)
    if fmt == "safetensors":
        raise ExportError("it is stored as a PyTorch state dict (safetensors), which holds "
                          "weights but not the module to rebuild: register the module with "
                          "`--format pickle5` to export it")
    copy = {"xgboost": fmt.startswith("xgboost"), "lightgbm": fmt in ("lightgbm", "pickle5", "skops"),
            "sklearn": fmt in ("pickle5", "skops")}.get(flavor, False)
    return flavor, copy


def flavor_of_object(obj: Any, flavor: str) -> str:
    """The flavour of a loaded model whose type name did not tell (a torch module of the
    user's own class is `__main__.Net`). Raises `ExportError` for one MLflow cannot serve."""
    if _is(obj, "torch.nn", "Module"):
        return "pytorch"
    if flavor == "python_function" and not callable(getattr(obj, "predict", None)):
        raise ExportError(f"a {type(obj).__name__} has no `predict`: MLflow's python_function "
                          "serves models through it")
    return flavor


def write(dest: Path, source: ModelSource) -> Path:
    """Write the MLflow model directory `dest` (new, or empty) and return it."""
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ExportError(f"{dest} exists and is not an empty folder")
    flavor = source.flavor
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if flavor == "pytorch":
            _write_pytorch(dest, source)
            return dest
        flavors = _write_model_file(dest, flavor, source)
        mlmodel = _mlmodel(flavors, source, _write_example(dest, source.example))
        requirements = requirements_for(flavor, source)
        _write_environment(dest, requirements, source.python)
        mlmodel["model_size_bytes"] = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
        _write_yaml(dest / "MLmodel", mlmodel)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    return dest


# ---- the model file, per flavour -------------------------------------------------------

def _write_model_file(dest: Path, flavor: str, source: ModelSource) -> dict:
    fmt, _, cls = source.serializer.partition(":")
    pyfunc = {"env": {"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
              "python_version": source.python or platform.python_version()}
    if flavor == "xgboost":
        return _xgboost(dest, source, fmt, cls, pyfunc)
    if flavor == "lightgbm" and (source.obj is None and fmt == "lightgbm"
                                 or _is(source.obj, "lightgbm", "Booster")):
        text = source.data if source.data is not None else \
            source.obj.model_to_string().encode()
        (dest / "model.lgb").write_bytes(text)
        return {"python_function": {**pyfunc, "loader_module": "mlflow.lightgbm",
                                    "data": "model.lgb"},
                "lightgbm": {"data": "model.lgb", "model_class": "lightgbm.basic.Booster",
                             "lgb_version": _version("lightgbm"), "code": None}}
    if flavor in ("sklearn", "lightgbm"):
        name, serialization = _pickled(dest, source, fmt)
        conf = {"serialization_format": serialization, "code": None,
                "skops_trusted_types": source.skops_trusted or None}
        if flavor == "sklearn":
            conf.update(pickled_model=name, sklearn_version=_version("scikit-learn"))
        else:
            conf.update(data=name, model_class=source.model_type,
                        lgb_version=_version("lightgbm"))
        return {"python_function": {**pyfunc, "loader_module": f"mlflow.{flavor}",
                                    "model_path" if flavor == "sklearn" else "data": name,
                                    **({"predict_fn": "predict"} if flavor == "sklearn" else {})},
                flavor: conf}
    (dest / "model.pkl").write_bytes(source.data if source.data is not None
                                     else pickle.dumps(source.obj, protocol=5))
    (dest / "code").mkdir()
    (dest / "code" / "nbmodels_pyfunc.py").write_text(_PYFUNC_LOADER)
    return {"python_function": {**pyfunc, "loader_module": "nbmodels_pyfunc",
                                "data": "model.pkl", "code": "code"}}


def _pickled(dest: Path, source: ModelSource, fmt: str) -> tuple[str, str]:
    """A scikit-learn-style model as MLflow's `model.pkl` (pickle) or `model.skops`."""
    if source.data is not None and fmt == "skops":
        (dest / "model.skops").write_bytes(source.data)
        return "model.skops", "skops"
    data = source.data if source.data is not None else pickle.dumps(source.obj, protocol=5)
    (dest / "model.pkl").write_bytes(data)
    return "model.pkl", "pickle"


def _xgboost(dest: Path, source: ModelSource, fmt: str, cls: str, pyfunc: dict) -> dict:
    if source.data is not None:
        raw, data = fmt.rsplit("-", 1)[1], source.data
    else:
        cls, raw = type(source.obj).__name__, "ubj"
        with io.BytesIO() as buffer:
            formats.dump(source.obj, buffer, "xgboost-ubj")
            data = buffer.getvalue()
    module = "xgboost.core" if cls == "Booster" else "xgboost.sklearn"
    (dest / f"model.{raw}").write_bytes(data)
    return {"python_function": {**pyfunc, "loader_module": "mlflow.xgboost",
                                "data": f"model.{raw}"},
            "xgboost": {"data": f"model.{raw}", "model_class": f"{module}.{cls or 'Booster'}",
                        "model_format": raw, "xgb_version": _version("xgboost"), "code": None}}


def _write_pytorch(dest: Path, source: ModelSource) -> None:
    """A torch module through MLflow's own writer (its format is torch's pickle plus
    MLflow's pickle-module file): requirements given, so nothing is inferred."""
    try:
        import mlflow.pytorch
    except ImportError:
        raise ExportError("exporting a PyTorch module needs MLflow: "
                          "pip install 'nbmodels[mlflow]'") from None
    dest.rmdir()  # MLflow creates the folder itself
    signature = None
    if source.signature:
        from mlflow.models import ModelSignature
        from mlflow.types import Schema

        signature = ModelSignature(Schema.from_json(source.signature["inputs"]))
    mlflow.pytorch.save_model(source.obj, str(dest), serialization_format="pickle",
                              pip_requirements=requirements_for("pytorch", source),
                              signature=signature, metadata=source.metadata or None)


# ---- MLmodel, environment, example -----------------------------------------------------

def _mlmodel(flavors: dict, source: ModelSource, example_info: dict | None) -> dict:
    mlmodel = {"flavors": flavors, "model_uuid": uuid.uuid4().hex,
               "utc_time_created": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")}
    if _version("mlflow"):
        mlmodel["mlflow_version"] = _version("mlflow")
    if source.signature:
        mlmodel["signature"] = source.signature
    if example_info:
        mlmodel["saved_input_example_info"] = example_info
    if source.metadata:
        mlmodel["metadata"] = source.metadata
    return mlmodel


def requirements_for(flavor: str, source: ModelSource) -> list[str]:
    """pip requirements: the run's recorded packages, pinned, plus what the flavour's
    loader needs (at its installed version when the run did not record it) and MLflow."""
    pinned = dict(source.packages)
    needed = FLAVOR_PACKAGES[flavor] + (["skops"] if source.skops_trusted or
                                        formats.base(source.serializer) == "skops" else [])
    for dist in [*needed, "mlflow"]:
        if dist not in pinned:
            pinned[dist] = _version(dist)
    return [f"{dist}=={version}" if version else dist for dist, version in sorted(pinned.items())]


def _write_environment(dest: Path, requirements: list[str], python: str | None) -> None:
    python = python or platform.python_version()
    (dest / "requirements.txt").write_text("\n".join(requirements) + "\n")
    _write_yaml(dest / "python_env.yaml", {
        "python": python, "build_dependencies": ["pip", "setuptools", "wheel"],
        "dependencies": ["-r requirements.txt"]})
    _write_yaml(dest / "conda.yaml", {
        "name": "mlflow-env", "channels": ["conda-forge"],
        "dependencies": [f"python={python}", "pip", {"pip": requirements}]})


def _write_example(dest: Path, example: Any) -> dict | None:
    if example is None:
        return None
    info = {"artifact_path": "input_example.json",
            "serving_input_path": "serving_input_example.json"}
    if hasattr(example, "to_json"):  # a DataFrame
        split = json.loads(example.to_json(orient="split", index=False, date_format="iso"))
        data, serving = split, {"dataframe_split": split}
        info.update(type="dataframe", pandas_orient="split")
    else:
        data = example.tolist()
        serving = {"inputs": data}
        info["type"] = "ndarray"
    (dest / "input_example.json").write_text(json.dumps(data))
    (dest / "serving_input_example.json").write_text(json.dumps(serving, indent=2))
    return info


def signature_for(schema: dict | None) -> dict | None:
    """MLflow's signature (`inputs` as its JSON text) for data of the recorded `schema`:
    named columns for a DataFrame, a tensor for an array; None when a column's type has
    no MLflow equivalent (a partial schema would reject good input)."""
    if not schema:
        return None
    if schema.get("kind") == "DataFrame" and schema.get("columns"):
        columns = []
        for name, dtype in schema["columns"].items():
            kind = _COLUMN_TYPES.get(str(dtype))
            if kind is None:
                return None
            columns.append({"type": kind, "name": str(name), "required": True})
        inputs = columns
    elif schema.get("kind") == "ndarray" and schema.get("dtype") and schema.get("shape"):
        if not schema["dtype"].startswith(("float", "int", "uint", "bool")):
            return None
        inputs = [{"type": "tensor", "tensor-spec": {
            "dtype": schema["dtype"], "shape": [-1, *schema["shape"][1:]]}}]
    else:
        return None
    return {"inputs": json.dumps(inputs), "outputs": None, "params": None}


def _write_yaml(path: Path, data: dict) -> None:
    try:
        import yaml
    except ImportError:  # JSON is YAML: MLflow reads it the same
        path.write_text(json.dumps(data, indent=2) + "\n")
        return
    path.write_text(yaml.safe_dump(data, default_flow_style=False, sort_keys=False))


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _is(value: Any, module: str, name: str) -> bool:
    import sys

    cls = getattr(sys.modules.get(module), name, None)
    return value is not None and cls is not None and isinstance(value, cls)
