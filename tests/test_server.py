"""The REST extension behind the JupyterLab panel, through a real jupyter_server with auth on.

Given a registry beside `proj/train.ipynb` under the server root, each endpoint answers
with the records' JSON, and every error is `{"error": {"type", "message"}}` with the status
of `ERROR_STATUS`.
"""

from __future__ import annotations

import json
import math
import os
import time

import pytest
from tornado.httpclient import HTTPClientError

from nbmodels.errors import (AmbiguousRefError, ConflictError, DatabaseDamagedError,
                             IntegrityError, InvalidInputError, MissingDataError, NbModelsError,
                             NotFoundError, ReadOnlyRegistryError, ReproduceError,
                             UntrustedObjectError)
from nbmodels.server.handlers import ERROR_STATUS, jsonable, status_for

from .helpers import record_fit

pytest_plugins = ["pytest_jupyter.jupyter_server"]

NOTEBOOK = "proj/train.ipynb"


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"nbmodels": True}}}


@pytest.fixture
def project(jp_root_dir, monkeypatch):
    """`proj/.nbmodels` under the server root: model `clf` 1.0.0 (from a tracked run) and
    1.1.0, the latter in staging. The registry is found from the notebook's path."""
    from sklearn.linear_model import LogisticRegression

    from nbmodels.registry import Registry

    monkeypatch.delenv("NBMODELS_HOME", raising=False)
    (jp_root_dir / "proj").mkdir()
    (jp_root_dir / NOTEBOOK).write_text("{}")
    registry = Registry(jp_root_dir / "proj" / ".nbmodels")
    first = record_fit(registry, LogisticRegression(C=1.0).fit([[0], [1]], [0, 1]),
                       "model = LogisticRegression(C=1.0).fit(X, y)", accuracy=0.9)
    registry.register(first, "clf")
    second = LogisticRegression(C=0.5).fit([[0], [1]], [0, 1])
    registry.register(second, "clf", stage="staging", note="<b>smaller C</b>")
    run_id = registry.list_runs()[0].id
    registry.close()
    return {"root": jp_root_dir, "run_id": run_id}


def query(params: dict) -> list[tuple[str, str]]:
    """Query pairs, `path` defaulting to the notebook; a list value repeats its key."""
    pairs = {"path": NOTEBOOK, **params}.items()
    return [(k, one) for k, v in pairs for one in (v if isinstance(v, list) else [v])]


async def get_json(jp_fetch, *parts, **params):
    response = await jp_fetch("nbmodels", "api", *parts, params=query(params))
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body)


async def error_of(jp_fetch, *parts, method="GET", body=None, headers=None, **params):
    """The status and JSON body of a request that must fail, its shape checked."""
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("nbmodels", "api", *parts, method=method, body=body, headers=headers,
                       params=query(params))
    reply = json.loads(caught.value.response.body)
    assert set(reply) == {"error"}
    assert set(reply["error"]) == {"type", "message"}
    assert isinstance(reply["error"]["type"], str) and reply["error"]["type"]
    assert isinstance(reply["error"]["message"], str) and reply["error"]["message"]
    return caught.value.code, reply["error"]


def post_stage(**body):
    return {"method": "POST", "body": json.dumps(body)}


# ---- success paths -------------------------------------------------------------------------

async def test_models_lists_the_registry_beside_the_notebook(jp_fetch, project):
    reply = await get_json(jp_fetch, "models")
    assert reply["home"] == os.path.join("proj", ".nbmodels")
    [model] = reply["models"]
    assert model["name"] == "clf"
    assert model["versions"] == 2
    assert model["latest_version"] == "1.1.0"
    assert model["latest_stage"] == "staging"
    assert model["production_version"] is None


async def test_models_of_a_folder_without_registry_is_empty(jp_fetch, project):
    (project["root"] / "other").mkdir()
    reply = await jp_fetch("nbmodels", "api", "models", params={"path": "other"})
    assert json.loads(reply.body)["models"] == []
    assert not (project["root"] / "other" / ".nbmodels").exists()  # reads create nothing


async def test_nbmodels_home_wins_over_the_path(jp_fetch, project, tmp_path, monkeypatch):
    monkeypatch.setenv("NBMODELS_HOME", str(tmp_path / "elsewhere"))
    reply = await get_json(jp_fetch, "models")
    assert reply["models"] == []


