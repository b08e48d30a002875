"""Reproduce (issue 10): `Registry.reproduce`, `%reproduce` and `nbmodels reproduce` re-run a
run tracked in a real IPython shell, in a scratch namespace, and compare it with the record."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import numpy as np
import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

import nbmodels
from nbmodels import Registry
from nbmodels.errors import MissingDataError, ReproduceError, UntrustedObjectError
from nbmodels.records import LineageCell
from nbmodels.reproduce import needed_cells
from tests.helpers import run_cells

LOAD = ("import pandas as pd\n"
        "from sklearn.datasets import load_breast_cancer\n"
        "from sklearn.model_selection import train_test_split")
SPLIT = ("X, y = load_breast_cancer(return_X_y=True, as_frame=True)\n"
         "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)")
MODEL = "from sklearn.ensemble import RandomForestClassifier\nTREES = 10"
SEEDED = ("%%track\n"
          "clf = RandomForestClassifier(n_estimators=TREES, random_state=0).fit(X_train, y_train)\n"
          "accuracy = clf.score(X_test, y_test)")
UNSEEDED = ("%%track\n"
            "clf = RandomForestClassifier(n_estimators=TREES).fit(X_train, y_train)\n"
            "accuracy = clf.score(X_test, y_test)")


def _run(shell, *cells: str) -> str:
    """Run cells as a notebook does; the id of the run the last one recorded."""
    run_cells(shell, *cells)
    return nbmodels.last_run().id


def _cli(home, *args: str) -> subprocess.CompletedProcess:
    """`nbmodels --home HOME ARGS`, in a fresh process."""
    return subprocess.run([sys.executable, "-m", "nbmodels.cli", "--home", str(home), *args],
                          check=False, capture_output=True, text=True, timeout=300)


def _csv_cells(path) -> tuple[str, str]:
    read = (f"import pandas as pd\nfrom sklearn.linear_model import LogisticRegression\n"
            f"df = pd.read_csv({str(path)!r})")
    train = ("%%track\n"
             "clf = LogisticRegression().fit(df[['a', 'b']], df['y'])\n"
             "accuracy = clf.score(df[['a', 'b']], df['y'])")
    return read, train


def _write_csv(path, rows: int = 40, shift: float = 0.0) -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=rows) + shift, rng.normal(size=rows)
    lines = ["a,b,y", *(f"{x:.6f},{z:.6f},{int(x + z > 0)}" for x, z in zip(a, b))]
    path.write_text("\n".join(lines) + "\n")


def _kinds(report) -> dict[str, list]:
    found: dict[str, list] = {}
    for difference in report["differences"]:
        found.setdefault(difference["kind"], []).append(difference)
    return found


# ---- through the CLI, in a fresh process -----------------------------------------------------


@pytest.mark.slow
def test_seeded_model_is_reproduced_from_inputs_and_from_scratch_in_a_fresh_process(
        shell, registry_home):
    run_id = _run(shell, LOAD, SPLIT, MODEL, SEEDED)
    for flags in ([], ["--from-inputs"], ["--from-scratch"]):
        result = _cli(registry_home, "reproduce", run_id, "--json", *flags)
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["status"] in ("exact", "equivalent"), report
        assert report["differences"] == []
        assert report["models"] == {"clf": report["status"]}
    # from scratch, the whole slice ran again, from the first cell
    assert report["mode"] == "scratch" and len(report["cells"]) == 4
    assert report["status"] == "exact"  # the same bytes: nothing in it was left to chance


@pytest.mark.slow
def test_unseeded_forest_differs_names_the_randomness_and_exits_3(shell, registry_home):
    run_id = _run(shell, LOAD, SPLIT, MODEL, UNSEEDED)
    result = _cli(registry_home, "reproduce", run_id, "--json")
    assert result.returncode == 3, result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "differs" and report["models"] == {"clf": "differs"}
    kinds = _kinds(report)
    assert [d["name"] for d in kinds["randomness"]] == ["clf"]
    assert "random_state=None" in kinds["randomness"][0]["detail"]
    assert "predictions" in kinds or "metrics" in kinds
    text = _cli(registry_home, "reproduce", run_id)
    assert text.returncode == 3 and "differs" in text.stdout.splitlines()[0]
    assert "randomness: clf (RandomForestClassifier) has random_state=None" in text.stdout


@pytest.mark.slow
def test_missing_data_file_from_scratch_is_one_clear_line(shell, registry_home, tmp_path):
    data = tmp_path / "data" / "train.csv"
    data.parent.mkdir()
    _write_csv(data)
    run_id = _run(shell, *_csv_cells(data))
    data.unlink()
    result = _cli(registry_home, "reproduce", run_id, "--from-scratch")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"reads {data}, which is not there" in result.stderr
    # from its inputs the file is not needed: the stored `df` is used
    assert _cli(registry_home, "reproduce", run_id).returncode == 0


# ---- Registry.reproduce ----------------------------------------------------------------------


def test_changed_package_version_is_named(shell, registry_home):
    run_id = _run(shell, LOAD, SPLIT, MODEL, SEEDED)
    with sqlite3.connect(registry_home / "registry.db") as db:
        packages = json.loads(db.execute("SELECT packages FROM runs WHERE id = ?",
                                         [run_id]).fetchone()[0])
        installed = packages["scikit-learn"]
        packages["scikit-learn"] = "0.0.1"
        db.execute("UPDATE runs SET packages = ? WHERE id = ?", [json.dumps(packages), run_id])
    report = Registry(registry_home).reproduce(run_id)
    named = [d for d in report.differences if d.kind == "packages"]
    assert [(d.name, d.recorded, d.now) for d in named] == [("scikit-learn", "0.0.1", installed)]
    assert f"scikit-learn 0.0.1 when recorded, {installed} now" in "\n".join(report.lines())
    assert report.status in ("exact", "equivalent")  # the model itself came out the same


def test_changed_params_and_data_are_named(shell, registry_home, tmp_path):
    data = tmp_path / "train.csv"
    _write_csv(data)
    run_id = _run(shell, *_csv_cells(data))
    registry = Registry(registry_home)
    assert registry.reproduce(run_id, "scratch").status == "exact"
    _write_csv(data, shift=1.5)  # the file changed on disk since
    with sqlite3.connect(registry_home / "registry.db") as db:
        params = json.loads(db.execute("SELECT params FROM runs WHERE id = ?",
                                       [run_id]).fetchone()[0])
        params["C"] = 2.0
        db.execute("UPDATE runs SET params = ? WHERE id = ?", [json.dumps(params), run_id])
    report = registry.reproduce(run_id, "scratch").to_dict()
    assert report["status"] == "differs"
    kinds = _kinds(report)
    assert [(d["name"], d["recorded"], d["now"]) for d in kinds["params"]] == [("C", 2.0, 1.0)]
    assert [d["name"] for d in kinds["data"]] == ["df"]
    assert "other content than recorded" in kinds["data"][0]["detail"]
    assert "randomness" not in kinds  # LogisticRegression: nothing random to name


def test_from_inputs_runs_only_the_cells_that_make_what_is_not_stored(shell, registry_home):
    run_id = _run(shell, LOAD, SPLIT, MODEL, "print('unrelated')", SEEDED)
    report = Registry(registry_home).reproduce(run_id)
    # MODEL makes RandomForestClassifier and TREES; LOAD and SPLIT only made stored inputs
    assert len(report.cells) == 2 and report.status in ("exact", "equivalent")


def test_needed_cells_follow_reads_transitively_and_skip_input_producers():
    cells = [LineageCell(1, "import pandas as pd", ("pd",), ()),
             LineageCell(2, "df = pd.read_csv('x')", ("df",), ("pd",)),
             LineageCell(3, "X = df.drop(columns='y')", ("X",), ("df",)),
             LineageCell(4, "def f(a):\n    return a * K", ("f",), ("K",)),
             LineageCell(5, "K = 2", ("K",), ()),
             LineageCell(6, "K = 3", ("K",), ())]
    chosen = needed_cells(cells, {"X", "f", "len"}, stored={"X"})
    assert [c.execution_count for c in chosen] == [4, 6]  # K's newest producer only
    assert [c.execution_count for c in needed_cells(cells, {"X"}, stored=set())] == [1, 2, 3]


def test_a_version_reference_is_reproduced(shell, registry_home):
    _run(shell, LOAD, SPLIT, MODEL, SEEDED, "%register clf forest")
    report = Registry(registry_home).reproduce("forest@1.0.0", "scratch")
    assert report.status == "exact" and report.models == {"clf": "exact"}


def test_pickled_inputs_are_refused_when_pickles_are_not_allowed(shell, registry_home):
    run_id = _run(shell, LOAD, SPLIT, MODEL, SEEDED)
    registry = Registry(registry_home)
    registry.allow_pickle = False
    with pytest.raises(UntrustedObjectError, match="stored as pickle"):
        registry.reproduce(run_id)


def test_a_cell_that_fails_again_is_one_line_naming_it(shell, registry_home):
    shell.run_cell("import nbmodels.errors", store_history=True)
    run_id = _run(shell, "from sklearn.linear_model import LogisticRegression\n"
                         "X = [[0.0], [1.0], [2.0], [3.0]]\ny = [0, 0, 1, 1]",
                  "%%track\nclf = LogisticRegression().fit(X, y)\n"
                  "missing = undefined_name if len(X) > 99 else 0")
    with sqlite3.connect(registry_home / "registry.db") as db:  # as if edited since
        db.execute("UPDATE runs SET source = ? WHERE id = ?",
                   ["clf = LogisticRegression().fit(X, y)\nboom = undefined_name", run_id])
    with pytest.raises(ReproduceError) as raised:
        Registry(registry_home).reproduce(run_id)
    assert not isinstance(raised.value, MissingDataError)
    message = str(raised.value)
    assert "\n" not in message and "the tracked cell raised NameError" in message
    assert "neither a stored input nor bound by a cell of the run's lineage" in message


def test_logged_metrics_are_compared_and_nothing_is_written(shell, registry_home):
    run_id = _run(shell, "import nbmodels\nfrom sklearn.linear_model import LogisticRegression\n"
                         "X = [[0.0], [1.0], [2.0], [3.0]]\ny = [0, 0, 1, 1]",
                  "%%track\nclf = LogisticRegression().fit(X, y)\n"
                  "nbmodels.log_metric('train_acc', clf.score(X, y))")
    before = Registry(registry_home).run(run_id)
    report = Registry(registry_home).reproduce(run_id, "scratch")
    assert report.status == "exact" and report.differences == ()
    after = Registry(registry_home).run(run_id)
    assert after.metrics == before.metrics == {"train_acc": 1.0}
    assert len(Registry(registry_home).list_runs()) == 1


# ---- %reproduce ------------------------------------------------------------------------------


def test_magic_shows_the_status_and_leaves_the_kernel_alone(shell, registry_home):
    run_id = _run(shell, LOAD, SPLIT, "%matplotlib inline\n" + MODEL, UNSEEDED)
    namespace = {k: v for k, v in shell.user_ns.items() if not k.startswith("_")}
    random_state = np.random.get_state()[1].copy()
    with capture_output() as shown:
        shell.run_line_magic("reproduce", f"{run_id} --from-scratch")
    assert {k: v for k, v in shell.user_ns.items() if not k.startswith("_")}.keys() == \
        namespace.keys()
    assert all(shell.user_ns[k] is v for k, v in namespace.items())  # nothing rebound
    assert np.array_equal(np.random.get_state()[1], random_state)
    output = shown.outputs[0].data
    assert output["text/plain"].startswith(f"run {run_id} reproduced from scratch: differs")
    assert "randomness: clf" in output["text/plain"]
    assert ">differs</b>" in output["text/html"]
    assert "left out (IPython commands): %matplotlib" in output["text/plain"]
    assert shown.stdout == ""  # what the re-run cells print is not shown


def test_magic_defaults_to_the_last_run_and_escapes_what_it_shows(shell, registry_home):
    run_id = _run(shell, "from sklearn.linear_model import LogisticRegression\n"
                         "X = [[0.0], [1.0], [2.0], [3.0]]\ny = [0, 0, 1, 1]",
                  "%%track\nclf = LogisticRegression().fit(X, y)\nlabel = 'plain'")
    with sqlite3.connect(registry_home / "registry.db") as db:
        params = json.loads(db.execute("SELECT params FROM runs WHERE id = ?",
                                       [run_id]).fetchone()[0])
        params["label"] = "<script>alert(1)</script>"
        db.execute("UPDATE runs SET params = ? WHERE id = ?", [json.dumps(params), run_id])
    with capture_output() as shown:
        shell.run_line_magic("reproduce", "")
    page = shown.outputs[0].data["text/html"]
    assert ">exact</b>" in page and "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    with pytest.raises(UsageError, match="one of --from-inputs and --from-scratch"):
        shell.run_line_magic("reproduce", "--from-inputs --from-scratch")
    with pytest.raises(UsageError, match="no run"):
        shell.run_line_magic("reproduce", "zzzzzzzz")
