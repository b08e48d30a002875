"""The corpus: small notebooks in tests/corpus/ written in the patterns real third-party
notebooks use (issue 8), each executed headless in a real ipykernel, then checked on what
the registry holds and on what the cells showed (SPEC §3)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from sklearn.datasets import load_digits, load_iris

from nbmodels import Registry
from nbmodels.capture import data_fingerprint

pytestmark = pytest.mark.slow  # eight kernels: about 45 s on an idle 2-core machine

CORPUS = Path(__file__).parent / "corpus"
# stderr lines a working cell never shows. Exceptions come as error outputs; library warnings
# are fine on stderr, even GridSearchCV's FitFailedWarning quoting the failed fit's traceback.
_FAILURE_MARKS = ("UsageError", "nbmodels could not record")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Executed:
    """A corpus notebook after a headless run: its cells by id and its registry."""

    def __init__(self, nb, home: Path):
        self.cells = {cell.id: cell for cell in nb.cells}
        self.registry = Registry(home)

    def outputs(self, cell_id: str) -> list:
        return self.cells[cell_id].get("outputs", [])

    def text(self, cell_id: str) -> str:
        """Everything the cell showed as text: streams, displays and results."""
        parts = []
        for out in self.outputs(cell_id):
            if out.output_type == "stream":
                parts.append(out.text)
            elif out.output_type in ("display_data", "execute_result"):
                parts.append(out.data.get("text/plain", ""))
            elif out.output_type == "error":
                parts.append("\n".join(out.traceback))
        return _ANSI.sub("", "\n".join(parts))

    def stderr(self, cell_id: str) -> str:
        return "".join(o.text for o in self.outputs(cell_id)
                       if o.output_type == "stream" and o.name == "stderr")

    def problems(self, cell_id: str) -> list[str]:
        """Errors the cell showed: error outputs, UsageError lines, recording failures."""
        found = [f"{o.ename}: {o.evalue}" for o in self.outputs(cell_id)
                 if o.output_type == "error"]
        found += [line for line in self.stderr(cell_id).splitlines()
                  if any(mark in line for mark in _FAILURE_MARKS)]
        return found

    def assert_ran(self, *cell_ids: str) -> None:
        for cell_id in cell_ids:
            assert self.problems(cell_id) == [], f"cell {cell_id!r} showed an error"

    def runs(self, experiment: str) -> list:
        """The runs of an experiment, oldest first, with their variables and inputs."""
        listed = self.registry.list_runs(experiment=experiment)
        return [self.registry.run(r.id) for r in reversed(listed)]

    def only_run(self, experiment: str, cell_id: str):
        """The one run of `experiment`, checked to be the one the cell's summary shows."""
        runs = self.runs(experiment)
        assert len(runs) == 1, f"{experiment}: {len(runs)} runs"
        assert runs[0].id in self.text(cell_id), f"no summary of {experiment} under the cell"
        return runs[0]


@pytest.fixture
def execute(tmp_path, registry_home):
    """Run a corpus notebook from a copy in a tmp folder, with NBMODELS_HOME in tmp_path."""
    opened = []

    def run(name: str) -> Executed:
        workdir = tmp_path / "work"
        workdir.mkdir()
        path = workdir / f"{name}.ipynb"
        shutil.copy(CORPUS / f"{name}.ipynb", path)
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=180, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": str(workdir)}})
        client.execute(env={**os.environ, "NBMODELS_HOME": str(registry_home)})
        opened.append(Executed(nb, registry_home))
        return opened[-1]

    yield run
    for executed in opened:
        executed.registry.close()


def _roles(run) -> dict[str, str]:
    return {v.name: v.role for v in run.variables}


def _input_names(run) -> set[str]:
    return {i.name for i in run.inputs}


def _no_nan(text: str):
    raise ValueError(f"not strict JSON: {text}")


def test_sklearn_transformers_and_clusterers_are_models(execute):
    nb = execute("sklearn_transformers")
    nb.assert_ran("data", "transformers", "clusterers", "embeddings", "pipeline", "register")
    expected = {
        "transformers": {"pca", "kbest", "union", "scaler"},
        "clusterers": {"dbscan", "agglo", "spectral"},
        "embeddings": {"tsne", "isomap"},
        "pipeline": {"scaler", "pca", "clf", "pipe"},
    }
    for experiment, models in expected.items():
        run = nb.only_run(experiment, experiment)
        roles = _roles(run)
        assert {name: roles.get(name) for name in models} == dict.fromkeys(models, "model"), \
            experiment
        assert {v.name for v in run.models} == models, experiment
    pipeline_run = nb.runs("pipeline")[0]
    assert pipeline_run.metrics["accuracy"] > 0.9
    # a bare %register: the pipeline, which contains the other three models and predicts
    assert list(nb.registry.models()["name"]) == ["pipe"]
    version = nb.registry.get("pipe@1.0.0")
    assert version.model_type.endswith("Pipeline") and version.run_id == pipeline_run.id
    assert "pipe@1.0.0" in nb.text("register")