async def test_versions_oldest_first(jp_fetch, project):
    reply = await get_json(jp_fetch, "versions", "clf")
    assert [v["version"] for v in reply["versions"]] == ["1.0.0", "1.1.0"]
    assert (reply["total"], reply["limit"], reply["offset"]) == (2, 50, 0)  # the default page
    assert reply["versions"][0]["run_id"] == project["run_id"]
    assert reply["versions"][1]["note"] == "<b>smaller C</b>"  # raw: the panel escapes


@pytest.mark.parametrize("selector, expected", [
    ("1.0.0", "1.0.0"), ("latest", "1.1.0"), ("staging", "1.1.0")])
async def test_one_version_by_number_latest_or_stage(jp_fetch, project, selector, expected):
    reply = await get_json(jp_fetch, "versions", "clf", selector)
    assert reply["version"]["version"] == expected
    assert reply["version"]["ref"] == f"clf@{expected}"


async def test_one_version_comes_with_its_run_and_its_own_history(jp_fetch, project):
    tracked = await get_json(jp_fetch, "versions", "clf", "1.0.0")
    assert set(tracked) == {"version", "run", "history", "standing"}
    assert tracked["run"]["id"] == project["run_id"]
    assert tracked["run"]["source"] == "model = LogisticRegression(C=1.0).fit(X, y)"
    assert tracked["history"] == []
    staged = await get_json(jp_fetch, "versions", "clf", "staging")
    assert staged["version"]["ref"] == "clf@1.1.0"
    assert staged["run"] is None  # registered from a live object, not from a tracked run
    assert [(t["version"], t["from_stage"], t["to_stage"]) for t in staged["history"]] == [
        ("1.1.0", "none", "staging")]


async def test_history_is_the_audit_trail(jp_fetch, project):
    reply = await get_json(jp_fetch, "history", "clf")
    assert [(t["version"], t["from_stage"], t["to_stage"]) for t in reply["history"]] == [
        ("1.1.0", "none", "staging")]


async def test_run_by_id_and_by_prefix_has_its_code(jp_fetch, project):
    for ref in (project["run_id"], project["run_id"][:8].lower()):
        run = (await get_json(jp_fetch, "runs", ref))["run"]
        assert run["id"] == project["run_id"]
        assert run["source"] == "model = LogisticRegression(C=1.0).fit(X, y)"
        assert any(v["name"] == "model" and v["role"] == "model" for v in run["variables"])


async def test_runs_are_paginated(jp_fetch, project):
    reply = await get_json(jp_fetch, "runs", limit="1", offset="0")
    assert reply["total"] == 1 and reply["limit"] == 1 and reply["offset"] == 0
    assert [r["id"] for r in reply["runs"]] == [project["run_id"]]
    assert (await get_json(jp_fetch, "runs", offset="1"))["runs"] == []
    assert (await get_json(jp_fetch, "runs", experiment="nope"))["total"] == 0


async def test_versions_are_paged_oldest_first(jp_fetch, project):
    """Given clf with 5 versions, pages of 2 walk them oldest first; the panel's first page
    (the newest) is offset=total-limit; a page past the end is empty, not an error."""
    from sklearn.linear_model import LogisticRegression

    from nbmodels.registry import Registry

    registry = Registry(project["root"] / "proj" / ".nbmodels")
    for c in (0.1, 0.2, 0.3):
        registry.register(LogisticRegression(C=c).fit([[0], [1]], [0, 1]), "clf")
    everything = [v.version for v in registry.list_versions("clf")]
    registry.close()
    assert len(everything) == 5
    pages = [await get_json(jp_fetch, "versions", "clf", limit="2", offset=str(offset))
             for offset in (0, 2, 4)]
    assert [v["version"] for page in pages for v in page["versions"]] == everything
    assert [(p["total"], p["limit"], p["offset"]) for p in pages] == [(5, 2, 0), (5, 2, 2), (5, 2, 4)]
    newest = await get_json(jp_fetch, "versions", "clf", limit="2", offset="3")
    assert [v["version"] for v in newest["versions"]] == everything[-2:]
    past = await get_json(jp_fetch, "versions", "clf", limit="2", offset="9")
    assert (past["versions"], past["total"]) == ([], 5)


