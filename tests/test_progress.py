"""Progress (issue 13): `nbmodels.progress.Bar` opens a tqdm bar only for what takes over a
second or is large; the registry reports saving, restoring, push/pull and reproduce through
a plain callback."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
from IPython.utils.capture import capture_output

from nbmodels import progress
from nbmodels.progress import Bar


class Calls(list):
    def __call__(self, done, total=None):
        self.append((done, total))


def test_a_quick_small_operation_shows_no_bar():
    out = io.StringIO()
    with Bar("saving", after_s=60, file=out) as bar:
        for done in range(0, 1000, 100):
            bar(done, 1000)
    assert not bar.shown and out.getvalue() == ""


def test_a_large_object_shows_a_bar_at_once_and_a_slow_operation_after_a_while():
    out = io.StringIO()
    with Bar("saving clf", after_s=60, large=1000, file=out) as bar:
        bar(10, 5000)
        bar(5000, 5000)
    assert bar.shown and "saving clf" in out.getvalue() and "100%" in out.getvalue()
    slow = io.StringIO()
    with Bar("reproduce", unit="step", after_s=0, file=slow) as bar:
        bar.step()
        bar.step()
    assert bar.shown and "reproduce: " in slow.getvalue() and bar.done == 2


def test_register_and_restore_report_bytes(registry):
    model = {"weights": np.arange(3_000_000, dtype=np.float64)}  # 24 MB
    saved = Calls()
    version = registry.register(model, "big", progress=saved)
    assert saved and saved[-1][0] == version.size
    assert all(a[0] <= b[0] for a, b in zip(saved, saved[1:]))  # bytes only grow
    assert saved[-1][1] >= version.size
    loaded = Calls()
    _, restored = registry.restore("big@1.0.0", progress=loaded)
    np.testing.assert_array_equal(restored["weights"], model["weights"])
    assert loaded[-1] == (version.size, version.size) and len(loaded) >= 2  # by blocks


def test_push_and_pull_report_each_object(registry, tmp_path):
    from nbmodels import Registry

    for i in range(3):
        registry.register({"w": i}, "m")
    registry.add_remote("origin", str(tmp_path / "remote"))
    pushed = Calls()
    registry.push(progress=pushed)
    assert pushed[-1] == (3, 3) and len(pushed) == 3
    other = Registry(tmp_path / "other" / ".nbmodels")
    other.add_remote("origin", str(tmp_path / "remote"))
    pulled = Calls()
    other.pull(progress=pulled)
    assert pulled[-1] == (3, 3)
    other.close()


def test_reproduce_reports_each_step(shell, registry_home):
    from nbmodels import Registry

    with capture_output():
        for cell in ("from sklearn.linear_model import LogisticRegression\n"
                     "X = [[0.0], [1.0], [2.0], [3.0]]\ny = [0, 0, 1, 1]",
                     "%%track\nclf = LogisticRegression().fit(X, y)"):
            assert shell.run_cell(cell, store_history=True).success
    registry = Registry(registry_home)
    steps = Calls()
    report = registry.reproduce(registry.list_runs()[0].id, progress=steps)
    assert report.status == "exact"
    total = steps[-1][1]
    assert steps[-1] == (total, total) and total >= 2
    assert [d for d, _ in steps] == sorted(d for d, _ in steps)
    registry.close()


def test_register_magic_shows_a_bar_for_a_large_model(shell, monkeypatch):
    monkeypatch.setattr(progress, "LARGE_BYTES", 1_000_000)
    shell.run_cell("import numpy as np\nfrom sklearn.linear_model import LinearRegression\n"
                   "big = LinearRegression().fit(np.eye(3), [0, 1, 2])\n"
                   "big.weights_ = np.arange(400_000.0)  # 3.2 MB")
    with capture_output() as out:
        shell.run_line_magic("register", "big heavy")
    assert "saving big" in out.stderr and "100%" in out.stderr
    with capture_output() as out:
        shell.run_line_magic("restore", "heavy@1.0.0 --as again")
    assert "restoring heavy@1.0.0" in out.stderr
    monkeypatch.setattr(progress, "LARGE_BYTES", 10**12)
    with capture_output() as out:
        shell.run_line_magic("restore", "heavy@1.0.0 --as quick")
    assert "restoring" not in out.stderr  # small and quick: no bar


def test_the_registry_layer_imports_no_progress_bar_or_ipython():
    code = ("import sys, nbmodels.registry, nbmodels.remotes.push, nbmodels.reproduce; "
            "assert not {'IPython', 'tqdm', 'nbmodels.progress'} & set(sys.modules), "
            "[m for m in ('IPython', 'tqdm') if m in sys.modules]")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_record_run_reports_the_bytes_of_each_model_it_stores(registry):
    """Given a tracked cell that bound two models and a small value, `record_run` tells its
    progress callback the models' bytes, one after the other, never going back."""
    from datetime import datetime, timezone

    from sklearn.linear_model import LinearRegression

    from nbmodels.registry import CellRecord

    first = LinearRegression().fit(np.eye(3), [0, 1, 2])
    first.weights_ = np.arange(200_000.0)  # 1.6 MB
    second = LinearRegression().fit(np.eye(3), [2, 1, 0])
    now = datetime.now(timezone.utc)
    saved = Calls()
    run = registry.record_run(CellRecord(
        source="a = fit()\nb = fit()\nn = 3", experiment="t", status="ok", started_at=now,
        ended_at=now, values={"a": first, "b": second, "n": 3}), progress=saved)
    sizes = sum(v.size for v in run.models)
    assert {v.name for v in run.models} == {"a", "b"}
    assert saved[-1] == (sizes, sizes)
    assert all(a[0] <= b[0] for a, b in zip(saved, saved[1:]))  # bytes only grow
    assert len(saved) > 2


