"""An MLflow model brought into the registry: a run here with the MLflow run's params,
metrics and tags (and the cell, when nbmodels pushed it), then `Registry.register`, which
infers the version number as for any model.

The model is loaded by its flavour's MLflow loader (`mlflow.sklearn.load_model`, ...), so
the registry stores the library's own object; a flavour stored as a pickle is refused when
the registry refuses pickles (`allow_pickle = False`).
"""

from __future__ import annotations

import ast
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from ..errors import InvalidInputError, NotFoundError, UntrustedObjectError
from ..records import ModelVersion
from .mlflow_push import client_for

# native flavours first: their objects are the library's own, not a pyfunc wrapper
FLAVORS = ("sklearn", "xgboost", "lightgbm", "pytorch")
_MODELS_URI = re.compile(r"models:/(?P<name>[^/@]+)(?:/(?P<version>[^/]+)|@(?P<alias>[^/]+))$")
_RUNS_URI = re.compile(r"runs:/(?P<run>[0-9a-fA-F]+)/(?P<path>.+)$")
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")


def import_model(registry, model_uri: str, name: str | None,
                 tracking_uri: str | None) -> ModelVersion:
    """Register the MLflow model at `model_uri` in `registry` (see the module docstring)."""
    from mlflow.exceptions import MlflowException

    client = client_for(tracking_uri)
    try:
        run_id, default_name, description, location = _resolve(client, model_uri)
        mlflow_run = client.get_run(run_id) if run_id else None
        experiment = client.get_experiment(mlflow_run.info.experiment_id).name \
            if mlflow_run else None
        with tempfile.TemporaryDirectory(prefix="nbmodels-mlflow-") as folder:
            local = _download(location, folder, tracking_uri)
            obj = _load(local, registry.allow_pickle, model_uri)
            source = _cell(client, run_id, folder) if run_id else None
    except MlflowException as exc:
        raise NotFoundError(f"cannot import {model_uri!r} from MLflow: "
                            f"{str(exc).splitlines()[0]}") from None
    name = name or default_name or _run_name(mlflow_run)
    run = registry.record_run(_cell_record(obj, model_uri, tracking_uri, mlflow_run, source,
                                              experiment))
    stored = next(v.object_hash for v in run.variables if v.name == "model")
    return registry.register(obj, name, run_id=run.id, stored_as=stored, variable="model",
                             note=description or None,
                             tags={"mlflow.model_uri": model_uri,
                                   **({"mlflow.run_id": run_id} if run_id else {})})


def _resolve(client, model_uri: str) -> tuple[str | None, str | None, str | None, str]:
    """`(run id, model name, description, artifact location)` of a `models:/` or `runs:/`
    URI, asked of `client`'s server (MLflow's own resolution of these URIs reads the
    process-wide registry URI instead)."""
    found = _MODELS_URI.match(model_uri)
    if found:
        name = found["name"]
        if found["alias"]:
            version = client.get_model_version_by_alias(name, found["alias"])
        elif found["version"] == "latest":
            versions = client.search_model_versions(f"name = '{name}'")
            if not versions:
                raise NotFoundError(f"MLflow model {name!r} has no versions")
            version = max(versions, key=lambda v: int(v.version))
        else:
            version = client.get_model_version(name, found["version"])
        return (version.run_id, name, version.description,
                client.get_model_version_download_uri(name, version.version))
    found = _RUNS_URI.match(model_uri)
    if found:
        run = client.get_run(found["run"])
        logged = client.search_logged_models(
            experiment_ids=[run.info.experiment_id],
            filter_string=f"source_run_id = '{run.info.run_id}' AND name = '{found['path']}'")
        location = logged[0].artifact_location if logged else \
            f"{run.info.artifact_uri.rstrip('/')}/{found['path']}"
        return run.info.run_id, None, None, location
    raise InvalidInputError(f"{model_uri!r} is not an MLflow model URI: use models:/NAME/"
                            "VERSION, models:/NAME@ALIAS or runs:/RUN_ID/PATH")


def _download(location: str, folder: str, tracking_uri: str | None) -> Path:
    import mlflow.artifacts

    return Path(mlflow.artifacts.download_artifacts(
        artifact_uri=location, dst_path=str(Path(folder) / "model"), tracking_uri=tracking_uri))


def _load(local: Path, allow_pickle: bool, model_uri: str):
    """The model through its first native flavour's loader, else the pyfunc model."""
    import importlib

    import yaml

    flavors = (yaml.safe_load((local / "MLmodel").read_text()) or {}).get("flavors") or {}
    flavor = next((f for f in FLAVORS if f in flavors), "python_function")
    if not allow_pickle and _pickled(flavor, flavors.get(flavor) or {}):
        raise UntrustedObjectError(
            f"refusing to import {model_uri}: its {flavor} flavour is stored as a pickle, "
            "which runs code when loaded, and NBModels.allow_pickle is False")
    module = importlib.import_module("mlflow.pyfunc" if flavor == "python_function"
                                     else f"mlflow.{flavor}")
    return module.load_model(str(local))


def _pickled(flavor: str, conf: dict) -> bool:
    if flavor in ("xgboost",):
        return False
    if flavor == "lightgbm" and conf.get("model_class", "lightgbm.basic.Booster") \
            == "lightgbm.basic.Booster":
        return False
    return conf.get("serialization_format") != "skops"


def _cell(client, run_id: str, folder: str) -> str | None:
    """The cell nbmodels pushed with the run (`nbmodels/cell.py`), if there is one."""
    try:
        path = client.download_artifacts(run_id, "nbmodels/cell.py", folder)
    except Exception:  # noqa: BLE001 - a run MLflow logged itself has none
        return None
    return Path(path).read_text()


def _cell_record(obj, model_uri: str, tracking_uri: str | None, mlflow_run, source,
                 experiment: str | None):
    from ..registry import CellRecord

    now = datetime.now(timezone.utc)
    info = mlflow_run.info if mlflow_run else None
    started = _time(info.start_time) if info and info.start_time else now
    tags = {k: v for k, v in (mlflow_run.data.tags.items() if mlflow_run else [])
            if not k.startswith(("mlflow.", "nbmodels."))}
    tags.update({"mlflow.model_uri": model_uri,
                 **({"mlflow.tracking_uri": tracking_uri} if tracking_uri else {}),
                 **({"mlflow.run_id": info.run_id} if info else {})})
    return CellRecord(
        source=source or f"# imported from MLflow: {model_uri}\n", experiment=experiment or "mlflow",
        status="ok", started_at=started,
        ended_at=_time(info.end_time) if info and info.end_time else started,
        values={"model": obj}, tags=tags,
        logged_params={k: _value(v) for k, v in
                       (mlflow_run.data.params.items() if mlflow_run else [])},
        logged_metrics=dict(mlflow_run.data.metrics) if mlflow_run else {})


def _value(text: str):
    """An MLflow param (always text) as the value it was: `5` -> 5, `None` -> None."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text
    return value if isinstance(value, (int, float, bool, type(None))) else text


def _run_name(mlflow_run) -> str:
    raw = (mlflow_run.info.run_name if mlflow_run else None) or "mlflow-model"
    cleaned = _NAME_CHARS.sub("-", raw).strip("-.") or "mlflow-model"
    return cleaned[:128]


def _time(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, timezone.utc)