async def test_stage_change_with_note_is_recorded(jp_fetch, project):
    response = await jp_fetch("nbmodels", "api", "stage", params={"path": NOTEBOOK},
                              **post_stage(ref="clf@1.0.0", stage="production", note="best"))
    assert json.loads(response.body)["version"]["stage"] == "production"
    models = (await get_json(jp_fetch, "models"))["models"]
    assert models[0]["production_version"] == "1.0.0"
    history = (await get_json(jp_fetch, "history", "clf"))["history"]
    assert history[-1] == {**history[-1], "version": "1.0.0", "to_stage": "production",
                           "note": "best"}


async def test_compare_two_versions(jp_fetch, project):
    comparison = (await get_json(jp_fetch, "compare", ref=["clf@1.0.0", "clf@1.1.0"]))["comparison"]
    assert comparison["refs"] == ["clf@1.0.0", "clf@1.1.0"]
    [c_row] = [row for row in comparison["params"] if row["param"] == "C"]
    assert c_row["values"] == {"clf@1.0.0": 1.0, "clf@1.1.0": 0.5} and c_row["changed"]
    assert comparison["importance"] is None  # the server never loads a model


# ---- errors: status and one JSON shape on every path ------------------------------------------

@pytest.mark.parametrize("parts, params, status, error_type", [
    (("versions", "nope"), {}, 404, "NotFoundError"),
    (("versions", "nope"), {"limit": "2", "offset": "3"}, 404, "NotFoundError"),
    (("versions", "clf"), {"limit": "many"}, 400, "InvalidInputError"),
    (("versions", "clf"), {"limit": "0"}, 400, "InvalidInputError"),
    (("versions", "clf"), {"limit": "501"}, 400, "InvalidInputError"),
    (("versions", "clf"), {"limit": "2.5"}, 400, "InvalidInputError"),
    (("versions", "clf"), {"offset": "-1"}, 400, "InvalidInputError"),
    (("versions", "clf"), {"offset": ""}, 400, "InvalidInputError"),
    (("versions", "bad name!"), {}, 400, "InvalidInputError"),
    (("versions", "clf", "9.9.9"), {}, 404, "NotFoundError"),
    (("versions", "clf", "1.x"), {}, 400, "InvalidInputError"),
    (("versions", "nope", "1.0.0"), {}, 404, "NotFoundError"),
    (("history", "nope"), {}, 404, "NotFoundError"),
    (("runs", "01ZZZZZZZZZZZZZZZZZZZZZZZZ"), {}, 404, "NotFoundError"),
    (("runs", "abc"), {}, 400, "InvalidInputError"),
    (("runs",), {"limit": "many"}, 400, "InvalidInputError"),
    (("runs",), {"limit": "0"}, 400, "InvalidInputError"),
    (("runs",), {"offset": "-1"}, 400, "InvalidInputError"),
    (("compare",), {}, 400, "InvalidInputError"),
    (("compare",), {"ref": ["nope@1.0.0", "clf@1.0.0"]}, 404, "NotFoundError"),
    (("nothing-here",), {}, 404, "NotFound"),
])
async def test_get_errors(jp_fetch, project, parts, params, status, error_type):
    code, error = await error_of(jp_fetch, *parts, **params)
    assert (code, error["type"]) == (status, error_type)


@pytest.mark.parametrize("body, status, error_type", [
    (json.dumps({"ref": "clf@1.0.0", "stage": "prod"}), 400, "InvalidInputError"),
    (json.dumps({"ref": "clf@", "stage": "staging"}), 400, "InvalidInputError"),
    (json.dumps({"ref": "nope@1.0.0", "stage": "staging"}), 404, "NotFoundError"),
    (json.dumps({"ref": "clf@1.0.0"}), 400, "InvalidInputError"),
    (json.dumps({"ref": "clf@1.0.0", "stage": "staging", "note": 3}), 400, "InvalidInputError"),
    (json.dumps(["clf@1.0.0", "staging"]), 400, "InvalidInputError"),
    ("{not json", 400, "InvalidInputError"),
])
async def test_stage_errors_write_nothing(jp_fetch, project, body, status, error_type):
    code, error = await error_of(jp_fetch, "stage", method="POST", body=body)
    assert (code, error["type"]) == (status, error_type)
    assert len((await get_json(jp_fetch, "history", "clf"))["history"]) == 1


