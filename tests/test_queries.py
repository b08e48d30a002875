"""runs() filters, sorts and limits in SQLite; listings decode JSON in bulk with the same
result as record by record."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from nbmodels import InvalidInputError
from nbmodels.registry import CellRecord


def _run(registry, minute: int, experiment: str = "exp", **values):
    moment = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=minute)
    return registry.record_run(CellRecord(source="x = 1", experiment=experiment, status="ok",
                                          started_at=moment, ended_at=moment, values=values,
                                          tags={"team": f"t{minute % 2}"}))


@pytest.fixture
def runs(registry):
    grid = [(0.5, 0.91), (0.5, 0.95), (1.0, 0.99), (0.5, 0.85), (2.0, 0.97)]
    ids = [_run(registry, i, C=C, accuracy=acc).id for i, (C, acc) in enumerate(grid)]
    _run(registry, 10, experiment="other", C=0.5, accuracy=0.999)
    _run(registry, 11, C=0.5)  # no accuracy
    return ids


def test_where_and_order_by_match_pandas_on_the_whole_frame(registry, runs):
    everything = registry.runs()
    expected = everything[(everything["params.C"] == 0.5) & (everything["metrics.accuracy"] > 0.9)] \
        .sort_values("metrics.accuracy", ascending=False)
    found = registry.runs(where={"params.C": 0.5, "metrics.accuracy": (">", 0.9)},
                          order_by="metrics.accuracy DESC")
    assert list(found["id"]) == list(expected["id"])
    assert list(found.columns) == [c for c in everything.columns if c in found.columns]
    assert found["metrics.accuracy"].tolist() == [0.999, 0.95, 0.91]


def test_leaderboard_puts_missing_metrics_last_and_limits(registry, runs):
    top = registry.runs(order_by="metrics.accuracy DESC", limit=3)
    assert top["metrics.accuracy"].tolist() == [0.999, 0.99, 0.97]
    worst_first = registry.runs(experiment="exp", order_by="metrics.accuracy")
    assert worst_first["metrics.accuracy"].tolist()[:2] == [0.85, 0.91]
    assert worst_first["metrics.accuracy"].isna().tolist()[-1]  # missing sorts last both ways


def test_where_on_fixed_columns_tags_and_missing_values(registry, runs):
    assert len(registry.runs(where={"tags.team": "t1"})) == 3  # minutes 1, 3, 11
    assert len(registry.runs(where={"metrics.accuracy": None})) == 1
    assert len(registry.runs(where={"metrics.accuracy": ("!=", None)})) == 6
    assert registry.runs(where={"experiment": "other"})["metrics.accuracy"].tolist() == [0.999]
    assert registry.runs(experiment="exp", limit=2)["id"].tolist() == \
        registry.runs(experiment="exp")["id"].tolist()[:2]


def test_bad_column_operator_or_order_is_a_user_error(registry, runs):
    with pytest.raises(InvalidInputError, match="bad run column"):
        registry.runs(where={"accuracy": 1})
    with pytest.raises(InvalidInputError, match="bad (test|operator)"):
        registry.runs(where={"metrics.accuracy": ("~", 1)})
    with pytest.raises(InvalidInputError, match="bad order_by"):
        registry.runs(order_by="metrics.accuracy sideways")
    with pytest.raises(InvalidInputError, match="bad order_by"):
        registry.runs(order_by='params.x"; DROP TABLE runs; --')
    with pytest.raises(InvalidInputError, match="bad run column"):
        registry.runs(order_by='params.x"y DESC')


def test_keys_with_dots_and_quotes_in_values_are_safe(registry):
    _run(registry, 0, **{"lr": 0.1})
    registry.update_run_values(registry.runs()["id"][0], params={"opt.lr": 0.2, "name": "it's"})
    assert registry.runs(where={"params.opt.lr": 0.2})["params.name"].tolist() == ["it's"]


def test_empty_registry_still_gives_the_columns(registry):
    assert list(registry.runs(order_by="metrics.accuracy DESC", limit=10).columns)[:3] == \
        ["id", "experiment", "status"]


def test_list_versions_matches_the_row_by_row_decoding(registry):
    from nbmodels.store import version_from_row

    from sklearn.linear_model import LogisticRegression

    for i in range(3):
        registry.register({"w": i}, "m", tags={"i": str(i)}, note=f"n{i}")
    model = LogisticRegression().fit([[0.0, 1.0], [1.0, 0.0]], [0, 1])
    registry.register(model, "m")  # a version with a signature
    rows = registry.store.query("SELECT * FROM versions WHERE name = 'm' ORDER BY major, minor, patch")
    assert registry.list_versions("m") == [version_from_row(r) for r in rows]
    assert registry.list_versions("m")[-1].signature is not None


def test_nan_and_infinite_values_list_sort_and_filter(registry):
    import math

    nan, inf = float("nan"), float("inf")
    ids = [_run(registry, 0, missing=nan, val_loss=nan).id,
           _run(registry, 1, missing=1.0, val_loss=0.5).id,
           _run(registry, 2, missing=inf, val_loss=-inf).id,
           _run(registry, 3, missing=-inf, val_loss=inf).id]
    frame = registry.runs()  # newest first
    assert math.isnan(frame["params.missing"].iloc[3])
    assert frame["params.missing"].tolist()[:3] == [-inf, inf, 1.0]
    ascending = registry.runs(order_by="metrics.val_loss")
    assert ascending["id"].tolist() == [ids[2], ids[1], ids[3], ids[0]]  # NaN sorts last
    assert registry.runs(order_by="metrics.val_loss DESC")["id"].tolist() == \
        [ids[3], ids[1], ids[2], ids[0]]
    below = registry.runs(where={"metrics.val_loss": ("<", 1)})
    assert below["id"].tolist() == [ids[2], ids[1]]  # neither NaN nor +inf
    assert registry.runs(where={"metrics.val_loss": (">", 0)})["id"].tolist() == [ids[3], ids[1]]
    assert registry.runs(where={"params.missing": nan})["id"].tolist() == [ids[0]]
    assert registry.runs(where={"params.missing": inf})["id"].tolist() == [ids[2]]
    assert len(registry.runs(where={"params.missing": ("!=", nan)})) == 3


def test_a_grid_search_with_nan_scores_registers_and_lists(registry):
    import math

    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    from tests.helpers import record_fit

    X = np.random.default_rng(0).normal(size=(40, 2))
    y = (X[:, 0] > 0).astype(int)
    search = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=2).fit(X, y)
    assert math.isnan(search.error_score)
    record_fit(registry, search, "search.fit(X, y)", val_loss=float("nan"))
    registry.register(search, "grid")
    versions = registry.versions("grid")
    assert math.isnan(versions.loc[0, "params.error_score"])
    assert math.isnan(versions.loc[0, "metrics.val_loss"])
    assert math.isnan(registry.models().loc[0, "key_metric_value"])
    assert math.isnan(registry.get("grid").metrics["val_loss"])
    assert len(registry.runs(order_by="params.error_score")) == 1
