"""`%autotrack on|off` and `NBModels.autotrack` (issue 10): a cell that fits a model is
tracked as if it began with `%%track`; other cells make no run."""

from __future__ import annotations

import numpy as np
import pytest
from IPython.utils.capture import capture_output

import nbmodels
from nbmodels import Registry
from nbmodels.lineage import fits_model

FIT = ("from sklearn.tree import DecisionTreeClassifier\n"
       "clf = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)")


@pytest.fixture
def auto_shell(shell):
    rng = np.random.default_rng(0)
    shell.push({"X": rng.normal(size=(60, 3)), "y": np.arange(60) % 2})
    shell.run_line_magic("autotrack", "on")
    yield shell
    shell.run_line_magic("autotrack", "off")


def _runs(home) -> int:
    return Registry(home).count_runs() if (home / "registry.db").exists() else 0


def _run(shell, cell: str):
    with capture_output() as shown:
        result = shell.run_cell(cell, store_history=True)
    assert result.success, result
    return result, shown


def test_a_fitting_cell_without_the_magic_makes_one_run(auto_shell, registry_home):
    _, shown = _run(auto_shell, FIT)
    assert _runs(registry_home) == 1
    run = nbmodels.last_run()
    assert [m.name for m in run.models] == ["clf"]
    assert run.params["max_depth"] == 2 and run.params["random_state"] == 0
    assert {i.name for i in run.inputs} == {"X", "y"}
    assert run.source.rstrip() == FIT  # the cell as typed: no %%track line was added
    assert run.id in shown.outputs[0].data["text/plain"]  # the same summary as %%track
    assert Registry(registry_home).lineage(run.id).cells[-1].source == FIT


def test_a_cell_that_fits_nothing_makes_no_run(auto_shell, registry_home):
    for cell in ("n = X.shape[0]\nprint(n)",
                 "def train_model(model):\n    return model.fit(X, y)",  # defines, fits nothing
                 "fitted = 'fit'  # the word alone"):
        _run(auto_shell, cell)
    assert _runs(registry_home) == 0


def test_the_cell_behaves_as_without_autotrack(auto_shell, registry_home):
    result, _ = _run(auto_shell, "from sklearn.preprocessing import StandardScaler\n"
                                 "scaler = StandardScaler()\nscaler.fit(X)")
    assert result.result is auto_shell.user_ns["scaler"]  # Out[n]: the last expression
    assert _runs(registry_home) == 1 and [m.name for m in nbmodels.last_run().models] == ["scaler"]
    result, _ = _run(auto_shell, "%%track tracked\n" + FIT)  # marked already: tracked once
    assert _runs(registry_home) == 2 and nbmodels.last_run().experiment == "tracked"
    _run(auto_shell, "%%time\n" + FIT)  # a %%time cell is tracked as %%track tracks it
    assert _runs(registry_home) == 3


def test_off_and_the_config_option(auto_shell, registry_home):
    with capture_output() as shown:
        auto_shell.run_line_magic("autotrack", "off")
    assert "autotrack is off" in shown.stdout
    _run(auto_shell, FIT)
    assert _runs(registry_home) == 0
    auto_shell.run_line_magic("config", "NBModels.autotrack = True")
    _run(auto_shell, FIT)
    assert _runs(registry_home) == 1
    assert not auto_shell.run_cell("%autotrack maybe").success  # one UsageError line


def test_the_rule_reads_the_source_only():
    assert fits_model("bst = xgb.train(params, dtrain, num_round)")
    assert fits_model("for c in (0.1, 1.0):\n    models[c] = SVC(C=c).fit(X, y)")
    assert fits_model("%time pca.fit_transform(X)\nmodel.partial_fit(X, y)")
    assert not fits_model("def fit_all():\n    clf.fit(X, y)")
    assert not fits_model("lambda: clf.fit(X, y)")
    assert not fits_model("train_df = pd.read_csv('train.csv')")
