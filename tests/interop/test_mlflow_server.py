"""Push to and import from a real `mlflow server` (SQLite store, artifact folder), checked
through MLflow's own client: what arrived, that a second push makes nothing, and that an
import brings a model back with its run's params and metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nbmodels import Registry
from nbmodels.cli import main
from nbmodels.errors import NotFoundError

from .conftest import tracked

mlflow = pytest.importorskip("mlflow")
pytestmark = pytest.mark.slow  # one mlflow server for the module: ~20 s to start


@pytest.fixture
def client(mlflow_server):
    return mlflow.MlflowClient(mlflow_server, registry_uri=mlflow_server)


@pytest.fixture
def forest(registry, frame_data):
    """`forest@1.0.0` from a tracked run, in staging with a note; a metric and a tag."""
    from sklearn.ensemble import RandomForestClassifier

    X, y = frame_data
    model = tracked(registry, RandomForestClassifier(n_estimators=4, max_depth=3,
                                                     random_state=0).fit(X, y), X, y,
                    source="model = RandomForestClassifier(max_depth=3).fit(X, y)\nacc = 0.93",
                    acc=0.93)
    return registry.register(model, "forest", stage="staging", note="first <try>",
                             tags={"team": "risk"})


def counts(client, name):
    experiments = [e.experiment_id for e in client.search_experiments()]
    return (len(client.search_runs(experiments)), len(client.search_model_versions(f"name = '{name}'")),
            len(client.search_logged_models(experiment_ids=experiments)))


def test_push_sends_run_model_version_tags_and_alias(registry, forest, client, mlflow_server,
                                                      frame_data, tmp_path):
    pushed = registry.push_to_mlflow("forest@1.0.0", mlflow_server)
    assert pushed.created and pushed.name == "forest" and pushed.alias == "staging"

    version = client.get_model_version("forest", pushed.version)
    assert version.tags["nbmodels.version"] == "1.0.0"
    assert version.tags["nbmodels.bump"] == "initial"
    assert version.tags["nbmodels.bump_reason"] == "first version"
    assert version.tags["nbmodels.run_id"] == forest.run_id
    assert version.description == "first <try>"
    assert client.get_model_version_by_alias("forest", "staging").version == pushed.version

    run = client.get_run(version.run_id)
    assert run.data.params["max_depth"] == "3"
    assert run.data.metrics["acc"] == 0.93
    assert run.data.tags["team"] == "risk"
    assert run.data.tags["nbmodels.version"] == "1.0.0"
    assert run.info.status == "FINISHED"
    cell = client.download_artifacts(run.info.run_id, "nbmodels/cell.py")
    assert open(cell).read() == registry.run(forest.run_id).source
    assert pushed.model_id and client.get_logged_model(pushed.model_id).source_run_id == run.info.run_id

    local = mlflow.artifacts.download_artifacts(
        client.get_model_version_download_uri("forest", pushed.version),
        dst_path=str(tmp_path / "served"), tracking_uri=mlflow_server)
    X, _ = frame_data
    served = mlflow.pyfunc.load_model(local)
    assert (np.asarray(served.predict(X)) == registry.load("forest").predict(X)).all()


def test_pushing_again_creates_nothing_and_moves_the_alias(registry, forest, client, mlflow_server):
    first = registry.push_to_mlflow("forest@1.0.0", mlflow_server)
    before = counts(client, "forest")
    again = registry.push_to_mlflow("forest@1.0.0", mlflow_server)
    assert not again.created and again.version == first.version and again.run_id == first.run_id
    assert counts(client, "forest") == before

    registry.set_stage("forest@1.0.0", "production", note="ship it")
    moved = registry.push_to_mlflow("forest@1.0.0", mlflow_server)
    assert not moved.created and moved.alias == "production"
    assert counts(client, "forest") == before
    aliases = client.get_model_version("forest", first.version).aliases
    assert aliases == ["production"]


def test_import_brings_the_model_back_with_params_and_metrics(registry, forest, mlflow_server,
                                                              frame_data, tmp_path):
    pushed = registry.push_to_mlflow("forest@1.0.0", mlflow_server)
    other = Registry(tmp_path / "other")
    version = other.import_mlflow(pushed.model_uri, tracking_uri=mlflow_server)
    assert version.ref == "forest@1.0.0" and version.created
    assert version.params["max_depth"] == 3 and version.params["n_estimators"] == 4
    assert version.metrics == {"acc": 0.93}
    assert version.tags["mlflow.model_uri"] == pushed.model_uri
    run = other.run(version.run_id)
    assert run.source == registry.run(forest.run_id).source  # the cell came along
    X, _ = frame_data
    assert (other.load("forest").predict(X) == registry.load("forest").predict(X)).all()

    # a second import of a changed model is the next version, its bump inferred
    again = other.import_mlflow("models:/forest@staging", tracking_uri=mlflow_server)
    assert not again.created or again.version != "1.0.0"
    other.close()


def test_import_of_a_model_mlflow_logged_itself(registry, client, mlflow_server, frame_data):
    from sklearn.linear_model import LogisticRegression

    X, y = frame_data
    experiment = client.create_experiment("native")
    run = client.create_run(experiment, run_name="native run")
    client.log_param(run.info.run_id, "C", "0.5")
    client.log_metric(run.info.run_id, "f1", 0.8)
    mlflow.set_tracking_uri(mlflow_server)
    try:
        with mlflow.start_run(run_id=run.info.run_id):
            mlflow.sklearn.log_model(LogisticRegression(C=0.5, max_iter=500).fit(X, y),
                                     name="model", serialization_format="cloudpickle",
                                     pip_requirements=["scikit-learn"])
    finally:
        mlflow.set_tracking_uri(None)
    version = registry.import_mlflow(f"runs:/{run.info.run_id}/model", "native",
                                     tracking_uri=mlflow_server)
    assert version.ref == "native@1.0.0"
    assert version.params["C"] == 0.5 and version.metrics["f1"] == 0.8
    assert registry.run(version.run_id).experiment == "native"
    assert registry.load("native").predict(X[:3]).shape == (3,)


def test_cli_import_and_errors(registry, forest, mlflow_server, capsys):
    pushed = registry.push_to_mlflow("forest@1.0.0", mlflow_server)
    code = main(["import", pushed.model_uri, "copy", "--mlflow", mlflow_server, "--json"])
    assert code == 0
    reply = json.loads(capsys.readouterr().out)
    assert reply["name"] == "copy" and reply["version"] == "1.0.0"
    assert reply["metrics"] == {"acc": 0.93}
    assert main(["import", "models:/missing/1", "--mlflow", mlflow_server]) == 1
    assert "missing" in capsys.readouterr().err
    with pytest.raises(NotFoundError):
        registry.import_mlflow("models:/missing/1", tracking_uri=mlflow_server)
