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
    result = shell.run_cell("%%track\nx = 2\nx * 21", store_history=True)
    assert result.result == 42 and shell.user_ns["x"] == 2
    assert shell.run_cell("%%track\ny = 1\ny + 1;", store_history=True).result is None


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
    # the wording ("not picklable: ...") belongs to the object store; the type is named
    assert reasons["handle"].endswith(": _io.TextIOWrapper")
    assert reasons["numbers"].endswith(": generator")
    assert reasons["lock"].endswith(": _thread.lock")
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


@pytest.mark.parametrize("line", ["--tag oops", "--nosuchflag", "a b c"])
def test_bad_track_flag_runs_nothing(shell, registry_home, line):
    with pytest.raises(UsageError):
        shell.run_cell_magic("track", line, "side_effect = 1")
    result = shell.run_cell(f"%%track {line}\nside_effect = 1", store_history=True)
    assert type(result.error_in_exec) is UsageError
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
    monkeypatch.setattr(ObjectStore, "put", lambda self, obj, *args, **kw: puts.append(obj) or
                        real_put(self, obj, *args, **kw))
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


# ------------------------------------------- issue 8 item 1: every line like a POSIX shell

def test_register_and_stage_lines_are_split_like_a_posix_shell(bc_shell):
    bc_shell.run_cell_magic("track", "", _fit_cell())
    bc_shell.run_line_magic("register", "clf m --tag owner='a b' --tag team=\"risk ops\" "
                                        r'--note "a \"b\" c"')
    version = Registry().get("m")
    assert version.tags == {"owner": "a b", "team": "risk ops"} and version.note == 'a "b" c'
    bc_shell.run_line_magic("stage", "m@1.0.0 staging --note 'the \"baseline\" model'")
    assert Registry().transitions("m")[-1].note == 'the "baseline" model'


UNTERMINATED = [
    ("register", "clf bc --note 'open"),
    ("register", 'clf bc --tag owner="Jane'),
    ("restore", "bc@1.0.0 --as 'x"),
    ("stage", 'bc@1.0.0 staging --note "why'),
    ("compare", "bc@1.0.0 'bc@1.0.0"),
    ("models", "'bc"),
]


@pytest.mark.parametrize("magic,line", UNTERMINATED)
def test_an_unterminated_quote_is_one_line_and_writes_nothing(bc_shell, registry_home, magic,
                                                              line):
    bc_shell.run_cell_magic("track", "", _fit_cell())
    bc_shell.run_line_magic("register", "clf bc")
    counts = {t: _rows(registry_home, t) for t in ("runs", "versions", "transitions", "objects")}
    names = set(bc_shell.user_ns)
    with pytest.raises(UsageError) as raised:
        bc_shell.run_line_magic(magic, line)
    message = str(raised.value)
    assert message.startswith(f"%{magic}: cannot read") and "\n" not in message
    assert {t: _rows(registry_home, t) for t in counts} == counts
    assert set(bc_shell.user_ns) == names


# --------------------------------- issue 8 item 3: %register VAR as an expression, default

def test_register_an_expression_evaluated_in_the_kernel(bc_shell):
    bc_shell.run_cell("from sklearn.model_selection import GridSearchCV\n"
                      "gs = GridSearchCV(LogisticRegression(max_iter=5000), {'C': [0.1, 1.0]},"
                      " cv=2).fit(X_train, y_train)\n"
                      "models = {'rf': gs.best_estimator_}")
    bc_shell.run_line_magic("register", "gs.best_estimator_")
    bc_shell.run_line_magic("register", 'models["rf"] --note same')
    bc_shell.run_line_magic("register", "'models[\"rf\"]' quoted")  # shell-quoted works too
    best = bc_shell.user_ns["gs"].best_estimator_
    X_test = bc_shell.user_ns["X_test"]
    for name in ("gs_best_estimator", "models_rf", "quoted"):
        version = Registry().get(name)
        assert version.model_type.endswith("LogisticRegression")
        np.testing.assert_array_equal(Registry().load(name).predict(X_test), best.predict(X_test))
    assert Registry().get("gs_best_estimator").variable == "gs_best_estimator"
    with pytest.raises(UsageError, match=r"cannot evaluate 'models\[\"nope\"\]': KeyError"):
        bc_shell.run_line_magic("register", 'models["nope"] x')


