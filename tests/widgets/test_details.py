"""Version details in the %models browser: where a version lives, champion/challenger
against production, Reproduce; all escaped."""

from __future__ import annotations

from IPython.utils.capture import capture_output

from nbmodels import Registry
from nbmodels.reproduce import Difference, ReproduceReport
from nbmodels.widgets import ModelsBrowser, reproduce_html

XSS = "<img src=x onerror=alert(1)>"
CELLS = ("from sklearn.linear_model import LogisticRegression\n"
         "X = [[0.0], [1.0], [2.0], [3.0]]\ny = [0, 0, 1, 1]",
         "%%track\nclf = LogisticRegression(C=1.0).fit(X, y)\naccuracy = 0.75\nlog_loss = 0.5",
         "%register clf tiny",
         "%%track\nclf = LogisticRegression(C=0.5).fit(X, y)\naccuracy = 0.8\nlog_loss = 0.6",
         "%register clf tiny")


def _tracked(shell, registry_home) -> Registry:
    with capture_output():
        for cell in CELLS:
            assert shell.run_cell(cell, store_history=True).success, cell
    return Registry(registry_home)


def test_details_show_the_champion_challenger_scores_of_the_card(shell, registry_home):
    registry = _tracked(shell, registry_home)
    registry.set_stage("tiny@1.0.0", "production")
    browser = ModelsBrowser(registry, {}, name="tiny")
    browser.grid.selected = ["tiny@1.1.0"]
    details = browser.details.value
    assert "Champion / challenger" in details
    assert "against tiny@1.0.0 in production" in details
    # accuracy 0.8 vs 0.75 is better; log_loss 0.6 vs 0.5 is worse (lower is better)
    assert ">better<" in details and ">worse<" in details
    browser.grid.selected = ["tiny@1.0.0"]
    assert "This version is the production model (the champion)" in browser.details.value
    registry.close()


def test_details_say_where_the_version_lives(shell, registry_home, tmp_path):
    registry = _tracked(shell, registry_home)
    browser = ModelsBrowser(registry, {}, name="tiny")
    browser.grid.selected = ["tiny@1.0.0"]
    assert "this registry (no remotes)" in browser.details.value
    registry.add_remote("origin", str(tmp_path / "remote"))
    registry.push(refs=["tiny@1.0.0"])
    browser.refresh()
    assert "location" in [c["key"] for c in browser.grid.columns]  # a "where" column
    assert [r["cells"][0] for r in browser.grid.rows] == ["1.1.0", "1.0.0"]
    browser.grid.selected = ["tiny@1.1.0"]
    assert "this registry only (not pushed)" in browser.details.value
    browser.grid.selected = ["tiny@1.0.0"]
    assert "this registry and a remote" in browser.details.value  # pushed
    registry.close()


def test_reproduce_button_shows_the_status(shell, registry_home):
    registry = _tracked(shell, registry_home)
    browser = ModelsBrowser(registry, {}, name="tiny")
    assert browser.reproduce_button.disabled
    browser.grid.selected = ["tiny@1.1.0"]
    browser.reproduce_button.click()
    assert "Reproduce tiny@1.1.0" in browser.reproduce_html.value
    assert ">exact<" in browser.reproduce_html.value
    assert "tiny@1.1.0: exact" in browser.status.value
    registry.close()


def test_reproduce_report_is_escaped():
    report = ReproduceReport("01RUN", "inputs", "differs", differences=(
        Difference("params", XSS, f"changed {XSS}", recorded=XSS, now=1),))
    html = reproduce_html("m@1.0.0", report)
    assert ">differs<" in html and XSS not in html and "&lt;img src=x" in html
