"""%compare and %models inside a real IPython shell."""

from __future__ import annotations

import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

import nbmodels
from nbmodels.widgets import CompareView, ModelsBrowser

FIT = """features = X_train.drop(columns=[{drop}])
clf = LogisticRegression(C={C}, max_iter=300).fit(features, y_train)
accuracy = clf.score(X_test[features.columns], y_test)
"""


@pytest.fixture
def trained(shell):
    """`clf` registered twice through %%track/%register: 1.0.0 (C=1), 2.0.0 (C=0.1, no f3)."""
    X, y = make_classification(n_samples=240, n_features=4, random_state=2)
    X = pd.DataFrame(X, columns=["f0", "f1", "f2", "f3"])
    X_train, X_test, y_train, y_test = train_test_split(X, pd.Series(y), random_state=0)
    shell.push({"X_train": X_train, "X_test": X_test, "y_train": y_train, "y_test": y_test})
    shell.run_cell("from sklearn.linear_model import LogisticRegression")
    with capture_output():
        shell.run_cell_magic("track", "", FIT.format(drop="", C=1.0))
        shell.run_line_magic("register", "clf --note '<b>first</b>'")
        shell.run_cell_magic("track", "", FIT.format(drop="'f3'", C=0.1))
        shell.run_line_magic("register", "clf")
    return shell


def displayed(shell, magic: str, line: str):
    """Run a line magic and return what it displayed (one output)."""
    with capture_output() as captured:
        result = shell.run_line_magic(magic, line)
    assert result is None
    [output] = captured.outputs
    return output.data


def test_compare_shows_the_comparison_widget_with_a_static_fallback(trained):
    data = displayed(trained, "compare", "clf@1.0.0 clf@2.0.0")
    assert "application/vnd.jupyter.widget-view+json" in data
    html = data["text/html"]
    assert "Comparing" in html and "clf@1.0.0 ↔ clf@2.0.0" in html
    assert "-clf = LogisticRegression(C=1.0" in html.replace("&#x27;", "'")
    assert "removed" in html  # column f3 dropped
    assert "&lt;b&gt;first&lt;/b&gt;" in html and "<b>first</b>" not in html
    assert data["text/plain"].startswith("Comparing clf@1.0.0 ↔ clf@2.0.0")


def test_compare_a_model_name_charts_its_versions(trained):
    html = displayed(trained, "compare", "clf")["text/html"]
    assert "all 2 versions of clf" in html and "accuracy across versions" in html
    assert "across versions" not in displayed(trained, "compare", "clf --no-chart")["text/html"]


def test_compare_the_same_ref_twice(trained):
    text = displayed(trained, "compare", "clf@1.0.0 clf@1.0.0")["text/plain"]
    assert "clf@1.0.0 ↔ clf@1.0.0 (2)" in text and "0 of" in text


def test_compare_on_given_data_scores_both_models(trained):
    html = displayed(trained, "compare", "clf@1.0.0 clf@2.0.0 --on X_test y_test")["text/html"]
    assert "Scores on the given data" in html and "disagreement" in html
    comparison = nbmodels.compare("clf@1.0.0", "clf@2.0.0",
                                  on=(trained.user_ns["X_test"], trained.user_ns["y_test"]))
    first = trained.user_ns["clf"]  # the 2.0.0 object, still in the kernel
    X_test, y_test = trained.user_ns["X_test"], trained.user_ns["y_test"]
    assert comparison.scores.loc["accuracy", "clf@2.0.0"] == pytest.approx(
        first.score(X_test[["f0", "f1", "f2"]], y_test))


@pytest.mark.parametrize("line, message", [
    ("clf@9.9.9 clf@1.0.0", "9.9.9"),
    ("clf@1.0.0", "two or more"),
    ("nosuch", "nosuch"),
    ("clf@1.0.0 clf@2.0.0 --on X_nope y_test", "X_nope"),
    ("clf@1.0.0 clf@2.0.0 --on X_test", "expected 2 arguments"),
])
def test_compare_errors_are_one_line(trained, line, message):
    with pytest.raises(UsageError, match=message):
        trained.run_line_magic("compare", line)


def test_models_opens_the_browser(trained, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    trained.run_line_magic("models", "")
    [browser] = shown
    assert isinstance(browser, ModelsBrowser)
    assert browser.models_grid.refs == ["clf"]
    assert browser.namespace is trained.user_ns
    browser.grid.selected = ["clf@1.0.0"]
    browser.restore_as.value = "old_clf"
    browser.restore_button.click()
    assert trained.user_ns["old_clf"].C == 1.0  # Restore binds into the kernel
    html = browser._repr_mimebundle_()["text/html"]
    assert "clf" in html and "2.0.0" in html


def test_models_name_and_page_size(trained, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    trained.run_line_magic("models", "clf --page-size 1")
    assert shown[0].grid.refs == ["clf@2.0.0"]
    with pytest.raises(UsageError, match="no model named 'nope'"):
        trained.run_line_magic("models", "nope")
    with pytest.raises(UsageError, match="page-size"):
        trained.run_line_magic("models", "--page-size 0")


def test_the_compare_view_is_what_compare_displays(trained, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    trained.run_line_magic("compare", "clf@1.0.0 clf@latest")
    assert isinstance(shown[0], CompareView)
    assert shown[0].comparison.labels == ["clf@1.0.0", "clf@latest"]


def test_magics_have_help_with_examples(trained):
    for magic in ("compare", "models"):
        doc = trained.find_line_magic(magic).__doc__
        assert "Example" in doc and f"%{magic}" in doc


def test_compare_on_takes_expressions(trained):
    """Issue 8 item 8: `--on d.data d.target` (and subscripts) are evaluated in the kernel."""
    trained.run_cell("from types import SimpleNamespace\n"
                     "d = SimpleNamespace(data=X_test, target=y_test)\n"
                     "sets = {'test': (X_test, y_test)}")
    expected = displayed(trained, "compare", "clf@1.0.0 clf@2.0.0 --on X_test y_test")
    for on in ("d.data d.target", 'sets["test"][0] sets["test"][1]'):
        data = displayed(trained, "compare", f"clf@1.0.0 clf@2.0.0 --on {on}")
        assert "Scores on the given data" in data["text/html"]
        assert data["text/plain"] == expected["text/plain"]
    with pytest.raises(UsageError, match=r"--on: cannot evaluate 'd.nope': AttributeError"):
        trained.run_line_magic("compare", "clf@1.0.0 clf@2.0.0 --on d.nope d.target")


def test_compare_and_models_lines_are_split_like_a_posix_shell(trained):
    """Issue 8 item 1: quotes as in a shell; an unterminated one is one line."""
    text = displayed(trained, "compare", "'clf@1.0.0' \"clf@2.0.0\"")["text/plain"]
    assert text.startswith("Comparing clf@1.0.0 ↔ clf@2.0.0")
    with pytest.raises(UsageError, match="^%compare: cannot read"):
        trained.run_line_magic("compare", "clf@1.0.0 'clf@2.0.0")
