"""A version published to an MLflow tracking server, through MLflow's own client.

What arrives: a run (params, metrics, tags, the cell source as `nbmodels/cell.py`), a
logged model holding the folder `Registry.export` writes (no inference subprocess), and a
version of the registered model of the same name, tagged `nbmodels.version`,
`nbmodels.bump`, `nbmodels.bump_reason`, `nbmodels.run_id` (and `nbmodels.object_hash`),
with the nbmodels stage as the alias of the same name. A version already pushed is found
by those tags first: pushing it again creates nothing, and only brings its alias up to date.
"""

from __future__ import annotations

import contextlib
import io
import math
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..errors import ConflictError, InvalidInputError
from ..records import STAGES, VersionDetail, _Record

PARAM_VALUE_MAX = 6000  # MLflow's limit on a param value
BATCH_PARAMS = 100  # MLflow's limit on params (and on tags) in one log_batch
BATCH_ENTITIES = 1000
TAG_VALUE_MAX = 8000


@dataclass(frozen=True)
class MlflowPush(_Record):
    """What `Registry.push_to_mlflow` did: the MLflow run, logged model and registered
    model version that hold the nbmodels version `ref`; `created` is False when the version
    was already there (nothing new was made)."""

    ref: str
    tracking_uri: str
    name: str
    version: str  # the MLflow registered model version number
    run_id: str
    model_id: str | None
    model_uri: str
    alias: str | None
    created: bool


def client_for(tracking_uri: str | None):
    """An `MlflowClient` for the server (tracking and registry at the same URI); an
    `InvalidInputError` naming the extra when MLflow is not installed."""
    try:
        from mlflow import MlflowClient
    except ImportError:
        raise InvalidInputError("MLflow is not installed: pip install 'nbmodels[mlflow]'") \
            from None
    return MlflowClient(tracking_uri, registry_uri=tracking_uri)


def push(registry, detail: VersionDetail, tracking_uri: str) -> MlflowPush:
    """Publish `detail`'s version (see the module docstring) and say what was done."""
    client = client_for(tracking_uri)
    version = detail.version
    found = find_pushed(client, version.name, version.version, version.object_hash)
    if found is not None:
        alias = sync_alias(client, found, version.stage)
        return _record(version.ref, tracking_uri, found, alias, created=False)
    run = detail.run
    experiment_id = _experiment(client, run.experiment if run else "nbmodels")
    version_tags = {"nbmodels.version": version.version, "nbmodels.bump": version.bump,
                    "nbmodels.bump_reason": version.bump_reason,
                    "nbmodels.run_id": version.run_id or "",
                    "nbmodels.object_hash": version.object_hash}
    mlflow_run = client.create_run(experiment_id, run_name=version.ref,
                                   start_time=_millis(run.started_at if run else None))
    run_id = mlflow_run.info.run_id
    _log_run(client, run_id, version, run, version_tags)
    model_id = _log_model(registry, client, experiment_id, run_id, version, version_tags)
    # MLflow prints the run's URL to stdout here, which would corrupt `--json` output
    with contextlib.redirect_stdout(io.StringIO()):
        client.set_terminated(run_id, "FINISHED", end_time=_millis(run.ended_at if run else None))
    _ensure_registered_model(client, version.name)
    created = client.create_model_version(
        version.name, source=f"models:/{model_id}", run_id=run_id, tags=version_tags,
        description=version.note, model_id=model_id, await_creation_for=0)
    alias = sync_alias(client, created, version.stage)
    return _record(version.ref, tracking_uri, created, alias, created=True)


def find_pushed(client, name: str, version: str, object_hash: str):
    """The MLflow model version tagged as nbmodels version `version` of `name`, or None.
    Raises `ConflictError` when it holds other bytes (another registry's `version`)."""
    from mlflow.exceptions import MlflowException

    try:
        found = client.search_model_versions(
            f"name = '{name}' and tags.`nbmodels.version` = '{version}'")
    except MlflowException:  # no such registered model yet
        return None
    for candidate in found:
        pushed_hash = candidate.tags.get("nbmodels.object_hash")
        if pushed_hash not in (None, object_hash):
            raise ConflictError(f"{name} version {candidate.version} on the MLflow server is "
                                f"nbmodels {name}@{version} with other bytes "
                                f"({pushed_hash[:12]}, here {object_hash[:12]}): register "
                                "this model under another version or name")
        return candidate
    return None


