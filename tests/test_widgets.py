"""widgets: the %models browser and the %compare view, built and clicked without a frontend."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import ipywidgets as w
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from nbmodels.registry import CellRecord
from nbmodels.comparison import charts
from nbmodels.widgets import CompareView, ModelsBrowser, comparison_html, metric_chart_svg
from .test_compare import _clock, data, models, track  # noqa: F401 (fixtures)

XSS = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


@pytest.fixture
def registry_with_models(registry, data, models):
    """`bc` with three versions from tracked runs, and `churn` whose note and tag hold HTML."""
    X_train, _, y_train, _ = data
    track(registry, models[0], X_train, y_train, C=1.0, accuracy=0.90, log_loss=0.30)
    registry.register(models[0], "bc", variable="clf", note="baseline")
    track(registry, models[1], X_train.drop(columns="f4"), y_train, C=0.1, accuracy=0.93,
          log_loss=0.35, note=XSS, tags={"owner": XSS})
    registry.register(models[1], "bc", variable="clf", tags={"team": "risk"})
    track(registry, models[2], X_train, y_train, C=10.0, accuracy=0.85, log_loss=0.25)
    registry.register(models[2], "bc", variable="clf")
    churn = LogisticRegression(max_iter=200).fit(X_train, y_train)
    registry.register(churn, "churn", note=XSS, tags={"danger": XSS, "team": "growth"})
    return registry


def model_names(browser) -> list:
    """The models grid's rows (what the user sees listed), in its order."""
    return browser.models_grid.refs


def all_html(widget) -> list[str]:
    """Every HTML string a widget tree shows."""
    found = []
    if isinstance(widget, (w.HTML, w.HTMLMath)):
        found.append(widget.value)
    for child in getattr(widget, "children", ()):
        found += all_html(child)
    return found


# ---- the browser ---------------------------------------------------------------------------------

def test_browser_lists_models_with_latest_production_and_key_metric(registry_with_models):
    registry_with_models.set_stage("bc@2.0.0", "production")
    browser = ModelsBrowser(registry_with_models, {})
    assert model_names(browser) == ["bc", "churn"]  # the last updated (staged) first
    assert [c["key"] for c in browser.models_grid.columns] == [
        "name", "versions", "latest_version", "production_version", "key_metric", "updated_at"]
    row = next(r for r in browser.models_grid.rows if r["key"] == "bc")
    assert row["cells"][:5] == ["bc", "3", "3.0.0", "2.0.0", "accuracy 0.85"]
    assert "bc" in browser.models_table.value and "2.0.0" in browser.models_table.value
    assert "bc · latest 3.0.0 · prod 2.0.0 · accuracy 0.85" in browser.text()


def test_clicking_a_model_shows_its_versions(registry_with_models):
    """Given two models, when a model's row is clicked (the grid's single focus), then the
    versions grid shows that model's versions, and the static copy marks the model."""
    browser = ModelsBrowser(registry_with_models, {})
    assert not browser.models_grid.multiple
    assert browser.model == "churn" and browser.grid.refs == ["churn@1.0.0"]
    browser.models_grid.selected = ["churn", "bc"]  # one focus only: the last click wins
    assert browser.models_grid.selected == ["bc"] and browser.model == "bc"
    assert browser.grid.refs == ["bc@3.0.0", "bc@2.0.0", "bc@1.0.0"]
    assert "Versions of bc" in browser.versions_title.value
    browser.models_grid.sort_by = "versions"  # sort the models grid too
    assert model_names(browser) == ["bc", "churn"] and browser.model == "bc"
    html = browser.html()
    assert html.index(">bc<") < html.index(">churn<") < html.index("3 version(s) · page 1/1")