async def test_unknown_model_says_did_you_mean(jp_fetch, project):
    _, error = await error_of(jp_fetch, "versions", "clg")
    assert "clf" in error["message"]


@pytest.mark.parametrize("path", ["..", "../", "proj/../..", "../root_dir_sibling",
                                  "/etc", "/", "~", "proj/../../x.ipynb"])
async def test_paths_leaving_the_root_are_refused(jp_fetch, project, path):
    code, error = await error_of(jp_fetch, "models", path=path)
    assert (code, error["type"]) == (403, "Forbidden")


async def test_symlink_out_of_the_root_is_refused(jp_fetch, project, tmp_path):
    outside = tmp_path / "outside"
    (outside / ".nbmodels").mkdir(parents=True)
    (project["root"] / "link").symlink_to(outside, target_is_directory=True)
    code, _ = await error_of(jp_fetch, "models", path="link")
    assert code == 403


async def test_registry_search_stops_at_the_root(jp_fetch, project, tmp_path):
    """A `.nbmodels/` above the server root is never used."""
    (project["root"].parent / ".nbmodels").mkdir()
    (project["root"] / "fresh").mkdir()
    reply = await get_json(jp_fetch, "models", path="fresh")
    assert reply["home"] == os.path.join("fresh", ".nbmodels") and reply["models"] == []


@pytest.mark.parametrize("parts, method, body", [
    (("models",), "GET", None),
    (("versions", "clf"), "GET", None),
    (("runs",), "GET", None),
    (("stage",), "POST", json.dumps({"ref": "clf@1.0.0", "stage": "production"})),
])
async def test_unauthenticated_requests_are_refused(jp_fetch, project, parts, method, body):
    code, error = await error_of(jp_fetch, *parts, method=method, body=body,
                                 headers={"Authorization": ""})
    assert (code, error["type"]) == (403, "Forbidden")
    assert len((await get_json(jp_fetch, "history", "clf"))["history"]) == 1


# ---- the error table and the JSON rendering ----------------------------------------------------

def test_every_registry_error_has_one_status():
    assert status_for(NotFoundError("x")) == 404
    assert status_for(InvalidInputError("x")) == 400
    assert status_for(AmbiguousRefError("x")) == 400
    assert status_for(ConflictError("x")) == 409
    assert status_for(IntegrityError("x")) == 500
    assert status_for(DatabaseDamagedError("x")) == 503
    assert status_for(ReadOnlyRegistryError("x")) == 403
    assert status_for(UntrustedObjectError("x")) == 403
    assert status_for(MissingDataError("x")) == 422  # a ReproduceError
    assert status_for(NbModelsError("x")) == 500
    assert set(ERROR_STATUS) == {NotFoundError, InvalidInputError, AmbiguousRefError,
                                 ConflictError, IntegrityError, DatabaseDamagedError,
                                 ReadOnlyRegistryError, UntrustedObjectError, ReproduceError}


def test_non_finite_metrics_become_null():
    assert jsonable({"loss": math.nan, "r": (1.0, math.inf)}) == {"loss": None, "r": [1.0, None]}


async def test_cookie_session_writes_need_the_xsrf_token(jp_fetch, jp_serverapp, project):
    """Given a browser-like session (login cookie, no token header), a stage change without the
    XSRF token is refused and writes nothing; with it, the change goes through."""
    login = await jp_fetch("api", "status", params={"token": jp_serverapp.identity_provider.token},
                           headers={"Authorization": ""})
    cookies = [c.split(";")[0] for c in login.headers.get_list("Set-Cookie")]
    assert any(c.startswith("username-") for c in cookies)  # the login cookie
    xsrf = "0123abcd" * 4  # tornado accepts any cookie value that the header repeats
    session = {"Authorization": "", "Cookie": "; ".join([*cookies, f"_xsrf={xsrf}"])}
    body = json.dumps({"ref": "clf@1.0.0", "stage": "production"})

    code, error = await error_of(jp_fetch, "stage", method="POST", body=body, headers=session)
    assert (code, error["type"]) == (403, "Forbidden") and "xsrf" in error["message"].lower()
    assert len((await get_json(jp_fetch, "history", "clf"))["history"]) == 1

    response = await jp_fetch("nbmodels", "api", "stage", method="POST", body=body,
                              params=query({}), headers={**session, "X-XSRFToken": xsrf})
    assert json.loads(response.body)["version"]["stage"] == "production"