def test_bare_register_takes_the_model_that_contains_the_others(bc_shell):
    bc_shell.run_cell_magic("track", "", (
        "from sklearn.pipeline import make_pipeline\n"
        "from sklearn.preprocessing import StandardScaler\n"
        "scaler = StandardScaler()\n"
        "lr = LogisticRegression(max_iter=5000)\n"
        "pipe = make_pipeline(scaler, lr).fit(X_train, y_train)\n"))
    assert {m.name for m in nbmodels.last_run().models} >= {"lr", "pipe"}
    bc_shell.run_line_magic("register", "")
    assert Registry().get("pipe").model_type.endswith("Pipeline")


# ------------------------------------------------ issue 8 item 8: restore and register

def test_restore_all_says_what_it_replaced_and_what_was_not_stored(shell, tmp_path):
    (tmp_path / "data.txt").write_text("hello")
    shell.run_cell_magic("track", "", "kept = 1\nother = [1, 2]\nhandle = open('data.txt')")
    run_id = nbmodels.last_run().id
    shell.user_ns["kept"] = "changed since"
    shell.user_ns.pop("other")
    with capture_output() as shown:
        shell.run_line_magic("restore", f"{run_id} --all")
    text = shown.outputs[0].data["text/plain"]
    assert text.splitlines()[0] == f"Restored 2 variables from {run_id}: kept, other"
    assert "replaced kernel variables: kept" in text
    assert "not restored: handle (not " in text and "_io.TextIOWrapper" in text
    assert shell.user_ns["kept"] == 1 and shell.user_ns["other"] == [1, 2]
    shell.user_ns["handle"].close()


def test_restore_of_a_notebook_class_in_a_fresh_kernel_names_the_class(shell, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "__main__", shell.user_module)  # as in ipykernel
    shell.run_cell("class Doubler:\n"
                   "    def fit(self, X, y=None): return self\n"
                   "    def predict(self, X): return [2 * x for x in X]")
    shell.run_cell_magic("track", "", "doubler = Doubler().fit([1])")
    shell.run_line_magic("register", "doubler")
    shell.reset(new_session=False)  # a fresh kernel: the class is gone
    with pytest.raises(UsageError) as raised:
        shell.run_line_magic("restore", "doubler")
    message = str(raised.value)
    assert "class Doubler" in message and "define" in message and "\n" not in message
    assert "doubler" not in shell.user_ns
    shell.run_cell("class Doubler:\n"
                   "    def fit(self, X, y=None): return self\n"
                   "    def predict(self, X): return [2 * x for x in X]")
    shell.run_line_magic("restore", "doubler")
    assert shell.user_ns["doubler"].predict([3]) == [6]


@pytest.mark.parametrize("var", ["X_train", "y_train", "C"])
def test_register_of_data_or_a_value_is_refused_in_one_line(bc_shell, registry_home, var):
    bc_shell.run_cell_magic("track", "", _fit_cell())
    versions = _rows(registry_home, "versions")
    with pytest.raises(UsageError) as raised:
        bc_shell.run_line_magic("register", f"{var} bc")
    assert "not a model" in str(raised.value) and "\n" not in str(raised.value)
    assert _rows(registry_home, "versions") == versions


def test_register_of_an_unrecognized_object_warns(shell):
    from nbmodels.errors import NbModelsWarning

    shell.run_cell("from fractions import Fraction\nrules = Fraction(1, 3)")
    with pytest.warns(NbModelsWarning, match="not a fitted model"):
        shell.run_line_magic("register", "rules")
    assert Registry().get("rules").version == "1.0.0"