def test_search_filters_the_models_as_you_type(registry_with_models):
    browser = ModelsBrowser(registry_with_models, {})
    browser.search.value = "chu"
    assert model_names(browser) == ["churn"]
    browser.search.value = "growth"  # a tag value
    assert model_names(browser) == ["churn"]
    browser.search.value = "baseline"  # a version note
    assert model_names(browser) == ["bc"] and browser.model == "bc"
    browser.search.value = "team=risk"  # a version tag
    assert model_names(browser) == ["bc"]
    assert browser.grid.refs == ["bc@2.0.0"]  # only the matching version
    browser.search.value = "nothing-like-this"
    assert model_names(browser) == [] and browser.model is None
    assert "No model matches" in browser.models_table.value
    browser.search.value = ""
    assert model_names(browser) == ["churn", "bc"] and browser.model == "churn"  # the first


def test_version_grid_sorts_by_any_column(registry_with_models):
    browser = ModelsBrowser(registry_with_models, {}, name="bc")
    grid = browser.grid
    assert grid.refs == ["bc@3.0.0", "bc@2.0.0", "bc@1.0.0"]
    keys = [c["key"] for c in grid.columns]
    assert keys[:4] == ["version", "stage", "metrics.accuracy", "metrics.log_loss"]
    assert {"created_at", "bump", "note", "tags"} <= set(keys)
    grid.sort_by = "metrics.accuracy"
    assert grid.refs == ["bc@2.0.0", "bc@1.0.0", "bc@3.0.0"]
    assert [row["key"] for row in grid.rows] == grid.refs  # what the front-end draws
    assert grid.rows[0]["cells"][:3] == ["2.0.0", "none", "0.93"]
    grid.descending = False
    assert grid.refs == ["bc@3.0.0", "bc@1.0.0", "bc@2.0.0"]
    grid.sort_by = "metrics.log_loss"
    assert grid.refs == ["bc@3.0.0", "bc@1.0.0", "bc@2.0.0"]
    grid.sort_by = "note"  # text columns too (the note holding HTML sorts by its "<")
    assert grid.refs == ["bc@1.0.0", "bc@2.0.0", "bc@3.0.0"]
    rows = re.findall(r"<tr style=\"[^\"]*\"><td[^>]*>([0-9.]+)</td>", browser.html())
    assert rows == [r.split("@")[1] for r in grid.refs]


def test_selecting_a_version_shows_its_details(registry_with_models):
    browser = ModelsBrowser(registry_with_models, {}, name="bc")
    browser.grid.selected = ["bc@2.0.0"]
    assert browser.focused == "bc@2.0.0" and browser.compare_button.disabled
    details = browser.details.value
    run_id = registry_with_models.get("bc@2.0.0").run_id
    for expected in ("bc@2.0.0", "Lineage", run_id, "Inputs", "X_train", "Code",
                     "LogisticRegression(C=0.1", "accuracy", "0.93", "major"):
        assert expected in details, expected


def test_selecting_two_versions_builds_the_compare_view(registry_with_models):
    browser = ModelsBrowser(registry_with_models, {}, name="bc")
    browser.grid.sort_by = "metrics.accuracy"
    browser.grid.selected = [browser.grid.refs[0], browser.grid.refs[1]]  # the two best
    assert browser.selected == ["bc@2.0.0", "bc@1.0.0"] and browser.focused == "bc@1.0.0"
    assert not browser.compare_button.disabled
    browser.compare_button.click()
    view = browser.compare_view
    assert isinstance(view, CompareView)
    assert sorted(view.comparison.labels) == ["bc@1.0.0", "bc@2.0.0"]
    assert browser.compare_area.children == (view.widget,)
    assert view.tabs.titles == ("Metrics", "Params", "Code", "Data", "Environment", "Model")
    assert "better" in view.metrics_html.value and "worse" in view.metrics_html.value


