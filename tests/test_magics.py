"""The magics inside a real IPython shell: %%track, %register, %restore, %stage."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

import nbmodels
from nbmodels import Registry


def _fit_cell(c: float = 1.0, drop: str | None = None) -> str:
    features = f"X_train.drop(columns=[{drop!r}])" if drop else "X_train"
    return (f"features = {features}\n"
            f"C = {c}\n"
            "clf = LogisticRegression(C=C, max_iter=5000).fit(features, y_train)\n"
            "accuracy = clf.score(X_test[features.columns], y_test)\n")


@pytest.fixture
def bc_shell(shell, breast_cancer):
    X_train, X_test, y_train, y_test = breast_cancer
    shell.push({"X_train": X_train, "X_test": X_test, "y_train": y_train, "y_test": y_test})
    shell.run_cell("from sklearn.linear_model import LogisticRegression")
    return shell


def _rows(home, table: str) -> int:
    if not (home / "registry.db").exists():
        return 0
    with sqlite3.connect(home / "registry.db") as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_track_records_code_params_metrics_model_and_inputs(bc_shell, registry_home):
    with capture_output() as shown:
        bc_shell.run_cell_magic("track", "exp1 --note first --tag team=risk", _fit_cell())
    run = nbmodels.last_run()
    assert run.experiment == "exp1" and run.status == "ok" and run.note == "first"
    assert run.tags == {"team": "risk"}
    assert run.source == _fit_cell()
    assert run.params["C"] == 1.0 and run.params["max_iter"] == 5000  # cell + get_params()
    assert run.metrics["accuracy"] == pytest.approx(bc_shell.user_ns["accuracy"])
    assert [m.name for m in run.models] == ["clf"]
    assert {i.name for i in run.inputs} == {"X_train", "X_test", "y_train", "y_test"}
    assert all(i.object_hash for i in run.inputs)  # stored, not only fingerprinted
    assert "numpy" in run.packages and "scikit-learn" in run.packages
    assert run.id in shown.outputs[0].data["text/plain"]
    assert "accuracy" in shown.outputs[0].data["text/html"]


def test_track_leaves_the_cell_behaviour_unchanged(shell):
    result = shell.run_cell("%%track\nx = 2\nx * 21")
    assert result.result == 42 and shell.user_ns["x"] == 2
    assert shell.run_cell("%%track\ny = 1\ny + 1;").result is None  # ; still silences


def test_failing_cell_raises_unchanged_and_is_recorded_failed(shell):
    shell.run_cell("class Boom(Exception): pass")
    with pytest.raises(Exception) as raised:
        shell.run_cell_magic("track", "", "z = 1\nraise Boom('bad data')")
    assert type(raised.value).__name__ == "Boom" and str(raised.value) == "bad data"
    run = nbmodels.last_run()
    assert run.status == "failed" and "Boom: bad data" in run.error
    assert run.params == {"z": 1}  # what ran before the error is kept


def test_uncapturable_values_are_listed_with_reasons(shell, tmp_path):
    (tmp_path / "data.txt").write_text("hello")
    cell = ("import threading\n"
            "handle = open('data.txt')\n"
            "numbers = (i for i in range(3))\n"
            "lock = threading.Lock()\n"
            "ok_value = [1, 2]\n")
    shell.run_cell_magic("track", "", cell)
    assert shell.user_ns["handle"].read() == "hello"  # the cell worked
    reasons = {v.name: v.reason for v in nbmodels.last_run().variables}
    assert reasons["handle"] == "not picklable: _io.TextIOWrapper"
    assert reasons["numbers"] == "not picklable: generator"
    assert reasons["lock"] == "not picklable: _thread.lock"
    assert reasons["ok_value"] is None
    shell.user_ns["handle"].close()


def test_register_infers_semver_with_reasons(bc_shell):
    steps = [(_fit_cell(1.0), "1.0.0", "initial", "first version"),
             (_fit_cell(0.5), "1.1.0", "minor", "hyperparameters changed: C 1 → 0.5"),
             (_fit_cell(0.5, drop="mean radius"), "2.0.0", "major", "removed 'mean radius'")]
    for cell, version, bump, reason in steps:
        bc_shell.run_cell_magic("track", "", cell)
        with capture_output() as shown:
            bc_shell.run_line_magic("register", "clf bc")
        got = Registry().get(f"bc@{version}")
        assert got.bump == bump and reason in got.bump_reason
        assert got.run_id == nbmodels.last_run().id  # lineage to the run
        assert f"bc@{version}" in shown.stdout + shown.outputs[0].data["text/plain"]
    # Same params, data and metrics, different code: a patch.
    bc_shell.run_cell_magic("track", "", "# retrained with a comment\n" +
                            _fit_cell(0.5, drop="mean radius").replace("5000", "5001"))
    bc_shell.run_line_magic("register", "clf bc --bump patch")
    assert Registry().get("bc").version == "2.0.1"


def test_patch_inferred_when_only_code_changes(registry):
    from sklearn.tree import DecisionTreeClassifier

    from tests.helpers import record_fit

    X, y = np.arange(20.0).reshape(10, 2), np.array([0, 1] * 5)
    first = record_fit(registry, DecisionTreeClassifier(random_state=0).fit(X, y), "a = 1")
    registry.register(first, "tree")
    retrained = DecisionTreeClassifier(random_state=0).fit(X, y)
    retrained.pipeline_note_ = "refactored feature code"  # same params, other bytes
    second = record_fit(registry, retrained, "a = 2")
    version = registry.register(second, "tree")
    assert (version.version, version.bump) == ("1.0.1", "patch")
    assert "cell code changed" in version.bump_reason


def test_register_defaults_to_the_model_of_the_last_run(bc_shell):
    bc_shell.run_cell_magic("track", "", _fit_cell())
    bc_shell.run_line_magic("register", "")
    assert Registry().get("clf").version == "1.0.0"


def test_register_same_bytes_twice_makes_one_version_and_one_file(bc_shell, registry_home):
    bc_shell.run_cell_magic("track", "", _fit_cell())
    bc_shell.run_line_magic("register", "clf bc")
    files_before = sorted((registry_home / "objects").rglob("*"))
    with capture_output() as shown:
        bc_shell.run_line_magic("register", "clf bc")
    assert "already bc@1.0.0" in shown.outputs[0].data["text/plain"]
    assert len(Registry().list_versions("bc")) == 1
    assert sorted((registry_home / "objects").rglob("*")) == files_before


def test_restore_gives_equal_predictions_and_stage_moves(bc_shell):
    bc_shell.run_cell_magic("track", "", _fit_cell(1.0))
    bc_shell.run_line_magic("register", "clf bc")
    expected = bc_shell.user_ns["clf"].predict(bc_shell.user_ns["X_test"])
    bc_shell.run_cell_magic("track", "", _fit_cell(0.01))
    bc_shell.run_line_magic("register", "clf bc --stage production")
    bc_shell.run_line_magic("restore", "bc@1.0.0 --as old")
    np.testing.assert_array_equal(bc_shell.user_ns["old"].predict(bc_shell.user_ns["X_test"]),
                                  expected)
    bc_shell.run_line_magic("stage", "bc@1.0.0 production --note 'better on holdout'")
    history = Registry().history("bc")
    assert list(history["to_stage"]) == ["production", "archived", "production"]
    assert history["note"].iloc[-1] == "better on holdout"
    assert Registry().get("bc@production").version == "1.0.0"


def test_restore_all_binds_every_captured_variable(bc_shell):
    bc_shell.run_cell_magic("track", "", _fit_cell())
    run_id = nbmodels.last_run().id
    for name in ("clf", "C", "accuracy", "features"):
        bc_shell.user_ns.pop(name)
    bc_shell.run_line_magic("restore", f"{run_id[:8].lower()} --all")
    assert bc_shell.user_ns["C"] == 1.0 and "clf" in bc_shell.user_ns
    assert bc_shell.user_ns["features"].equals(bc_shell.user_ns["X_train"])


def test_log_param_and_metric_inside_and_after_a_tracked_cell(shell):
    shell.run_cell_magic("track", "", "import nbmodels\nnbmodels.log_param('lr', 0.1)\n"
                                      "nbmodels.log_metric('custom', 3.5)\nv = 1")
    shell.run_cell("nbmodels.log_metric('late', 2.0)")
    run = nbmodels.last_run()
    assert run.params["lr"] == 0.1 and run.metrics == {"custom": 3.5, "late": 2.0}


def test_config_home_wins_over_environment(shell, tmp_path):
    home = tmp_path / "elsewhere"
    shell.run_line_magic("config", f"NBModels.home = {str(home)!r}")
    shell.run_cell_magic("track", "", "q = 1")
    assert (home / "registry.db").is_file()


BAD_LINES = [
    ("register", "clf bad/name"),
    ("register", "clf bc --version 1.2"),
    ("register", "clf bc --bump huge"),
    ("register", "clf bc --stage prod"),
    ("register", "clf bc --tag novalue"),
    ("register", "nosuchvar bc"),
    ("register", "clf bc --nosuchflag"),
    ("restore", "bc@1.0"),
    ("restore", "nosuchmodel"),
    ("restore", "bc@9.9.9"),
    ("restore", "bc --as 1bad"),
    ("stage", "bc@1.0.0 prod"),
    ("stage", "bc@7.0.0 production"),
    ("stage", "other@1.0.0 production"),
]


@pytest.mark.parametrize("magic,line", BAD_LINES)
def test_bad_input_is_one_line_and_writes_nothing(bc_shell, registry_home, magic, line):
    bc_shell.run_cell_magic("track", "", _fit_cell())
    bc_shell.run_line_magic("register", "clf bc")
    counts = {t: _rows(registry_home, t) for t in ("runs", "versions", "transitions", "objects")}
    with pytest.raises(UsageError) as raised:
        bc_shell.run_line_magic(magic, line)
    message = str(raised.value)
    assert message and "\n" not in message and "Traceback" not in message
    assert {t: _rows(registry_home, t) for t in counts} == counts


def test_bad_track_flag_runs_nothing(shell, registry_home):
    with pytest.raises(UsageError):
        shell.run_cell_magic("track", "--tag oops", "side_effect = 1")
    assert "side_effect" not in shell.user_ns and _rows(registry_home, "runs") == 0


def test_notes_and_tags_are_escaped_in_the_summary(shell):
    evil = "<img src=x onerror=alert(1)>"
    with capture_output() as shown:
        shell.run_cell_magic("track", f"--tag 'k={evil}'", f"name = {evil!r}")
    html = shown.outputs[0].data["text/html"]
    assert evil not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_cell_cost_does_not_touch_the_rest_of_the_namespace(shell):
    """Given a big namespace, a tracked cell pickles and hashes only what it bound/read."""
    shell.run_cell("class Spy:\n"
                   "    pickled = 0\n"
                   "    def __reduce__(self):\n"
                   "        Spy.pickled += 1\n"
                   "        return (Spy, ())\n"
                   "spies = {i: Spy() for i in range(1000)}\n"
                   "watched = Spy()")
    shell.run_cell_magic("track", "", "fresh = 1")
    assert shell.user_ns["Spy"].pickled == 0
    shell.run_cell_magic("track", "", "watched = Spy()")
    assert shell.user_ns["Spy"].pickled == 1


def test_import_and_load_ext_stay_light():
    """`import nbmodels` loads no IPython/pandas/sqlite-utils; `%load_ext` no pandas,
    sqlite-utils, ipywidgets or ML library."""
    import subprocess
    import sys

    code = ("import sys, nbmodels\n"
            "heavy = ['IPython', 'pandas', 'sqlite_utils', 'ipywidgets', 'sklearn', 'joblib']\n"
            "print([m for m in heavy if m in sys.modules])\n"
            "from IPython.testing.globalipapp import start_ipython\n"
            "start_ipython().run_line_magic('load_ext', 'nbmodels')\n"
            "print([m for m in heavy[1:] if m in sys.modules])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["[]", "[]"], out.stdout


def test_params_metrics_and_ignore_flags(shell):
    shell.run_cell_magic("track", "--params layers --metrics best --ignore secret",
                         "layers = (64, 32)\nbest = 0.7\nsecret = 'token'\nplain_number = 3")
    run = nbmodels.last_run()
    assert run.params == {"layers": [64, 32], "plain_number": 3}
    assert run.metrics == {"best": 0.7}
    assert run.variable("secret") is None


def test_restore_of_a_damaged_object_is_one_integrity_line_and_binds_nothing(bc_shell):
    bc_shell.run_cell_magic("track", "", _fit_cell())
    bc_shell.run_line_magic("register", "clf bc")
    version = Registry().get("bc")
    path = Registry().objects.path(version.object_hash)
    path.write_bytes(b"\x00" + path.read_bytes()[1:])
    with pytest.raises(UsageError) as raised:
        bc_shell.run_line_magic("restore", "bc@1.0.0 --as damaged")
    assert "integrity" in str(raised.value) and version.object_hash[:12] in str(raised.value)
    assert "damaged" not in bc_shell.user_ns


def test_store_inputs_false_keeps_fingerprints_only(bc_shell, registry_home):
    bc_shell.run_line_magic("config", "NBModels.store_inputs = False")
    try:
        bc_shell.run_cell_magic("track", "", _fit_cell())
    finally:
        bc_shell.run_line_magic("config", "NBModels.store_inputs = True")
    inputs = nbmodels.last_run().inputs
    assert inputs and all(i.object_hash is None and i.fingerprint for i in inputs)


def test_register_right_after_track_reuses_the_stored_bytes(bc_shell, monkeypatch):
    """Given a model tracked in the previous cell, %register does not serialize it again;
    after any other cell ran, it does (the model may have changed)."""
    from nbmodels.objects import ObjectStore

    bc_shell.run_cell("%%track\n" + _fit_cell(1.0))
    puts = []
    real_put = ObjectStore.put
    monkeypatch.setattr(ObjectStore, "put", lambda self, obj, **kw: puts.append(obj) or
                        real_put(self, obj, **kw))
    bc_shell.run_cell("%register clf bc")
    assert puts == [] and Registry().get("bc").run_id == nbmodels.last_run().id
    bc_shell.run_cell("%%track\n" + _fit_cell(0.5))
    bc_shell.run_cell("clf.fit(X_train.iloc[:100], y_train.iloc[:100])")  # changed in place
    puts.clear()
    bc_shell.run_cell("%register clf bc")
    assert len(puts) == 1
    version = Registry().get("bc")
    assert version.version == "1.1.0" and version.run_id is None  # not the tracked bytes
    np.testing.assert_array_equal(Registry().load("bc").predict(bc_shell.user_ns["X_test"]),
                                  bc_shell.user_ns["clf"].predict(bc_shell.user_ns["X_test"]))