# ---- the panel's Runs view, version standing, lineage, register and reproduce (issue 13) -----

def open_registry(project):
    from nbmodels.registry import Registry

    return Registry(project["root"] / "proj" / ".nbmodels")


def record_runs(project, count: int) -> list[str]:
    """`count` more runs in experiment `sweep`, accuracy i/10 and loss 1-i/10, note `run i`;
    their ids, oldest first."""
    from sklearn.linear_model import LogisticRegression

    registry = open_registry(project)
    try:
        for i in range(count):
            record_fit(registry, LogisticRegression(C=i + 1.0).fit([[0], [1]], [0, 1]),
                       f"model = LogisticRegression(C={i + 1.0})", accuracy=i / 10,
                       loss=1 - i / 10)
            time.sleep(0.002)  # run ids start with their millisecond: one each, in order
        ids = [r.id for r in registry.list_runs(limit=count)][::-1]
        with registry.store.write() as db:
            for i, run_id in enumerate(ids):
                db.execute("UPDATE runs SET experiment = 'sweep', note = ? WHERE id = ?",
                           [f"run {i}", run_id])
    finally:
        registry.close()
    return ids


async def test_runs_are_searched_sorted_and_filtered(jp_fetch, project):
    ids = record_runs(project, 4)
    newest = await get_json(jp_fetch, "runs")
    assert [r["id"] for r in newest["runs"]] == [*ids[::-1], project["run_id"]]
    assert newest["experiments"] == ["sweep", "test"]
    assert {"accuracy", "loss"} <= set(newest["metrics"])
    best = await get_json(jp_fetch, "runs", order="metrics.accuracy DESC", limit="2",
                          offset="1")
    assert [r["metrics"]["accuracy"] for r in best["runs"]] == [0.3, 0.2]
    assert best["total"] == 5
    lowest_loss = await get_json(jp_fetch, "runs", order="metrics.loss", experiment="sweep")
    assert [r["id"] for r in lowest_loss["runs"]] == ids[::-1] and lowest_loss["total"] == 4
    found = await get_json(jp_fetch, "runs", q="RUN 2")
    assert [r["note"] for r in found["runs"]] == ["run 2"] and found["total"] == 1
    assert (await get_json(jp_fetch, "runs", q="run", experiment="test"))["total"] == 0
    code, error = await error_of(jp_fetch, "runs", order="metrics.accuracy SIDEWAYS")
    assert (code, error["type"]) == (400, "InvalidInputError")


async def test_a_run_lists_the_versions_registered_from_it(jp_fetch, project):
    reply = await get_json(jp_fetch, "runs", project["run_id"])
    assert [v["ref"] for v in reply["versions"]] == ["clf@1.0.0"]


async def test_a_version_says_where_it_stands_against_the_champion(jp_fetch, project):
    registry = open_registry(project)
    try:
        with registry.store.write() as db:
            db.execute("UPDATE versions SET metrics = ? WHERE version = '1.1.0'",
                       ['{"accuracy": 0.95}'])
        registry.set_stage("clf@1.0.0", "production")
    finally:
        registry.close()
    challenger = (await get_json(jp_fetch, "versions", "clf", "1.1.0"))["standing"]
    assert challenger == {"ref": "clf@1.1.0", "location": None, "is_champion": False,
                          "champion": "clf@1.0.0", "metrics": [
                              {"name": "accuracy", "value": 0.95, "champion": 0.9,
                               "verdict": "better"}]}
    champion = (await get_json(jp_fetch, "versions", "clf", "production"))["standing"]
    assert champion["is_champion"] and champion["metrics"] == []


async def test_lineage_of_a_version_and_of_its_run(jp_fetch, project):
    by_version = (await get_json(jp_fetch, "lineage", "clf@1.0.0"))["lineage"]
    by_run = (await get_json(jp_fetch, "lineage", project["run_id"][:8]))["lineage"]
    assert by_version == by_run and by_version["run_id"] == project["run_id"]
    assert by_version["cells"][-1]["source"] == "model = LogisticRegression(C=1.0).fit(X, y)"
    assert [f["kind"] for f in by_version["flags"]] == ["unknown_producer"]
    code, error = await error_of(jp_fetch, "lineage", "clf@1.1.0")  # from a live object
    assert (code, error["type"]) == (404, "NotFoundError")