def test_selection_survives_paging_and_crosses_models(registry_with_models):
    browser = ModelsBrowser(registry_with_models, {}, name="bc", page_size=2)
    assert browser.grid.refs == ["bc@3.0.0", "bc@2.0.0"]
    browser.select("bc@3.0.0")
    browser.grid.page = 1  # what "next ▶" sets
    assert browser.grid.refs == ["bc@1.0.0"]
    browser.select("bc@1.0.0")
    browser.focus_model("churn")
    assert browser.grid.refs == ["churn@1.0.0"] and browser.grid.page == 0
    browser.select("churn@1.0.0")
    assert browser.selected == ["bc@3.0.0", "bc@1.0.0", "churn@1.0.0"]
    browser.compare_button.click()
    assert browser.compare_view.comparison.labels == ["bc@3.0.0", "bc@1.0.0", "churn@1.0.0"]
    assert browser.compare_view.comparison.wants_chart
    browser.clear_button.click()
    assert browser.selected == [] and browser.compare_button.disabled


def test_restore_binds_the_right_object(registry_with_models, data, models):
    _, X_test, _, _ = data
    namespace = {}
    browser = ModelsBrowser(registry_with_models, namespace, name="bc")
    browser.grid.selected = ["bc@1.0.0"]
    browser.restore_button.click()
    assert "as clf" in browser.status.value
    np.testing.assert_array_equal(namespace["clf"].predict(X_test), models[0].predict(X_test))
    browser.grid.selected = ["bc@1.0.0", "bc@2.0.0"]  # the last one ticked is acted on
    browser.restore_as.value = "challenger"
    browser.restore_button.click()
    assert "Restored bc@2.0.0 as challenger" in browser.status.value
    np.testing.assert_array_equal(namespace["challenger"].predict(X_test.drop(columns="f4")),
                                  models[1].predict(X_test.drop(columns="f4")))
    browser.restore_as.value = "not a name"
    browser.restore_button.click()
    assert "not a Python variable name" in browser.status.value


def test_stage_changes_the_stage_and_writes_the_audit_row(registry_with_models):
    browser = ModelsBrowser(registry_with_models, {}, name="bc")
    browser.grid.selected = ["bc@2.0.0"]
    browser.stage_select.value = "production"
    browser.stage_note.value = "best accuracy"
    browser.stage_button.click()
    assert registry_with_models.get("bc@2.0.0").stage == "production"
    [row] = registry_with_models.transitions("bc")
    assert (row.version, row.from_stage, row.to_stage, row.note) == \
        ("2.0.0", "none", "production", "best accuracy")
    assert "bc@2.0.0 is now production" in browser.status.value
    assert next(r for r in browser.models_grid.rows if r["key"] == "bc")["cells"][3] == "2.0.0"
    assert "Stage history" in browser.details.value and "best accuracy" in browser.details.value
    assert [r["cells"][1] for r in browser.grid.rows] == ["none", "production", "none"]
    # promoting another version archives this one, and the view follows
    browser.grid.selected = ["bc@3.0.0"]
    browser.stage_button.click()
    assert registry_with_models.get("bc@2.0.0").stage == "archived"
    assert [t.to_stage for t in registry_with_models.transitions("bc")] == \
        ["production", "archived", "production"]


def test_paginates_without_rendering_every_version(registry):
    for i in range(130):
        registry.register({"weights": i}, "big")
    browser = ModelsBrowser(registry, {}, page_size=50)
    assert len(browser.grid.rows) == 50
    assert browser.grid.html().count("<tr") == 51  # header + one page
    assert browser.grid.page_label() == "130 version(s) · page 1/3"
    browser.grid.turn(1)
    browser.grid.turn(1)
    browser.grid.turn(1)  # past the end: stays on the last page
    assert len(browser.grid.rows) == 30 and browser.grid.page == 2
    assert browser.grid.refs[-1] == "big@1.0.0"