# ------------------------------------------------ issue 9 item 2: no stale bytes

def test_register_in_one_cell_with_a_refit_between_stores_the_new_bytes(bc_shell):
    bc_shell.run_cell("%%track\n" + _fit_cell(1.0), store_history=True)
    bc_shell.run_cell("%register clf a\n"
                      "clf.fit(X_train.iloc[:80], y_train.iloc[:80])\n"
                      "%register clf b", store_history=True)
    a, b = Registry().get("a"), Registry().get("b")
    assert a.object_hash != b.object_hash
    assert a.run_id == nbmodels.last_run().id and b.run_id is None
    X_test = bc_shell.user_ns["X_test"]
    np.testing.assert_array_equal(Registry().load("b").predict(X_test),
                                  bc_shell.user_ns["clf"].predict(X_test))


def test_register_of_an_expression_never_reuses_tracked_bytes(bc_shell):
    bc_shell.run_cell("%%track\n" + _fit_cell(1.0), store_history=True)
    bc_shell.run_cell("%register 'clf.fit(X_train.iloc[:80], y_train.iloc[:80])' refit",
                      store_history=True)
    assert Registry().get("refit").run_id is None  # new bytes: not the run's


# ------------------------------------------------ issue 9 item 16: nothing breaks the kernel

@pytest.mark.parametrize("name", ["__builtins__", "__name__", "class", "print", "In", "_",
                                  "get_ipython", "_i3", "1x", "a-b"])
def test_restore_as_a_reserved_name_is_one_line_and_binds_nothing(bc_shell, name):
    bc_shell.run_cell_magic("track", "", _fit_cell())
    bc_shell.run_line_magic("register", "clf bc")
    before = dict(bc_shell.user_ns)
    with pytest.raises(UsageError) as raised:
        bc_shell.run_line_magic("restore", f"bc --as {name}")
    assert f"bad --as {name!r}" in str(raised.value) and "\n" not in str(raised.value)
    assert bc_shell.user_ns.keys() == before.keys()
    assert all(bc_shell.user_ns[k] is before[k] for k in ("__builtins__", "print")
               if k in before)


# ------------------------------------------------ issue 9 item 10: safe formats from the magics

# two columns: a fit in well under a second on a busy machine
_QUICK_CELL = ("features = X_train[['mean radius', 'mean texture']]\n"
               "clf = LogisticRegression(max_iter=1000).fit(features, y_train)\n"
               "accuracy = clf.score(X_test[features.columns], y_test)\n")


def _predictions(shell, name: str):
    return shell.user_ns[name].predict(shell.user_ns["X_test"][["mean radius", "mean texture"]])


def _serializer_of(version) -> str:
    registry = Registry()
    return registry.store.one("SELECT serializer FROM objects WHERE hash = ?",
                              [version.object_hash])["serializer"]


@pytest.fixture
def options(bc_shell):
    """The kernel's NBModels settings, put back as they were after the test."""
    from nbmodels.config import NBModels

    config = next(c for c in bc_shell.configurables if isinstance(c, NBModels))
    saved = {k: getattr(config, k) for k in ("serializer", "allow_pickle", "trusted_types")}
    yield config
    for key, value in saved.items():
        setattr(config, key, value)


def _user_names(shell) -> set[str]:
    return {n for n in shell.user_ns if not n.startswith("_")}  # not In[]/Out[] history


def _refused_in_one_line(shell, line: str) -> str:
    names = _user_names(shell)
    result = shell.run_cell(line, store_history=True)
    assert type(result.error_in_exec) is UsageError, result.error_in_exec
    message = str(result.error_in_exec)
    assert "\n" not in message and _user_names(shell) == names
    return message