async def test_register_a_runs_model_from_its_id(jp_fetch, project):
    [run_id] = record_runs(project, 1)

    async def register(**body):
        reply = await jp_fetch("nbmodels", "api", "register", method="POST",
                               params=query({}), body=json.dumps(body))
        return json.loads(reply.body)

    made = await register(run=run_id[:10].lower(), name="swept", note="<i>from the panel</i>")
    assert made["created"] is True
    version = made["version"]
    assert (version["ref"], version["run_id"], version["variable"]) == (
        "swept@1.0.0", run_id, "model")
    assert version["note"] == "<i>from the panel</i>" and version["params"]["C"] == 1.0
    registry = open_registry(project)
    try:
        stored = registry.run(run_id).variable("model").object_hash
        assert registry.get("swept@1.0.0").object_hash == stored  # the run's own bytes
    finally:
        registry.close()
    again = await register(run=run_id)  # named after the variable; `clf` holds other bytes
    assert again["version"]["ref"] == "model@1.0.0"
    assert (await register(run=run_id, name="swept"))["created"] is False


@pytest.mark.parametrize("body, status, error_type", [
    ({}, 400, "InvalidInputError"),
    ({"run": 3}, 400, "InvalidInputError"),
    ({"run": "01ZZZZZZZZZZZZZZZZZZZZZZZZ"}, 404, "NotFoundError"),
    ({"run": "RUN", "variable": "nothing"}, 404, "NotFoundError"),
    ({"run": "RUN", "name": "bad name!"}, 400, "InvalidInputError"),
    ({"run": "RUN", "stage": "prod"}, 400, "InvalidInputError"),
])
async def test_register_errors_write_nothing(jp_fetch, project, body, status, error_type):
    body = {k: project["run_id"] if v == "RUN" else v for k, v in body.items()}
    code, error = await error_of(jp_fetch, "register", method="POST", body=json.dumps(body))
    assert (code, error["type"]) == (status, error_type)
    assert [m["versions"] for m in (await get_json(jp_fetch, "models"))["models"]] == [2]


@pytest.mark.slow
async def test_reproduce_reruns_a_run_outside_the_server(jp_fetch, project):
    from sklearn.linear_model import LogisticRegression

    source = ("import os\nfrom sklearn.linear_model import LogisticRegression\n"
              "open('rerun.pid', 'w').write(str(os.getpid()))\n"
              "model = LogisticRegression(C=2.0).fit([[0], [1]], [0, 1])")
    registry = open_registry(project)
    try:
        record_fit(registry, LogisticRegression(C=2.0).fit([[0], [1]], [0, 1]), source)
        run_id = registry.list_runs(limit=1)[0].id
    finally:
        registry.close()
    reply = await jp_fetch("nbmodels", "api", "reproduce", method="POST", params=query({}),
                           body=json.dumps({"ref": run_id}))
    report = json.loads(reply.body)["report"]
    assert report["run_id"] == run_id and report["mode"] == "inputs"
    assert report["status"] in ("exact", "equivalent") and report["models"] == {
        "model": report["status"]}
    # the cell ran in another process, in the notebook's folder
    assert int((project["root"] / "proj" / "rerun.pid").read_text()) != os.getpid()


@pytest.mark.parametrize("body, status, error_type", [
    ({"ref": "clf@1.0.0", "mode": "sideways"}, 400, "InvalidInputError"),
    ({}, 400, "InvalidInputError"),
    ({"ref": "nope@1.0.0"}, 404, "NotFoundError"),
    ({"ref": "clf@1.1.0"}, 404, "NotFoundError"),  # registered from a live object: no run
    ({"ref": "clf@1.0.0"}, 422, "ReproduceError"),  # its cell reads X, which was not stored
])
async def test_reproduce_errors(jp_fetch, project, body, status, error_type):
    code, error = await error_of(jp_fetch, "reproduce", method="POST", body=json.dumps(body))
    assert (code, error["type"]) == (status, error_type)
    assert str(project["root"]) not in error["message"]