def test_ten_thousand_versions_open_one_page_at_a_time(registry):
    """Given 10,000 versions (cloned from a registered one in the store, for speed), the
    browser sends one page of them to the front-end; sorting, paging to the last page and
    searching work on all of them."""
    import json

    registry.register({"w": 0}, "huge")
    [seed] = registry.store.query("SELECT * FROM versions WHERE name = 'huge'")
    rows = [{**seed, "version": f"1.{i // 100}.{i % 100}", "minor": i // 100, "patch": i % 100,
             "metrics": json.dumps({"accuracy": (i * 7919 % 10000) / 10000})}
            for i in range(1, 10000)]
    with registry.store.write() as db:
        db["versions"].insert_all(rows)
    browser = ModelsBrowser(registry, {})
    assert len(browser.grid.rows) == 50  # one page goes to the front-end, not 10,000 rows
    assert browser.grid.html().count("<tr") == 51
    assert browser.grid.page_label() == "10000 version(s) · page 1/200"
    browser.grid.sort_by = "metrics.accuracy"
    assert browser.grid.refs[0] == "huge@1.23.21"  # 2321 * 7919 % 10000 == 9999
    browser.grid.page = 199
    assert len(browser.grid.refs) == 50 and browser.grid.refs[-1] == "huge@1.0.0"  # no metric
    browser.search.value = "huge@1.99."  # search as you type: the grid narrows at once
    assert browser.grid.total == 100 and browser.grid.page == 0


def test_empty_registry(registry):
    browser = ModelsBrowser(registry, {})
    assert "No models registered yet" in browser.models_table.value
    assert browser.grid.rows == [] and browser.compare_button.disabled


def test_errors_show_in_the_status_line(registry_with_models):
    browser = ModelsBrowser(registry_with_models, {}, name="bc")
    browser.grid.selected = ["bc@1.0.0"]
    registry_with_models.objects.path(registry_with_models.get("bc@1.0.0").object_hash) \
        .write_bytes(b"damaged")
    browser.restore_button.click()
    assert "integrity" in browser.status.value.lower() or "hash" in browser.status.value.lower()


# ---- escaping --------------------------------------------------------------------------------------

def test_html_in_notes_and_tags_is_escaped_in_every_output(registry_with_models):
    registry_with_models.set_stage("churn@1.0.0", "staging", note=XSS)
    browser = ModelsBrowser(registry_with_models, {})
    outputs = []
    browser.search.value = "onerror"
    outputs += all_html(browser.widget)
    browser.search.value = ""
    browser.focus_model("churn")
    browser.grid.selected = ["churn@1.0.0"]
    outputs += all_html(browser.widget)
    browser.focus_model("bc")
    browser.grid.selected = ["bc@2.0.0", "bc@1.0.0"]
    outputs += all_html(browser.widget)
    browser.compare_button.click()
    browser.compare_view.tabs.selected_index = 5
    outputs += all_html(browser.widget)
    outputs.append(browser._repr_mimebundle_()["text/html"])
    outputs.append(browser.compare_view._repr_mimebundle_()["text/html"])
    comparison = registry_with_models.compare("churn@1.0.0", "bc@2.0.0", "bc@1.0.0")
    outputs.append(comparison._repr_html_())
    outputs += all_html(CompareView(comparison).widget)
    joined = "\n".join(outputs)
    assert "<img src=x" not in joined and "onerror=alert(1)>" not in joined
    assert joined.count(ESCAPED) >= 6  # details (note, tags, stage note), run note, tags ...
    assert "<script" not in joined


# ---- the compare view ---------------------------------------------------------------------------------

