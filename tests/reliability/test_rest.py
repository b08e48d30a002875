"""REST probes on loopback: a real jupyter_server with auth on, driven like a hostile client.

Every endpoint needs auth, writes need the XSRF token, no path leaves the server root (`..`,
absolute, encoded, symbolic links), inputs the file system or SQLite cannot take are 4xx
in the one JSON error shape with no server path in the message, and 1,000 requests leave
the server answering exactly as before.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re

import pytest
from tornado.httpclient import HTTPClientError

from nbmodels.registry import Registry
from nbmodels.server.handlers import routes

from ..test_server import error_of, get_json, jp_server_config, project, query  # noqa: F401

pytest_plugins = ["pytest_jupyter.jupyter_server"]

STAGE_BODY = json.dumps({"ref": "clf@1.0.0", "stage": "production"})


def endpoints(run_id: str) -> list[tuple[str, tuple, dict, str | None]]:
    """One request per route: (method, URL parts, query, body)."""
    return [
        ("GET", ("models",), {}, None),
        ("GET", ("versions", "clf"), {}, None),
        ("GET", ("versions", "clf", "1.0.0"), {}, None),
        ("GET", ("history", "clf"), {}, None),
        ("GET", ("runs",), {}, None),
        ("GET", ("runs", run_id), {}, None),
        ("GET", ("compare",), {"ref": ["clf@1.0.0", "clf@1.1.0"]}, None),
        ("POST", ("stage",), {}, STAGE_BODY),
        ("GET", ("card", "clf@1.0.0"), {}, None),
        ("GET", ("lineage", "clf@1.0.0"), {}, None),
        ("POST", ("register",), {}, json.dumps({"run": run_id, "name": "probed"})),
        ("POST", ("reproduce",), {}, json.dumps({"ref": "clf@1.0.0"})),
        ("GET", ("no", "such", "endpoint"), {}, None),
    ]


async def history_length(jp_fetch) -> int:
    return len((await get_json(jp_fetch, "history", "clf"))["history"])


def assert_no_server_path(message: str, root) -> None:
    assert str(root) not in message
    assert "/tmp" not in message and "/root" not in message


def damage_header(home) -> None:
    with open(home / "registry.db", "r+b") as file:
        file.write(b"\0" * 100)


# ---- auth and XSRF on every endpoint ---------------------------------------------------------

def test_the_probes_cover_every_route(tmp_path):
    """The table of probes names one request per handler the extension serves."""
    table = routes("/", tmp_path)

    def handler_for(parts):
        url = "/nbmodels/api/" + "/".join(parts)
        return next(handler for pattern, handler, _ in table if re.fullmatch(pattern, url))

    probed = [handler_for(parts) for _, parts, _, _ in endpoints("01ABCDEF")]
    assert sorted(h.__name__ for h in probed) == sorted(h.__name__ for _, h, _ in table)


@pytest.mark.parametrize("index", range(len(endpoints("x"))))
async def test_every_endpoint_refuses_a_request_without_auth(jp_fetch, project, index):
    method, parts, params, body = endpoints(project["run_id"])[index]
    code, error = await error_of(jp_fetch, *parts, method=method, body=body,
                                 headers={"Authorization": ""}, **params)
    assert (code, error["type"]) == (403, "Forbidden")
    assert await history_length(jp_fetch) == 1  # nothing written


@pytest.mark.parametrize("index", range(len(endpoints("x"))))
async def test_every_endpoint_refuses_a_wrong_token(jp_fetch, project, index):
    method, parts, params, body = endpoints(project["run_id"])[index]
    code, error = await error_of(jp_fetch, *parts, method=method, body=body,
                                 headers={"Authorization": "token not-the-token"}, **params)
    assert (code, error["type"]) == (403, "Forbidden")


async def browser_session(jp_fetch, jp_serverapp) -> dict:
    """Headers of a logged-in browser: the login cookie and an `_xsrf` cookie, no token."""
    login = await jp_fetch("api", "status", params={"token": jp_serverapp.identity_provider.token},
                           headers={"Authorization": ""})
    cookies = [c.split(";")[0] for c in login.headers.get_list("Set-Cookie")]
    return {"Authorization": "", "Cookie": "; ".join([*cookies, "_xsrf=" + "ab12" * 8])}


@pytest.mark.parametrize("xsrf_header", [None, "", "cd34" * 8])
async def test_writes_from_a_browser_need_the_xsrf_token(jp_fetch, jp_serverapp, project,
                                                         xsrf_header):
    """Given a cookie session, a stage change without the XSRF header or with one that does
    not match the cookie is refused and writes nothing; reads need no token."""
    session = await browser_session(jp_fetch, jp_serverapp)
    headers = session if xsrf_header is None else {**session, "X-XSRFToken": xsrf_header}
    code, error = await error_of(jp_fetch, "stage", method="POST", body=STAGE_BODY,
                                 headers=headers)
    assert (code, error["type"]) == (403, "Forbidden")
    assert await history_length(jp_fetch) == 1
    reply = await jp_fetch("nbmodels", "api", "models", params=query({}), headers=session)
    assert json.loads(reply.body)["models"][0]["name"] == "clf"


@pytest.mark.parametrize("endpoint", ["register", "reproduce"])
async def test_register_and_reproduce_from_a_browser_need_the_xsrf_token(
        jp_fetch, jp_serverapp, project, endpoint):
    """Given a cookie session without the XSRF header, registering from a run and
    reproducing (which runs the run's code) are refused, and no version is made."""
    session = await browser_session(jp_fetch, jp_serverapp)
    body = json.dumps({"run": project["run_id"], "name": "probed", "ref": "clf@1.0.0"})
    code, error = await error_of(jp_fetch, endpoint, method="POST", body=body, headers=session)
    assert (code, error["type"]) == (403, "Forbidden")
    models = (await get_json(jp_fetch, "models"))["models"]
    assert [m["name"] for m in models] == ["clf"]


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_other_methods_are_refused_in_the_json_shape(jp_fetch, project, method):
    body = None if method == "DELETE" else STAGE_BODY  # tornado's client sends no DELETE body
    code, error = await error_of(jp_fetch, "stage", method=method, body=body)
    assert code in (404, 405)
    assert await history_length(jp_fetch) == 1


# ---- paths that try to leave the root --------------------------------------------------------

@pytest.mark.parametrize("path", [
    "..", "../", "../..", "proj/../..", "proj/../../x.ipynb", "./../proj", "/", "/etc",
    "/etc/passwd", "//etc", "\\etc", "~", "~root", "~/x",
])
async def test_paths_leaving_the_root_are_refused(jp_fetch, project, path):
    code, error = await error_of(jp_fetch, "models", path=path)
    assert (code, error["type"]) == (403, "Forbidden")
    assert_no_server_path(error["message"], project["root"])


async def raw_get(http_server_client, jp_auth_header, jp_base_url, url: str):
    """GET a URL exactly as written (already %-encoded), with auth: (status, JSON body)."""
    try:
        response = await http_server_client.fetch(jp_base_url.rstrip("/") + url,
                                                  headers=jp_auth_header)
    except HTTPClientError as error:
        response = error.response
    body = json.loads(response.body)
    if response.code != 200:
        assert set(body) == {"error"} and set(body["error"]) == {"type", "message"}
    return response.code, body


@pytest.mark.parametrize("url, status", [
    ("/nbmodels/api/models?path=%2e%2e", 403),
    ("/nbmodels/api/models?path=%2E%2E%2F%2E%2E", 403),
    ("/nbmodels/api/models?path=proj%2F%2E%2E%2F%2E%2E%2Fx", 403),
    ("/nbmodels/api/models?path=%2Fetc", 403),
    ("/nbmodels/api/models?path=%5C%2E%2E", 403),  # \.. : a plain name on POSIX, but refused
    ("/nbmodels/api/models?path=..%00", 403),  # tornado drops the NUL: `..` is left
    ("/nbmodels/api/models?path=proj%00%2F..%2F..", 403),
    ("/nbmodels/api/models?path=%ff%fe", 400),  # not UTF-8
    ("/nbmodels/api/models?path=%ED%A0%80", 400),  # an encoded lone surrogate
    ("/nbmodels/api/versions/..%2F..%2Fetc?path=proj", 400),
    ("/nbmodels/api/versions/%2e%2e?path=proj", 400),
    ("/nbmodels/api/runs/%2e%2e%2f%2e%2e?path=proj", 400),
    ("/nbmodels/api/versions/clf/..%2F..?path=proj", 400),
])
async def test_encoded_escapes_are_refused(http_server_client, jp_auth_header, jp_base_url,
                                           project, url, status):
    code, body = await raw_get(http_server_client, jp_auth_header, jp_base_url, url)
    assert code == status
    assert_no_server_path(body["error"]["message"], project["root"])


async def test_double_encoded_dots_are_a_plain_folder_name(http_server_client, jp_auth_header,
                                                           jp_base_url, project):
    """`%252e%252e` decodes once to the name `%2e%2e`: a (missing) file in the root, whose
    registry is the root's own, never `..`."""
    code, body = await raw_get(http_server_client, jp_auth_header, jp_base_url,
                               "/nbmodels/api/models?path=%252e%252e")
    assert code == 200 and body["models"] == []
    assert body["home"] == ".nbmodels"


def outside_registry(tmp_path):
    """A real registry outside the server root, holding a model the client must never see."""
    from sklearn.linear_model import LogisticRegression

    home = tmp_path / "outside" / ".nbmodels"
    registry = Registry(home)
    registry.register(LogisticRegression().fit([[0], [1]], [0, 1]), "secret")
    registry.close()
    return home


@pytest.mark.parametrize("link", ["folder", "registry", "database", "objects"])
async def test_symbolic_links_out_of_the_root_are_refused(jp_fetch, project, tmp_path, link):
    """Given a symbolic link inside the root to a registry outside it, the folder holding
    it, its `.nbmodels`, its `registry.db` or its `objects/` is refused with 403."""
    outside = outside_registry(tmp_path)
    inside = project["root"] / "linked"
    inside.mkdir()
    if link == "folder":
        inside.rmdir()
        inside.symlink_to(outside.parent, target_is_directory=True)
    elif link == "registry":
        (inside / ".nbmodels").symlink_to(outside, target_is_directory=True)
    else:
        (inside / ".nbmodels").mkdir()
        name = "registry.db" if link == "database" else "objects"
        (inside / ".nbmodels" / name).symlink_to(outside / name)
    for parts in [("models",), ("versions", "secret"), ("runs",)]:
        code, error = await error_of(jp_fetch, *parts, path="linked")
        assert (code, error["type"]) == (403, "Forbidden")
        assert "secret" not in error["message"]
        assert_no_server_path(error["message"], project["root"])


async def test_a_symbolic_link_inside_the_root_is_followed(jp_fetch, project):
    (project["root"] / "alias").symlink_to(project["root"] / "proj", target_is_directory=True)
    reply = await get_json(jp_fetch, "models", path="alias/train.ipynb")
    assert [m["name"] for m in reply["models"]] == ["clf"]


# ---- input the file system or SQLite cannot take ---------------------------------------------

@pytest.mark.parametrize("path", ["a" * 256, "proj/" + "b" * 300, "x/" * 3000 + "y"])
async def test_a_path_too_long_for_the_file_system_is_a_400(jp_fetch, project, path):
    code, error = await error_of(jp_fetch, "models", path=path)
    assert (code, error["type"]) == (400, "InvalidInputError")
    assert_no_server_path(error["message"], project["root"])


@pytest.mark.parametrize("path", ["a\x00b", "proj/\x00", "c" * 256, "d/" + "e" * 1000])
def test_registry_home_turns_what_the_file_system_refuses_into_a_400(tmp_path, path):
    """Below tornado (which drops control characters from query arguments): a NUL byte or
    a name over 255 bytes is a 400, not a 500."""
    from nbmodels.server.handlers import ApiError, registry_home

    with pytest.raises(ApiError) as caught:
        registry_home(tmp_path, path)
    assert caught.value.status_code == 400
    assert str(tmp_path) not in caught.value.message


@pytest.mark.parametrize("parts", [("versions", "n" * 300), ("versions", "clf", "1" * 300),
                                   ("runs", "0" * 300), ("history", "h" * 300)])
async def test_a_url_segment_over_255_characters_is_a_400(jp_fetch, project, parts):
    code, error = await error_of(jp_fetch, *parts)
    assert (code, error["type"]) == (400, "InvalidInputError")


@pytest.mark.parametrize("body", [
    {"ref": "clf@1.0.0", "stage": "staging", "note": "\ud800"},
    {"ref": "clf@1.0.0", "stage": "staging", "note": "ok \udfff then"},
    {"ref": "clf@1.0.0\ud800", "stage": "staging"},
    {"ref": "clf@1.0.0", "stage": "staging\udc80"},
])
async def test_a_lone_surrogate_in_a_stage_change_is_a_400_and_writes_nothing(
        jp_fetch, project, body):
    code, error = await error_of(jp_fetch, "stage", method="POST", body=json.dumps(body))
    assert (code, error["type"]) == (400, "InvalidInputError")
    assert await history_length(jp_fetch) == 1


async def test_a_damaged_database_is_a_503_that_says_what_to_do(jp_fetch, project):
    damage_header(project["root"] / "proj" / ".nbmodels")
    for method, parts, params, body in endpoints(project["run_id"])[:-1]:
        code, error = await error_of(jp_fetch, *parts, method=method, body=body, **params)
        assert (code, error["type"]) == (503, "DatabaseDamagedError"), parts
        assert "nbmodels verify" in error["message"] and "backup" in error["message"]
        assert os.path.join("proj", ".nbmodels", "registry.db") in error["message"]
        assert_no_server_path(error["message"], project["root"])


async def test_error_messages_name_no_server_path(jp_fetch, project):
    """Messages that name the registry name it relative to the root."""
    for parts in [("runs", "01ZZZZZZZZZZZZZZZZZZZZZZZZ"), ("versions", "nope"),
                  ("versions", "clf", "9.9.9")]:
        _, error = await error_of(jp_fetch, *parts)
        assert_no_server_path(error["message"], project["root"])
    _, error = await error_of(jp_fetch, "runs", "01ZZZZZZZZZZZZZZZZZZZZZZZZ")
    assert os.path.join("proj", ".nbmodels") in error["message"]


# ---- 1,000 requests --------------------------------------------------------------------------

@pytest.mark.slow
async def test_a_thousand_requests_leave_the_server_correct(jp_fetch, project):
    """Given the project registry, 1,000+ requests (reads and errors four at a time, a stage
    change alone every tenth batch) each get the answer the same request got alone, every
    stage change lands once in the audit trail, and the registry verifies clean after."""
    run_id = project["run_id"]
    reads = [(("models",), {}), (("versions", "clf"), {}), (("versions", "clf", "1.0.0"), {}),
             (("runs",), {}), (("runs", run_id[:8]), {}), (("history", "clf"), {}),
             (("compare",), {"ref": ["clf@1.0.0", "clf@1.1.0"]})]
    errors = [(("versions", "nope"), {}), (("runs", "abc"), {}), (("runs",), {"limit": "0"}),
              (("models",), {"path": ".."}), (("versions", "clf", "9.9.9"), {})]
    expected_errors = [await error_of(jp_fetch, *parts, **params) for parts, params in errors]
    rng = random.Random(0)
    stages, changes, requests = ["staging", "production"], 0, len(errors)
    for batch in range(220):
        if batch % 10 == 0:
            reply = await jp_fetch("nbmodels", "api", "stage", method="POST", params=query({}),
                                   body=json.dumps({"ref": "clf@1.0.0",
                                                    "stage": stages[changes % 2]}))
            assert json.loads(reply.body)["version"]["stage"] == stages[changes % 2]
            changes += 1
            expected_reads = [await get_json(jp_fetch, *parts, **params) for parts, params in reads]
            requests += 1 + len(reads)
        picks = [(rng.random() < 0.7, rng.randrange(len(reads)), rng.randrange(len(errors)))
                 for _ in range(4)]
        results = await asyncio.gather(*[
            get_json(jp_fetch, *reads[r][0], **reads[r][1]) if is_read
            else error_of(jp_fetch, *errors[e][0], **errors[e][1]) for is_read, r, e in picks])
        requests += len(picks)
        for (is_read, r, e), result in zip(picks, results):
            assert result == (expected_reads[r] if is_read else expected_errors[e])
    assert requests >= 1000
    history = (await get_json(jp_fetch, "history", "clf"))["history"]
    moves = [t["to_stage"] for t in history if t["version"] == "1.0.0"]
    assert moves == [stages[i % 2] for i in range(changes)]  # each change once, in order
    registry = Registry(project["root"] / "proj" / ".nbmodels")
    try:
        assert registry.verify().ok
    finally:
        registry.close()


async def test_a_bug_is_a_500_without_its_repr(jp_fetch, project, monkeypatch):
    """An unexpected exception (a bug) is logged by the server; the client gets the JSON
    shape with no exception text, which may name server paths."""
    from nbmodels.registry import Registry as Core

    def broken(self):
        raise RuntimeError(f"internal detail {self.home}")

    monkeypatch.setattr(Core, "list_models", broken)
    code, error = await error_of(jp_fetch, "models")
    assert (code, error["type"]) == (500, "InternalServerError")
    assert "RuntimeError" not in error["message"] and "internal detail" not in error["message"]
    assert_no_server_path(error["message"], project["root"])