def sync_alias(client, model_version, stage: str) -> str | None:
    """Point the alias named like `stage` at `model_version`, and drop the stage aliases
    it held for stages it has left; the alias set, or None for stage `none`."""
    # a searched version may come without its aliases: ask for them
    current = client.get_model_version(model_version.name, model_version.version)
    for alias in current.aliases or []:
        if alias in STAGES and alias != stage:
            client.delete_registered_model_alias(model_version.name, alias)
    if stage == "none":
        return None
    client.set_registered_model_alias(model_version.name, stage, model_version.version)
    return stage


def _log_run(client, run_id: str, version, run, version_tags: dict) -> None:
    from mlflow.entities import Metric, Param, RunTag

    now = int(time.time() * 1000)
    params = [Param(str(k), _param_text(v)) for k, v in version.params.items()]
    metrics = [Metric(str(k), float(v), now, 0) for k, v in version.metrics.items()
               if _is_number(v)]
    tags = {**(run.tags if run else {}), **version.tags, **version_tags,
            "nbmodels.ref": version.ref, "nbmodels.model_type": version.model_type}
    if version.note:
        tags["mlflow.note.content"] = version.note
    if run is not None:
        tags.update({"mlflow.source.type": "NOTEBOOK" if run.notebook else "LOCAL",
                     **({"mlflow.source.name": run.notebook} if run.notebook else {}),
                     **({"mlflow.source.git.commit": run.git["commit"]}
                        if run.git and run.git.get("commit") else {}),
                     **({"mlflow.user": run.user} if run.user else {})})
    run_tags = [RunTag(str(k), str(v)[:TAG_VALUE_MAX]) for k, v in tags.items()]
    for batch in _batches(params, metrics, run_tags):
        client.log_batch(run_id, **batch)
    if run is not None and run.source:
        client.log_text(run_id, run.source, "nbmodels/cell.py")


def _log_model(registry, client, experiment_id: str, run_id: str, version,
               version_tags: dict) -> str:
    from mlflow.entities import LoggedModelOutput

    model = client.create_logged_model(
        experiment_id, name="model", source_run_id=run_id, tags=version_tags,
        params={k: _param_text(v) for k, v in list(version.params.items())[:BATCH_PARAMS]},
        model_type=version.model_type)
    with tempfile.TemporaryDirectory(prefix="nbmodels-mlflow-") as folder:
        registry.export(version.ref, Path(folder) / "model")
        client.log_model_artifacts(model.model_id, str(Path(folder) / "model"))
    client.finalize_logged_model(model.model_id, "READY")
    client.log_outputs(run_id, [LoggedModelOutput(model.model_id, step=0)])
    return model.model_id


def _batches(params: list, metrics: list, tags: list):
    """`log_batch` arguments within MLflow's limits: 100 params, 100 tags, 1000 in all."""
    while params or metrics or tags:
        batch = {"params": params[:BATCH_PARAMS], "tags": tags[:BATCH_PARAMS]}
        room = BATCH_ENTITIES - len(batch["params"]) - len(batch["tags"])
        batch["metrics"] = metrics[:room]
        params, tags, metrics = params[BATCH_PARAMS:], tags[BATCH_PARAMS:], metrics[room:]
        yield batch


def _ensure_registered_model(client, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        try:
            client.create_registered_model(name, tags={"nbmodels": "true"})
        except MlflowException as exc:  # created by another push meanwhile
            if "RESOURCE_ALREADY_EXISTS" not in str(getattr(exc, "error_code", exc)):
                raise


def _experiment(client, name: str) -> str:
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        return client.create_experiment(name)
    except MlflowException:  # created by another push meanwhile
        return client.get_experiment_by_name(name).experiment_id


def _record(ref: str, tracking_uri: str, model_version, alias: str | None,
            created: bool) -> MlflowPush:
    return MlflowPush(ref=ref, tracking_uri=tracking_uri, name=model_version.name,
                      version=str(model_version.version), run_id=model_version.run_id,
                      model_id=getattr(model_version, "model_id", None) or _model_id(model_version),
                      model_uri=f"models:/{model_version.name}/{model_version.version}",
                      alias=alias, created=created)


def _model_id(model_version) -> str | None:
    source = model_version.source or ""
    return source.removeprefix("models:/") if source.startswith("models:/m-") else None


def _param_text(value) -> str:
    return str(value)[:PARAM_VALUE_MAX]


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and not math.isinf(value)


def _millis(iso: str | None) -> int:
    if not iso:
        return int(time.time() * 1000)
    return int(datetime.fromisoformat(iso).timestamp() * 1000)