def test_track_shows_a_bar_when_saving_a_large_model(shell, monkeypatch):
    """`%%track` passes a bar to the run's storing: a large fitted model shows it, a small
    one shows nothing."""
    monkeypatch.setattr(progress, "LARGE_BYTES", 1_000_000)
    shell.run_cell("import numpy as np\nfrom sklearn.linear_model import LinearRegression")
    with capture_output() as out:
        assert shell.run_cell("%%track\nbig = LinearRegression().fit(np.eye(3), [0, 1, 2])\n"
                              "big.weights_ = np.arange(400_000.0)  # 3.2 MB").success
    assert "saving the run's models" in out.stderr and "100%" in out.stderr
    with capture_output() as out:
        assert shell.run_cell("%%track\nsmall = LinearRegression().fit(np.eye(3), [0, 1, 2])"
                              ).success
    assert "saving" not in out.stderr


def test_the_models_widget_restores_a_large_model_with_a_bar_in_its_output(registry,
                                                                          monkeypatch):
    """The `%models` Restore button draws the bar inside the widget (its `progress`
    Output), filled to the model's size; a small model leaves the Output empty."""
    from ipywidgets.widgets.widget import _instances

    from nbmodels.widgets import ModelsBrowser

    monkeypatch.setattr(progress, "LARGE_BYTES", 1_000_000)
    big = registry.register({"weights": np.arange(400_000.0)}, "heavy")  # 3.2 MB
    registry.register({"w": 1}, "light")
    namespace = {}
    browser = ModelsBrowser(registry, namespace, name="heavy")
    browser.grid.selected = ["heavy@1.0.0"]
    browser.restore_button.click()
    assert "Restored heavy@1.0.0" in browser.status.value
    [shown] = browser.progress.outputs
    view = shown["data"]["application/vnd.jupyter.widget-view+json"]
    label, bar, _ = _instances[view["model_id"]].children
    assert "restoring" in label.value and "heavy@1.0.0" in label.value.replace("\u2007", " ")
    assert bar.value == bar.max == big.size
    browser.focus_model("light")
    browser.grid.selected = ["light@1.0.0"]
    browser.restore_button.click()
    assert "Restored light@1.0.0" in browser.status.value
    assert browser.progress.outputs == ()  # small and quick: no bar (the old one cleared)
