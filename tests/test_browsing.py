"""What the JupyterLab panel reads and does through `Registry` (issue 13): a runs search
sorted and paged in SQLite, a version's standing (champion/challenger, location), and
registering the model a run captured from the run's id alone."""

from __future__ import annotations

import math
import time

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from nbmodels.errors import InvalidInputError, NotFoundError, UntrustedObjectError
from nbmodels.registry.browsing import verdict

from .helpers import record_fit


def fitted(c: float) -> LogisticRegression:
    return LogisticRegression(C=c).fit([[0], [1]], [0, 1])


def sweep(registry, count: int) -> list[str]:
    """`count` runs with accuracy i/10 (from 3 runs on, the middle one NaN) and rmse
    1-i/10; their ids, oldest first."""
    for i in range(count):
        accuracy = math.nan if count >= 3 and i == count // 2 else i / 10
        record_fit(registry, fitted(i + 1.0), f"clf = fit(C={i + 1.0})", accuracy=accuracy,
                   rmse=1 - i / 10)
        time.sleep(0.002)  # run ids start with their millisecond: one each, in order
    return [r.id for r in registry.list_runs()][::-1]


def test_find_runs_sorts_on_a_metric_with_missing_values_last_and_pages(registry):
    ids = sweep(registry, 5)
    page = registry.find_runs(order_by="metrics.accuracy DESC", limit=3)
    assert [r.id for r in page.runs] == [ids[4], ids[3], ids[1]]
    assert page.total == 5 and page.experiments == ("test",)
    assert page.metrics == ("accuracy", "rmse")
    rest = registry.find_runs(order_by="metrics.accuracy DESC", limit=3, offset=3)
    assert [r.id for r in rest.runs] == [ids[0], ids[2]]  # the NaN last
    assert len(registry.find_runs(order_by="duration_s DESC", limit=10).runs) == 5
    assert [r.id for r in registry.find_runs().runs] == ids[::-1]  # newest first


def test_find_runs_searches_text_in_any_case_and_by_experiment(registry):
    ids = sweep(registry, 3)
    with registry.store.write() as db:
        db.execute("UPDATE runs SET note = 'Baseline 50% ok', experiment = 'b' WHERE id = ?",
                   [ids[1]])
    for text in ("baseline", "50%", "BASE", ids[1][-8:].lower()):
        assert [r.id for r in registry.find_runs(text=text).runs] == [ids[1]], text
    assert registry.find_runs(text="%").total == 1  # no LIKE wildcards
    assert registry.find_runs(experiment="test").total == 2
    assert registry.find_runs(experiment="b", text="nothing").runs == ()


def test_find_runs_refuses_a_bad_order(registry):
    with pytest.raises(InvalidInputError, match="order_by"):
        registry.find_runs(order_by="metrics.accuracy DOWN")
    with pytest.raises(InvalidInputError, match="bad run column"):
        registry.find_runs(order_by="source")


def test_find_runs_on_a_registry_not_yet_made_is_empty(registry):
    page = registry.find_runs(text="x", order_by="metrics.a")
    assert (page.runs, page.total) == ((), 0)
    assert not registry.home.exists()


def test_run_products_are_read_for_a_whole_page_at_once(registry):
    ids = sweep(registry, 3)
    registry.register_run(ids[0], "m")
    registry.register_run(ids[2], "m")
    products = registry.run_products(ids)
    assert products[ids[0]].models == (("model", "sklearn.linear_model._logistic."
                                        "LogisticRegression"),)
    assert [products[i].versions for i in ids] == [("m@1.0.0",), (), ("m@1.1.0",)]
    for run_id in ids:  # what reading each run would give
        run = registry.run(run_id)
        assert products[run_id].models == tuple((v.name, v.type) for v in run.models)
        assert products[run_id].versions == tuple(v.ref for v in registry.run_versions(run_id))


def test_register_run_stores_no_new_bytes_and_links_the_run(registry):
    [run_id] = sweep(registry, 1)
    objects = registry.store.one("SELECT count(*) AS n FROM objects")["n"]
    version = registry.register_run(run_id[:8].lower(), "swept", note="from the panel")
    assert (version.ref, version.run_id, version.variable) == ("swept@1.0.0", run_id, "model")
    assert version.object_hash == registry.run(run_id).variable("model").object_hash
    assert registry.store.one("SELECT count(*) AS n FROM objects")["n"] == objects
    assert version.params["C"] == 1.0 and version.metrics["accuracy"] == 0.0
    assert registry.register_run(run_id, "swept").created is False  # idempotent
    assert registry.load("swept@1.0.0").C == 1.0


def test_register_run_with_several_models_needs_the_variable(registry):
    from datetime import datetime, timezone

    from nbmodels.registry import CellRecord

    now = datetime.now(timezone.utc)
    registry.record_run(CellRecord(source="clf = ...; scaler = ...", experiment="e",
                                   status="ok", started_at=now, ended_at=now,
                                   values={"clf": fitted(3.0),
                                           "scaler": StandardScaler().fit([[0.0], [1.0]])}))
    run_id = registry.list_runs()[0].id
    with pytest.raises(InvalidInputError, match="several models"):
        registry.register_run(run_id)
    with pytest.raises(NotFoundError, match="no model 'nope'"):
        registry.register_run(run_id, variable="nope")
    assert registry.register_run(run_id, variable="clf").ref == "clf@1.0.0"


def test_register_run_refuses_a_pickle_when_pickles_are_not_allowed(registry):
    [run_id] = sweep(registry, 1)
    registry.allow_pickle = False
    with pytest.raises(UntrustedObjectError, match="stored as pickle"):
        registry.register_run(run_id, "swept")
    assert registry.list_models() == []


def test_standing_against_the_champion_knows_lower_is_better(registry):
    ids = sweep(registry, 3)
    for run_id in ids:
        registry.register_run(run_id, "m")
    registry.set_stage("m@1.0.0", "production")
    standing = registry.standing("m@1.2.0")
    assert (standing.champion, standing.is_champion, standing.location) == (
        "m@1.0.0", False, None)
    assert [(s.name, s.value, s.champion, s.verdict) for s in standing.metrics] == [
        ("accuracy", 0.2, 0.0, "better"), ("rmse", 0.8, 1.0, "better")]
    nan = registry.standing("m@1.1.0")  # its accuracy is NaN: no verdict
    assert [s.verdict for s in nan.metrics] == ["", "better"]
    assert registry.standing("m@production").is_champion
    assert registry.standing("m@production").metrics == ()


def test_standing_without_a_champion_and_with_a_remote(registry, tmp_path):
    registry.register(fitted(1.0), "solo")
    assert registry.standing("solo").champion is None
    registry.add_remote("origin", (tmp_path / "share").as_uri())
    assert registry.standing("solo").location == "local"
    registry.push()
    assert registry.standing("solo").location == "both"


@pytest.mark.parametrize("value, other, expected", [
    (0.9, 0.8, "better"), (0.8, 0.9, "worse"), (0.5, 0.5, "same"), (None, 0.5, ""),
    (math.nan, 0.5, ""), (True, 0.5, "")])
def test_verdict(value, other, expected):
    assert verdict("accuracy", value, other) == expected