def test_xgboost_train_loop_rerun_records_params_and_bumps_minor(execute):
    nb = execute("xgboost_train")
    nb.assert_ran("data", "train-20", "train-20-again", "register-20", "train-40",
                  "register-40", "sklearn-api-20", "register-sklearn-20", "sklearn-api-40",
                  "register-sklearn-40")
    first, again, more = nb.runs("xgb-train")
    for run, cell_id in ((first, "train-20"), (again, "train-20-again"), (more, "train-40")):
        assert run.id in nb.text(cell_id)
    # a re-run is the whole record again, never a diff against the previous run
    assert first.params["num_round"] == 20 and again.params["num_round"] == 20
    assert again.params == first.params and again.metrics == first.metrics
    assert {v.name for v in again.variables} == {v.name for v in first.variables}
    assert more.params["num_round"] == 40
    for run in (first, again, more):
        assert [m.name for m in run.models] == ["bst"]
        assert {"dtrain", "dtest"} <= _input_names(run)
        assert all("DMatrix" in i.type for i in run.inputs if i.name in ("dtrain", "dtest"))
    versions = nb.registry.versions("bst")
    assert list(versions["version"]) == ["1.0.0", "1.1.0"]
    assert list(versions["run_id"]) == [again.id, more.id]
    reason = versions["bump_reason"].iloc[1]
    assert versions["bump"].iloc[1] == "minor"
    assert "num_round" in reason and "cell code changed" not in reason
    assert "∅" not in reason
    # the scikit-learn API: missing=nan among the hyperparameters
    sk_first, sk_second = nb.runs("xgb-sklearn")
    assert sk_first.params["n_estimators"] == 20 and sk_second.params["n_estimators"] == 40
    assert np.isnan(sk_first.params["missing"])
    sk_versions = nb.registry.versions("xgb_clf")  # NaN in params must not break listings
    assert list(sk_versions["version"]) == ["1.0.0", "1.1.0"]
    assert sk_versions["bump"].iloc[1] == "minor"
    assert "n_estimators" in sk_versions["bump_reason"].iloc[1]
    assert "missing" not in sk_versions["bump_reason"].iloc[1]
    assert len(nb.registry.runs()) == 5


def test_lightgbm_dataset_is_an_input_and_the_booster_the_model(execute):
    nb = execute("lightgbm_dataset")
    nb.assert_ran("data", "train", "register", "restore", "same-predictions")
    run = nb.only_run("lgb-train", "train")
    assert [m.name for m in run.models] == ["booster"]
    assert _roles(run)["booster"] == "model"
    assert {"train_set", "valid_set"} <= _input_names(run)
    assert all("Dataset" in i.type for i in run.inputs if i.name in ("train_set", "valid_set"))
    assert _roles(run).get("train_set") != "model"
    assert run.params["num_boost_round"] == 30
    assert run.params["params"] == {"objective": "binary", "num_leaves": 15,
                                    "learning_rate": 0.1, "verbose": -1}
    assert 0.9 < run.metrics["auc"] <= 1.0
    assert nb.registry.get("booster@1.0.0").run_id == run.id
    assert nb.text("same-predictions").strip() == "True"


def test_pytorch_modules_trained_in_place_are_the_models(execute):
    nb = execute("pytorch_loop")
    nb.assert_ran("data", "define-model", "train-optimizer", "register", "restore",
                  "same-predictions", "define-sequential", "train-manual")
    run = nb.only_run("torch-optimizer", "train-optimizer")
    roles = _roles(run)
    assert roles.get("model") == "model"  # trained by optimizer.step(), never rebound
    assert roles.get("loss_fn") != "model" and roles.get("optimizer") != "model"
    assert [m.name for m in run.models] == ["model"]
    assert run.params["lr"] == 0.05 and run.params["epochs"] == 50
    assert "final_loss" in run.metrics
    assert {"X", "y"} <= _input_names(run)  # tensors the cell read
    assert "model" in set(nb.registry.models()["name"])
    assert nb.registry.get("model@1.0.0").run_id == run.id
    assert nb.text("same-predictions").split() == ["True", "True"]
    manual = nb.only_run("torch-manual", "train-manual")
    assert [m.name for m in manual.models] == ["seq"]
    assert {"X", "y"} <= _input_names(manual)
    assert manual.params["learning_rate"] == 0.01