def test_compare_view_charts_each_metric_with_vega_lite(registry_with_models):
    """With the `charts` extra: interactive Vega-Lite in the live view (hover for values,
    stages colored), and the same charts as SVG in the static copy."""
    registry_with_models.set_stage("bc@2.0.0", "production")
    view = CompareView(registry_with_models.compare("bc"))
    assert "<img" not in view.metrics_html.value  # the charts are below, live
    [output] = view.chart_output.outputs
    spec = output["data"][charts.VEGALITE_MIME]
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/v5")
    assert [c["title"] for c in spec["concat"]] == ["accuracy (↑ higher is better)",
                                                   "log_loss (↓ lower is better)"]
    line, dots = spec["concat"][0]["layer"]
    assert [t["field"] for t in dots["encoding"]["tooltip"]] == ["ref", "stage", "value"]
    scale = dots["encoding"]["color"]["scale"]
    assert scale["domain"][0] == "production" and scale["range"][0] == "#2e7d32"
    values = {d["ref"]: (d["value"], d["stage"]) for d in spec["concat"][0]["data"]["values"]}
    assert values["bc@2.0.0"] == (0.93, "production")
    html = view._repr_mimebundle_()["text/html"]
    images = re.findall(r'<img alt="([^"]+)" src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert [alt for alt, _ in images] == ["accuracy across versions", "log_loss across versions"]
    svg = base64.b64decode(images[0][1]).decode()
    assert svg.startswith("<svg") and "accuracy" in svg and "3.0.0" in svg


def test_compare_view_without_the_charts_extra_draws_svg(registry_with_models, monkeypatch):
    monkeypatch.setattr(charts, "have_altair", lambda: False)
    registry_with_models.set_stage("bc@2.0.0", "production")
    view = CompareView(registry_with_models.compare("bc"))
    assert view.chart_output.outputs == ()
    assert view.metrics_html.value.count('<img alt="') == 2  # accuracy, log_loss
    assert "accuracy across versions" in view.metrics_html.value
    # Params tab: only the changed rows by default, all on demand
    assert ">C<" in view.params_html.value and ">max_iter<" not in view.params_html.value
    view.only_changed.value = False
    assert ">max_iter<" in view.params_html.value
    # Code tab: unified, then side by side
    assert "+clf = LogisticRegression(C=0.1" in view.code_html.value.replace("&#x27;", "'")
    view.code_mode.value = "side by side"
    assert "<table" in view.code_html.value
    assert "removed" in view.data_html.value
    bundle = view._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "Comparing" in bundle["text/html"] and "<img" in bundle["text/html"]
    assert bundle["text/plain"].startswith("Comparing bc@1.0.0 ↔ bc@2.0.0 ↔ bc@3.0.0")


def test_importance_loads_when_the_model_tab_opens(registry_with_models):
    view = CompareView(registry_with_models.compare("bc@1.0.0", "bc@2.0.0"))
    assert "Feature importance" not in view.model_html.value
    assert "importance" not in view.comparison.__dict__  # no model loaded yet
    view.tabs.selected_index = 5
    assert "Feature importance" in view.model_html.value and ">f4<" in view.model_html.value


def test_metric_chart_marks_stages():
    svg = metric_chart_svg("auc", [("m@1.0.0", 0.8, "archived"), ("m@1.1.0", None, "none"),
                                   ("m@2.0.0", 0.9, "production")])
    assert svg.startswith("<svg") and svg.count("<circle") == 2
    assert 'r="5" fill="#2e7d32"' in svg  # production: bigger, green
    assert ">1.0.0<" in svg and ">2.0.0<" in svg
    assert metric_chart_svg("auc", [("a", None, None)]) == ""
    assert "&lt;b&gt;" in metric_chart_svg("<b>", [("a", 1.0, None)])


def test_comparison_html_without_a_registry_run(registry):
    registry.register({"w": 1}, "plain", note=XSS)
    registry.register({"w": 2}, "plain")
    html = comparison_html(registry.compare("plain@1.0.0", "plain@1.0.1"))
    assert "No cell code recorded" in html and ESCAPED in html and XSS not in html


@pytest.fixture(autouse=True)
def _later(monkeypatch):
    _clock[0] += timedelta(minutes=1)
    yield


def test_cell_record_is_the_core_type():
    from nbmodels import tracking

    assert CellRecord is tracking.CellRecord  # made by the tracking core, re-exported by registry
