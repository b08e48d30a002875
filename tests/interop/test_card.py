"""Model cards: `Registry.card`, `nbmodels card`, the widget's Card button and
`GET /nbmodels/api/card/REF` — from records alone, every user string escaped."""

from __future__ import annotations

import html
import re

import pytest

from nbmodels.cli import main
from nbmodels.errors import InvalidInputError

from .conftest import tracked

pytest_plugins = ["pytest_jupyter.jupyter_server"]
HOSTILE = '<script>alert("x")</script>'


@pytest.fixture
def versions(registry, frame_data):
    """`bc@1.0.0` in production (a hostile note on the move), `bc@1.1.0` a challenger."""
    from sklearn.linear_model import LogisticRegression

    X, y = frame_data
    first = tracked(registry, LogisticRegression(C=1.0, max_iter=500).fit(X, y), X, y,
                    source=f"model = LogisticRegression(C=1.0).fit(X, y)  # {HOSTILE}",
                    accuracy=0.90, log_loss=0.30)
    registry.register(first, "bc", tags={"owner": HOSTILE})
    registry.set_stage("bc@1.0.0", "production", note=HOSTILE)
    second = tracked(registry, LogisticRegression(C=0.1, max_iter=500).fit(X, y), X, y,
                     accuracy=0.92, log_loss=0.35)
    registry.register(second, "bc", note="smaller C")
    return registry


def test_html_card_escapes_and_holds_the_records(versions):
    card = versions.card("bc@1.0.0")
    version = versions.get("bc@1.0.0")
    assert "<script>" not in card
    assert html.escape(HOSTILE) in card  # the note, the tag and the cell, shown as text
    assert version.object_hash in card
    assert "@media print" in card
    for text in ("Stage history", "production", "Params", "max_iter", "accuracy", "0.9",
                 "mean radius", "float64", "Environment", "scikit-learn", "Lineage"):
        assert text in card, text
    assert card.startswith("<!DOCTYPE html>")


def test_challenger_card_compares_with_the_champion(versions):
    card = versions.card("bc@1.1.0")
    assert "bc@1.0.0 in production (champion)" in card
    assert '<td class="better">better</td>' in card  # accuracy 0.92 > 0.90
    assert '<td class="worse">worse</td>' in card  # log_loss 0.35 > 0.30: lower is better


def test_markdown_card_escapes_and_holds_the_records(versions):
    card = versions.card("bc@1.0.0", format="md")
    # code is shown verbatim inside a fence (literal text in Markdown); everything else escaped
    prose = re.sub(r"```python\n.*?\n```", "", card, flags=re.S)
    assert "<script>" not in prose
    assert "&lt;script&gt;" in prose  # the note and the tag
    assert f"```python\n{versions.run(versions.get('bc@1.0.0').run_id).source}\n```" in card
    assert versions.get("bc@1.0.0").object_hash in card
    assert "## Stage history" in card and "| none | production |" in card
    assert "max\\_iter" in card


def test_card_rejects_unknown_format(versions):
    with pytest.raises(InvalidInputError, match="unknown card format"):
        versions.card("bc", format="pdf")


def test_cli_card_writes_the_file(versions, tmp_path, capsys):
    target = tmp_path / "card.html"
    assert main(["card", "bc@1.0.0", "-o", str(target)]) == 0
    assert "wrote the card of bc@1.0.0" in capsys.readouterr().out
    assert target.read_text() == versions.card("bc@1.0.0")
    assert main(["card", "bc", "--format", "md"]) == 0
    assert capsys.readouterr().out == versions.card("bc", format="md")
    assert main(["card", "bc@9.9.9"]) == 1
    assert "no version '9.9.9'" in capsys.readouterr().err


def test_widget_card_button_shows_the_card_sandboxed(versions):
    from nbmodels.widgets import ModelsBrowser

    browser = ModelsBrowser(versions, name="bc")
    assert browser.card_button.disabled
    browser.select("bc@1.0.0")
    assert not browser.card_button.disabled
    browser.card_button.click()
    [frame] = browser.compare_area.children
    assert '<iframe sandbox=""' in frame.value
    assert "<script>" not in frame.value
    assert html.escape(versions.card("bc@1.0.0"), quote=True) in frame.value


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"nbmodels": True}}}


async def test_card_endpoint_serves_the_html(jp_fetch, jp_root_dir, monkeypatch, frame_data):
    from sklearn.linear_model import LogisticRegression
    from tornado.httpclient import HTTPClientError

    from nbmodels.registry import Registry

    monkeypatch.delenv("NBMODELS_HOME", raising=False)
    registry = Registry(jp_root_dir / ".nbmodels")
    X, y = frame_data
    registry.register(LogisticRegression(max_iter=500).fit(X, y), "bc", note=HOSTILE)
    expected = registry.card("bc@1.0.0")
    registry.close()
    response = await jp_fetch("nbmodels", "api", "card", "bc@1.0.0", params={"path": ""})
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.body.decode() == expected
    md = await jp_fetch("nbmodels", "api", "card", "bc", params={"path": "", "format": "md"})
    assert md.headers["Content-Type"].startswith("text/markdown")
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("nbmodels", "api", "card", "nope", params={"path": ""})
    assert caught.value.code == 404