def test_grid_search_with_nan_scores_lists_and_registers(execute, registry_home):
    nb = execute("gridsearch_nan")
    nb.assert_ran("data", "baseline", "grid", "register-grid", "register-best", "restore-best",
                  "same-predictions")
    baseline = nb.only_run("baseline", "baseline")
    grid = nb.only_run("grid", "grid")
    assert [m.name for m in grid.models] == ["gs"]
    assert np.isnan(grid.metrics["val_loss"])
    runs = nb.registry.runs()
    assert len(runs) == 2
    assert list(nb.registry.runs(order_by="metrics.val_loss")["id"]) == [baseline.id, grid.id]
    assert list(nb.registry.runs(where={"metrics.val_loss": ("<", 1.0)})["id"]) == [baseline.id]
    assert list(nb.registry.versions("grid")["version"]) == ["1.0.0"]
    best = nb.registry.versions("best")
    assert list(best["version"]) == ["1.0.0"]
    assert nb.registry.get("best@1.0.0").model_type.endswith("LogisticRegression")
    assert nb.text("same-predictions").strip() == "True"
    cli = Path(sys.executable).with_name("nbmodels")
    printed = {}
    for command in (["runs"], ["versions", "grid"], ["models"]):
        done = subprocess.run([str(cli), "--home", str(registry_home), *command, "--json"],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        printed[command[0]] = json.loads(done.stdout, parse_constant=_no_nan)
        assert printed[command[0]], command
    grid_row = next(row for row in printed["runs"] if row["id"] == grid.id)
    assert grid_row["metrics"]["val_loss"] is None  # NaN as null


def test_quoted_options_parse_like_a_shell(execute):
    nb = execute("quoted_options")
    nb.assert_ran("data", "track-quoted", "register-quoted", "check-unset")
    run = nb.only_run("exp", "track-quoted")
    assert run.tags == {"owner": "Jane Doe"}
    assert run.note == 'the "baseline" model'
    version = nb.registry.get("m@1.0.0")
    assert version.tags == {"owner": "a b"} and version.note == 'a "b" c'
    assert "m@1.0.0" in nb.text("register-quoted")
    for cell_id in ("track-unterminated", "register-unterminated"):
        shown = [line for line in nb.text(cell_id).splitlines() if line.strip()]
        assert len(shown) == 1 and shown[0].startswith("UsageError"), (cell_id, shown)
        assert not [o for o in nb.outputs(cell_id) if o.output_type == "error"]
    assert nb.text("check-unset").strip() == "False"  # the cell did not run
    assert len(nb.registry.runs()) == 1
    assert list(nb.registry.models()["name"]) == ["m"]


def test_inputs_are_data_read_not_bound_or_parameters(execute):
    nb = execute("inputs")
    nb.assert_ran("data", "loop-variable", "restore-X", "attribute", "subscript",
                  "function-parameter", "read-by-name")
    digits, iris = load_digits(), load_iris()
    assert "X" not in _input_names(nb.only_run("loop-variable", "loop-variable"))
    attribute = nb.only_run("attribute", "attribute")
    assert {data_fingerprint(digits.data), data_fingerprint(digits.target)} <= \
        {i.fingerprint for i in attribute.inputs}
    subscript = nb.only_run("subscript", "subscript")
    assert {data_fingerprint(iris.data), data_fingerprint(iris.target)} <= \
        {i.fingerprint for i in subscript.inputs}
    assert all(i.object_hash for i in [*attribute.inputs, *subscript.inputs])  # stored
    assert _input_names(nb.only_run("function-parameter", "function-parameter")) == set()
    by_name = nb.only_run("read-by-name", "read-by-name")  # the control: X read is an input
    assert _input_names(by_name) == {"X"}
    assert by_name.inputs[0].fingerprint == data_fingerprint(iris.data[:, :2])


def test_tracked_cell_behaves_as_untracked(execute):
    nb = execute("untracked_behaviour")
    nb.assert_ran("data", "await", "check-await", "score-hidden", "score-shown")
    assert nb.only_run("await", "await").status == "ok"
    assert nb.text("check-await").strip() == "True"
    nb.only_run("score-hidden", "score-hidden")
    assert [o for o in nb.outputs("score-hidden") if o.output_type == "execute_result"] == []
    shown = [o for o in nb.outputs("score-shown") if o.output_type == "execute_result"]
    assert len(shown) == 1 and float(shown[0].data["text/plain"]) > 0.9  # the control
    errors = [o for o in nb.outputs("failing") if o.output_type == "error"]
    assert len(errors) == 1 and errors[0].ename == "ValueError"
    traceback = _ANSI.sub("", "\n".join(errors[0].traceback))
    assert "run_cell_magic" not in traceback
    # one frame for the cell, numbered as the cell is, as in an untracked cell
    assert re.findall(r"Cell In\[(\d+)\]", traceback) == [str(nb.cells["failing"].execution_count)]
    failed = nb.only_run("failing", "failing")
    assert failed.status == "failed" and "ValueError" in failed.error
    assert failed.params["n_features"] == 2