def test_register_format_skops_stores_skops_that_restores_equal(bc_shell, options):
    bc_shell.run_cell("%%track\n" + _QUICK_CELL, store_history=True)
    bc_shell.run_cell("%register clf m --format skops", store_history=True)
    version = Registry().get("m")
    assert _serializer_of(version) == "skops"
    assert Registry().objects.path(version.object_hash).read_bytes()[:2] == b"PK"  # skops zip
    assert version.run_id == nbmodels.last_run().id  # lineage kept though the bytes differ
    bc_shell.run_line_magic("config", "NBModels.allow_pickle = False")
    bc_shell.run_cell("%restore m --as back", store_history=True)
    np.testing.assert_array_equal(_predictions(bc_shell, "back"), _predictions(bc_shell, "clf"))


@pytest.mark.parametrize("fmt", ["onnx", "xgboost-json", "lightgbm", "''", "SKOPS"])
def test_register_with_a_bad_format_is_one_line_and_writes_nothing(bc_shell, registry_home,
                                                                     fmt):
    bc_shell.run_cell_magic("track", "", _QUICK_CELL)
    counts = {t: _rows(registry_home, t) for t in ("runs", "versions", "objects")}
    files = sorted((registry_home / "objects").rglob("*"))
    message = _refused_in_one_line(bc_shell, f"%register clf m --format {fmt}")
    assert "format" in message
    assert {t: _rows(registry_home, t) for t in counts} == counts
    assert sorted((registry_home / "objects").rglob("*")) == files


def test_config_serializer_auto_stores_tracked_and_registered_models_safely(bc_shell, options,
                                                                           monkeypatch):
    from nbmodels.objects import ObjectStore

    bc_shell.run_line_magic("config", 'NBModels.serializer = "auto"')
    bc_shell.run_cell("%%track\n" + _QUICK_CELL, store_history=True)
    run_model = nbmodels.last_run().variable("clf")
    puts = []
    real_put = ObjectStore.put
    monkeypatch.setattr(ObjectStore, "put", lambda self, obj, *args, **kw: puts.append(obj) or
                        real_put(self, obj, *args, **kw))
    bc_shell.run_cell("%register clf bc", store_history=True)
    version = Registry().get("bc")
    assert _serializer_of(version) == "skops" and version.object_hash == run_model.object_hash
    assert puts == []  # the run's skops bytes, reused
    bc_shell.run_cell("%register clf pickled --format pickle5", store_history=True)
    assert _serializer_of(Registry().get("pickled")) == "pickle5"


def test_pickles_refused_from_the_magics_in_one_line_and_safe_versions_restore(bc_shell,
                                                                                 options):
    bc_shell.run_cell("%%track\n" + _QUICK_CELL, store_history=True)
    bc_shell.run_cell("%register clf plain", store_history=True)
    bc_shell.run_cell("%register clf safe --format skops", store_history=True)
    run_id = nbmodels.last_run().id
    bc_shell.run_line_magic("config", "NBModels.allow_pickle = False")
    message = _refused_in_one_line(bc_shell, "%restore plain --as nope")
    assert "plain@1.0.0" in message and "pickle" in message
    message = _refused_in_one_line(bc_shell, f"%restore {run_id} --all")
    assert "pickle" in message and "clf" in message
    bc_shell.run_cell("%restore safe --as back", store_history=True)
    assert bc_shell.user_ns["back"].n_features_in_ == bc_shell.user_ns["clf"].n_features_in_
    bc_shell.run_line_magic("config", "NBModels.allow_pickle = True")
    bc_shell.run_cell("%restore plain --as again", store_history=True)
    assert "again" in bc_shell.user_ns


def test_nbmodels_allow_pickle_0_refuses_pickles_in_a_new_kernel(bc_shell, monkeypatch):
    from nbmodels.config import NBModels
    from nbmodels.magics.models import ModelMagics

    bc_shell.run_cell_magic("track", "", _QUICK_CELL)
    bc_shell.run_line_magic("register", "clf plain")
    monkeypatch.setenv("NBMODELS_ALLOW_PICKLE", "0")
    kernel = ModelMagics(bc_shell, NBModels())  # the options a kernel started now would have
    with pytest.raises(UsageError, match=r"refusing to load plain@1\.0\.0: stored as pickle"):
        kernel.restore("plain --as nope")
    assert "nope" not in bc_shell.user_ns


