"""The Runs tab of `%models` (`nbmodels.widgets.RunsView`): a grid of the registry's runs,
paged, sorted and searched by the registry; a run's details; registering its model."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from nbmodels.registry import CellRecord
from nbmodels.widgets import ModelsBrowser

XSS = "<img src=x onerror=alert(1)>"
X, Y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1])
START = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)


def _record(registry, minute: int, experiment: str, values: dict, note=None, source=None):
    at = START + timedelta(minutes=minute)
    return registry.record_run(CellRecord(
        source=source or "\n".join(f"{name} = ..." for name in values), experiment=experiment,
        status="ok", started_at=at, ended_at=at + timedelta(seconds=minute + 1),
        values=values, note=note))


@pytest.fixture
def runs(registry):
    """Four runs: two of `iris` (one registered as iris-clf), one of `churn` with two
    models and a note holding HTML, and one with no model."""
    first = _record(registry, 1, "iris", {"clf": LogisticRegression(C=1.0).fit(X, Y),
                                          "C": 1.0, "accuracy": 0.90})
    registry.register_run(first.id, "iris-clf")
    second = _record(registry, 2, "iris", {"clf": LogisticRegression(C=0.1).fit(X, Y),
                                           "C": 0.1, "accuracy": 0.95})
    both = _record(registry, 3, "churn", {"a": LogisticRegression(C=2.0).fit(X, Y),
                                          "b": LogisticRegression(C=3.0).fit(X, Y),
                                          "accuracy": 0.80}, note=XSS)
    bare = _record(registry, 4, "churn", {"accuracy": 0.5, "rows": 10})
    return registry, [first, second, both, bare]


def _opened(registry, **kwargs) -> ModelsBrowser:
    browser = ModelsBrowser(registry, {}, **kwargs)
    browser.show_runs()
    return browser


def test_runs_are_read_only_when_the_runs_tab_opens(runs, monkeypatch):
    registry, _ = runs
    asked = []
    original = registry.find_runs
    monkeypatch.setattr(registry, "find_runs", lambda *a, **k: asked.append(1) or original(*a, **k))
    browser = ModelsBrowser(registry, {})
    assert asked == [] and not browser.runs.loaded
    browser.show_runs()
    assert asked and browser.runs.loaded and browser.tabs.titles == ("Models", "Runs")


def test_the_runs_grid_lists_runs_newest_first_with_models_metrics_and_versions(runs):
    registry, (first, second, both, bare) = runs
    grid = _opened(registry).runs.grid
    assert [c["key"] for c in grid.columns] == [
        "id", "started_at", "experiment", "status", "models", "metrics.accuracy",
        "duration_s", "registered"]
    assert [c["sortable"] for c in grid.columns] == [True] * 4 + [False, True, True, False]
    assert grid.refs == [bare.id, both.id, second.id, first.id]
    assert not grid.multiple and grid.page_label() == "4 run(s) · page 1/1"
    cells = {row["key"]: dict(zip([c["key"] for c in grid.columns], row["cells"]))
             for row in grid.rows}
    assert cells[first.id]["models"] == "clf (LogisticRegression)"
    assert cells[first.id]["registered"] == "iris-clf@1.0.0"
    assert cells[first.id]["started_at"] == "2026-11-30 09:01"
    assert cells[first.id]["metrics.accuracy"] == "0.9"
    assert cells[both.id]["models"] == "a (LogisticRegression), b (Logistic…"  # one line
    titles = next(r["titles"] for r in grid.rows if r["key"] == both.id)
    assert "a (LogisticRegression), b (LogisticRegression)" in titles  # the tooltip
    assert cells[bare.id]["models"] == "" and cells[second.id]["registered"] == ""


def test_runs_sort_search_filter_and_page_in_the_registry(runs):
    registry, (first, second, both, bare) = runs
    view = _opened(registry, page_size=2).runs
    grid = view.grid
    assert grid.refs == [bare.id, both.id] and grid.page_label() == "4 run(s) · page 1/2"
    grid.page = 1  # what "next ▶" sends
    assert grid.refs == [second.id, first.id]
    grid.sort_by = "metrics.accuracy"  # a header click: highest first, from the first page
    assert grid.page == 0 and grid.refs == [second.id, first.id]
    grid.descending = False
    assert grid.refs == [bare.id, both.id]
    grid.sort_by = "duration_s"
    assert grid.refs == [first.id, second.id]
    view.search.value = "iris"  # search as you type
    assert grid.total == 2 and set(grid.refs) == {first.id, second.id}
    view.search.value = ""
    view.experiment.value = "churn"
    assert grid.total == 2 and set(grid.refs) == {both.id, bare.id}
    assert [label for label, _ in view.experiment.options] == ["all experiments", "churn", "iris"]


def test_opening_a_run_shows_its_details(runs):
    registry, (first, *_rest) = runs
    view = _opened(registry).runs
    assert view.register_button.disabled and view.details.value == ""
    view.grid.selected = [first.id]  # a click on its row
    details = view.details.value
    for expected in (f"Run {first.id}", "iris", "Metrics", "accuracy", "0.9", "Params",
                     "Variables (3)", "LogisticRegression", "Registered as", "iris-clf@1.0.0",
                     "Cells that produced it", "Code", "clf = ..."):
        assert expected in details, expected
    assert details.index(">clf<") < details.index(">C<", details.index("Variables"))  # model first
    assert not view.register_button.disabled
    assert view.variable.layout.display == "none"  # one model: nothing to choose


def test_register_from_a_run_makes_a_version_and_refreshes_the_models(runs):
    """Given a run not yet registered, when Register is clicked with a model name, then a
    version linked to the run is in the registry, the Models tab shows and focuses the new
    model, and the run's row and details say what it was registered as."""
    registry, (first, second, both, bare) = runs
    browser = _opened(registry)
    view = browser.runs
    view.open(second.id)
    view.register_as.value = "iris-small-c"
    view.register_button.click()
    version = registry.get("iris-small-c@1.0.0")
    assert version.run_id == second.id and version.variable == "clf"
    assert version.params["C"] == 0.1
    assert f"Registered iris-small-c@1.0.0 from run {second.id}" in view.status.value
    assert "iris-small-c" in browser.models_grid.refs and browser.model == "iris-small-c"
    assert browser.grid.refs == ["iris-small-c@1.0.0"]
    row = next(r for r in view.grid.rows if r["key"] == second.id)
    assert row["cells"][-1] == "iris-small-c@1.0.0" and "iris-small-c@1.0.0" in view.details.value
    assert view.register_as.value == ""
    view.register_as.value = "iris-small-c"
    view.register_button.click()  # the same bytes again: no new version
    assert "is already iris-small-c@1.0.0" in view.status.value
    assert registry.count_versions("iris-small-c") == 1