def test_skops_types_not_trusted_are_named_and_approved_with_trusted_types(bc_shell, options):
    bc_shell.run_cell("from sklearn.ensemble import RandomForestClassifier\n"
                      "forest = RandomForestClassifier(n_estimators=3, random_state=0)"
                      ".fit(X_train[['mean radius', 'mean texture']], y_train)")
    bc_shell.run_cell("%register forest --format skops", store_history=True)
    message = _refused_in_one_line(bc_shell, "%restore forest --as back")
    assert "sklearn.tree._tree.Tree" in message and "NBModels.trusted_types" in message
    bc_shell.run_line_magic("config", "NBModels.trusted_types = ['sklearn.tree._tree.Tree']")
    bc_shell.run_cell("%restore forest --as back", store_history=True)
    np.testing.assert_array_equal(_predictions(bc_shell, "back"),
                                  _predictions(bc_shell, "forest"))


# ------------------------------------------------ found by tests/reliability/test_fuzz_magics.py

@pytest.mark.parametrize("line", ["--note '\ud800'", "exp\udcff", "--tag 'k=\ud800'",
                                  "--tag '\udcff=v'"])
def test_track_text_that_cannot_be_stored_is_one_line_and_the_cell_does_not_run(
        shell, registry_home, line):
    """A lone surrogate (undecodable bytes) in an experiment, note or tag: refused before
    the cell runs, not a cell that ran and then silently recorded nothing."""
    result = shell.run_cell(f"%%track {line}\nside_effect = 1")  # (IPython's history
    assert type(result.error_in_exec) is UsageError  # cannot store a lone surrogate)
    assert "not valid text" in str(result.error_in_exec)
    with pytest.raises(UsageError, match="not valid text"):
        shell.run_cell_magic("track", line, "side_effect = 1")
    assert "side_effect" not in shell.user_ns and _rows(registry_home, "runs") == 0


# ------------------------------------------------ what the README promises about %%track

def test_a_tracked_cell_that_does_not_compile_records_nothing(shell, registry_home):
    result = shell.run_cell("%%track\nbroken = (\n", store_history=True)
    assert isinstance(result.error_before_exec, SyntaxError)  # as without %%track
    assert _rows(registry_home, "runs") == 0 and "broken" not in shell.user_ns
    shell.run_cell("%%track\nfine = 1", store_history=True)  # the next one is tracked
    assert _rows(registry_home, "runs") == 1 and nbmodels.last_run().params == {"fine": 1}


def test_capture_timeout_bounds_a_value_whose_serializer_blocks(shell, registry_home):
    shell.run_cell("import threading\n"
                   "release = threading.Event()\n"
                   "class Stuck:\n"
                   "    def fit(self, X=None, y=None): return self\n"
                   "    def predict(self, X): return X\n"
                   "    def __reduce__(self):\n"
                   "        release.wait(60)\n"
                   "        return (Stuck, ())\n")
    shell.run_line_magic("config", "NBModels.capture_timeout_s = 0.5")
    try:
        shell.run_cell("%%track\nstuck = Stuck().fit()\nkept = 1", store_history=True)
        run = nbmodels.last_run()
        assert "NBModels.capture_timeout_s" in run.variable("stuck").reason
        assert run.params == {"kept": 1}  # the run is recorded, with what could be stored
        with pytest.raises(UsageError, match=r"cannot store stuck: .*capture_timeout_s"):
            shell.run_line_magic("register", "stuck")
        assert _rows(registry_home, "versions") == 0
    finally:
        shell.user_ns["release"].set()  # the abandoned serializer threads finish
        shell.run_line_magic("config", "NBModels.capture_timeout_s = 30.0")