def test_a_run_with_several_models_asks_which_and_one_without_cannot_register(runs):
    registry, (first, second, both, bare) = runs
    view = _opened(registry).runs
    view.open(both.id)
    assert view.variable.layout.display == "" and list(view.variable.options) == ["a", "b"]
    view.variable.value = "b"
    view.register_button.click()
    name, model = registry.restore("b@1.0.0")  # named after its variable
    assert (name, model.C, registry.get("b@1.0.0").run_id) == ("b", 3.0, both.id)
    view.open(bare.id)
    assert view.register_button.disabled
    view.focused = bare.id
    view._register()  # even if clicked: the registry's refusal shows, nothing raises
    assert "captured no model" in view.status.value


def test_run_text_is_escaped_in_the_grid_details_and_static_copy(runs):
    registry, (_, _, both, _) = runs
    browser = _opened(registry)
    browser.runs.search.value = "onerror"  # the note is searched
    assert browser.runs.grid.refs == [both.id]
    browser.runs.open(both.id)
    html = browser.runs.details.value + browser._repr_mimebundle_()["text/html"]
    assert XSS not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert f">{both.id[:11]}…<" in html  # the static copy is the Runs page


def test_empty_registry_runs_tab(registry):
    browser = _opened(registry)
    assert browser.runs.grid.rows == [] and "No runs yet" in browser.runs.status.value
