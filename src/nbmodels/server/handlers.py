"""REST handlers: parse the request, make one `Registry` call, render its records as JSON.

    GET  /nbmodels/api/models                   {"home": str, "models": [ModelSummary]}
    GET  /nbmodels/api/versions/NAME?limit=&offset=
                                                {"versions": [ModelVersion], "total": int,
                                                 "limit": int, "offset": int}   oldest first
                                                (limit 1-500, default 50; the newest page is
                                                offset=total-limit: `total` is also each
                                                model's `versions` in /models)
    GET  /nbmodels/api/versions/NAME/VERSION    {"version": ModelVersion, "run": Run | null,
                                                 "history": [Transition],
                                                 "standing": Standing}
                                                VERSION: X.Y.Z, latest or a stage; `history`
                                                is this version's stage changes, oldest first;
                                                `standing`: champion/challenger, location
    GET  /nbmodels/api/history/NAME             {"history": [Transition]}      oldest first
    GET  /nbmodels/api/runs?experiment=&q=&order=&limit=&offset=
                                                {"runs": [Run], "total": int, "limit": int,
                                                 "offset": int, "experiments": [str],
                                                 "metrics": [str]}   newest first, or by
                                                `order` (`metrics.accuracy DESC`, `duration_s`);
                                                `q`: text in id, experiment, note, tags...
    GET  /nbmodels/api/runs/ID                  {"run": Run, "versions": [ModelVersion]}
                                                ID: run id or 6+ char prefix; `versions`:
                                                those registered from it
    GET  /nbmodels/api/compare?ref=A&ref=B...   {"comparison": Comparison}
    POST /nbmodels/api/stage  {"ref", "stage", "note"?}   {"version": ModelVersion}
    GET  /nbmodels/api/card/REF?format=html|md  the model card itself (text/html or
                                                text/markdown), from records alone
    GET  /nbmodels/api/lineage/REF, POST /nbmodels/api/register, POST /nbmodels/api/reproduce
                                                see `actions`

Every request may carry `path`: the notebook (or its folder) relative to the server root; the
registry is the one `resolve_home` finds from there (`NBMODELS_HOME` wins), never above the
root. A path outside the root is refused with 403, and so is a registry that a symbolic link
leads outside it; a path the file system cannot take (a NUL byte, a name over 255 bytes) is
a 400. Every error is `{"error": {"type": ..., "message": ...}}` with the status from
`ERROR_STATUS` (a damaged database is a 503); messages name the registry relative to the
root, never by an absolute server path.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
from http.client import responses
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Callable

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from ..config import resolve_home
from ..jsoncodec import strict
from ..errors import (AmbiguousRefError, ConflictError, DatabaseDamagedError, IntegrityError,
                      InvalidInputError, NbModelsError, NotFoundError, ReadOnlyRegistryError,
                      ReproduceError, UntrustedObjectError)

if TYPE_CHECKING:
    from ..registry import Registry

ERROR_STATUS: dict[type[NbModelsError], int] = {
    NotFoundError: 404,
    InvalidInputError: 400,
    AmbiguousRefError: 400,
    ConflictError: 409,
    ReadOnlyRegistryError: 403,
    IntegrityError: 500,
    DatabaseDamagedError: 503,
    UntrustedObjectError: 403,  # a pickle when pickles are not allowed (register from a run)
    ReproduceError: 422,  # the run's cells failed when re-run: the request itself was fine
}

RUNS_PAGE = 50
RUNS_PAGE_MAX = 500
VERSIONS_PAGE = 50
VERSIONS_PAGE_MAX = 500
NAME_MAX = 255  # bytes in one file name on the usual file systems


class ApiError(tornado.web.HTTPError):
    """An error the client should read: its `type` and message go into the JSON body."""

    def __init__(self, status: int, error_type: str, message: str):
        super().__init__(status, log_message=message.replace("%", "%%"))
        self.error_type = error_type
        self.message = message


def status_for(error: NbModelsError) -> int:
    """The HTTP status of a registry error (its nearest class in `ERROR_STATUS`, else 500)."""
    return next((ERROR_STATUS[c] for c in type(error).__mro__ if c in ERROR_STATUS), 500)


def registry_home(root: Path, path: str) -> Path:
    """The registry for a notebook (or folder) `path` relative to `root` (resolved).

    Raises `ApiError(403)` for a path that leaves the root: absolute, `..`, or a symlink
    pointing outside."""
    if path.startswith(("/", "\\", "~")) or PurePosixPath(path).is_absolute():
        raise ApiError(403, "Forbidden", f"path {path!r} must be relative to the server root")
    if "\x00" in path or any(len(os.fsencode(part)) > NAME_MAX for part in path.split("/")):
        raise ApiError(400, "InvalidInputError", f"path {path[:80]!r} cannot be used: a NUL "
                                                 f"byte or a name over {NAME_MAX} bytes")
    try:
        target = (root / path).resolve()
        if not target.is_relative_to(root):
            raise ApiError(403, "Forbidden", f"path {path!r} leaves the server root")
        folder = target if target.is_dir() else target.parent
        home = resolve_home(start=folder, root=root)
        if not os.environ.get("NBMODELS_HOME"):  # the server's own setting may point anywhere
            _check_inside(root, home, path)
    except (OSError, ValueError) as error:  # a NUL byte, a name too long for the file system
        reason = getattr(error, "strerror", None) or str(error)
        raise ApiError(400, "InvalidInputError",
                       f"path {path[:80]!r} cannot be used: {reason}") from None
    return home


def _check_inside(root: Path, home: Path, path: str) -> None:
    """Refuse a registry (or its database or objects) that a symbolic link puts outside `root`."""
    for part in (home, home / "registry.db", home / "objects"):
        if not part.resolve().is_relative_to(root):
            raise ApiError(403, "Forbidden", f"the registry for path {path[:80]!r} is a "
                                             "symbolic link leading outside the server root")


def shown_home(root: Path, home: Path) -> str:
    """The registry folder as the panel shows it: relative to the root, else as it is."""
    return str(home.relative_to(root)) if home.is_relative_to(root) else str(home)


# Records as strict JSON (NaN metrics as null): the CLI's `--json` encoding.
jsonable = strict


class RegistryHandler(APIHandler):
    """Base: registry lookup from `?path=`, one call off the event loop, the error shape."""

    def initialize(self, root_dir: Path) -> None:
        self.root_dir = root_dir

    @functools.cached_property
    def home(self) -> Path:
        return registry_home(self.root_dir, self.get_query_argument("path", ""))

    async def call(self, operation: Callable[[Registry], Any]) -> Any:
        """`operation(Registry(home))` in a worker thread (SQLite off the event loop), the
        registry closed after; registry errors become `ApiError` with their `ERROR_STATUS`."""
        home = self.home

        def work():
            from ..registry import Registry

            registry = Registry(home)
            try:
                return operation(registry)
            finally:
                registry.close()

        try:
            return await asyncio.to_thread(work)
        except NbModelsError as error:
            raise ApiError(status_for(error), type(error).__name__,
                           self.without_server_paths(str(error), home)) from error

    def without_server_paths(self, message: str, home: Path) -> str:
        """`message` with the registry and the root named relative to the root: a client
        learns nothing of the server's file system."""
        outside = not home.is_relative_to(self.root_dir)
        for absolute, shown in ((str(home), "$NBMODELS_HOME" if outside else
                                 shown_home(self.root_dir, home)),
                                (str(self.root_dir), ".")):
            message = message.replace(absolute, shown)
        return message

    def reply(self, **body: Any) -> None:
        self.finish(json.dumps(jsonable(body), default=str))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, ApiError):
            error_type, message = error.error_type, error.message
        elif isinstance(error, tornado.web.HTTPError):
            error_type = responses.get(status_code, "Error").replace(" ", "")
            message = error.log_message or responses.get(status_code, "error")
        else:  # a bug: tornado has logged the traceback; the client gets no internals
            error_type, message = "InternalServerError", "internal error: see the server log"
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": {"type": error_type, "message": message}}))

    def int_argument(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.get_query_argument(name, None)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise ApiError(400, "InvalidInputError",
                           f"{name}={raw!r} must be a whole number from {low} to {high}")
        return value

    async def reply_page(self, key: str, default: int, most: int,
                         list_page: Callable[..., list], count: Callable[[Registry], int]) -> None:
        """The paged shape `{key: [record], "total", "limit", "offset"}` for `?limit=` (1 to
        `most`, else `default`) and `?offset=`: `list_page(registry, limit=, offset=)` gives
        the records, `count(registry)` the total."""
        limit = self.int_argument("limit", default, 1, most)
        offset = self.int_argument("offset", 0, 0, 2**31)
        items, total = await self.call(lambda r: (
            [item.to_dict() for item in list_page(r, limit=limit, offset=offset)], count(r)))
        self.reply(**{key: items}, total=total, limit=limit, offset=offset)

    def json_body(self) -> dict:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError as error:
            raise ApiError(400, "InvalidInputError", f"request body is not JSON: {error}") from error
        if not isinstance(body, dict):
            raise ApiError(400, "InvalidInputError", "request body must be a JSON object")
        return body


class ModelsHandler(RegistryHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        models = await self.call(lambda r: [m.to_dict() for m in r.list_models()])
        self.reply(home=shown_home(self.root_dir, self.home), models=models)


class VersionsHandler(RegistryHandler):
    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        await self.reply_page("versions", VERSIONS_PAGE, VERSIONS_PAGE_MAX,
                              lambda r, **page: r.list_versions(name, **page),
                              lambda r: r.count_versions(name))


class VersionHandler(RegistryHandler):
    @tornado.web.authenticated
    async def get(self, name: str, version: str) -> None:
        ref = f"{name}@{version}"
        detail = await self.call(lambda r: {**r.version_detail(ref).to_dict(),
                                            "standing": r.standing(ref).to_dict()})
        self.reply(**detail)


class HistoryHandler(RegistryHandler):
    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        history = await self.call(lambda r: [t.to_dict() for t in r.transitions(name)])
        self.reply(history=history)


class RunsHandler(RegistryHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        experiment = self.get_query_argument("experiment", None) or None
        text = self.get_query_argument("q", None) or None
        order = self.get_query_argument("order", None) or None
        limit = self.int_argument("limit", RUNS_PAGE, 1, RUNS_PAGE_MAX)
        offset = self.int_argument("offset", 0, 0, 2**31)
        page = await self.call(lambda r: r.find_runs(experiment, text, order, limit=limit,
                                                     offset=offset).to_dict())
        self.reply(**page, limit=limit, offset=offset)


class RunHandler(RegistryHandler):
    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        run, versions = await self.call(lambda r: (
            r.run(run_id).to_dict(), [v.to_dict() for v in r.run_versions(run_id)]))
        self.reply(run=run, versions=versions)


class CompareHandler(RegistryHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        refs = self.get_query_arguments("ref")
        if not refs:
            raise ApiError(400, "InvalidInputError", "give the REFs to compare: ?ref=A&ref=B")
        # importance=False: the server never unpickles models (restoring runs in the kernel)
        comparison = await self.call(lambda r: r.compare(*refs).to_dict(importance=False))
        self.reply(comparison=comparison)


class StageHandler(RegistryHandler):
    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.json_body()
        ref, stage, note = body.get("ref"), body.get("stage"), body.get("note") or None
        if not isinstance(ref, str) or not isinstance(stage, str) or not isinstance(
                note, (str, type(None))):
            raise ApiError(400, "InvalidInputError",
                           'body must be {"ref": REF, "stage": STAGE, "note": optional text}')
        version = await self.call(lambda r: r.set_stage(ref, stage, note=note).to_dict())
        self.reply(version=version)


class CardHandler(RegistryHandler):
    @tornado.web.authenticated
    async def get(self, ref: str) -> None:
        fmt = self.get_query_argument("format", "html")
        card = await self.call(lambda r: r.card(ref, format=fmt))
        kind = "text/html" if fmt == "html" else "text/markdown"
        # the card is a page of its own: no script may run in it, whoever opens it
        self.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
        self.finish(card, set_content_type=f"{kind}; charset=UTF-8")


class UnknownHandler(RegistryHandler):
    """Any other URL under the API: a 404 in the same JSON shape."""

    @tornado.web.authenticated
    def prepare_unknown(self) -> None:
        raise ApiError(404, "NotFound", f"no such endpoint: {self.request.path}")

    get = post = prepare_unknown


def routes(base_url: str, root_dir: Path) -> list[tuple]:
    """The URL table, each handler given the server's contents root (resolved)."""
    from .actions import LineageHandler, RegisterHandler, ReproduceHandler

    root_dir = root_dir.resolve()
    segment = r"([^/]+)"
    table = [
        ("models", ModelsHandler),
        (f"versions/{segment}", VersionsHandler),
        (f"versions/{segment}/{segment}", VersionHandler),
        (f"history/{segment}", HistoryHandler),
        ("runs", RunsHandler),
        (f"runs/{segment}", RunHandler),
        ("compare", CompareHandler),
        ("stage", StageHandler),
        (f"card/{segment}", CardHandler),
        (f"lineage/{segment}", LineageHandler),
        ("register", RegisterHandler),
        ("reproduce", ReproduceHandler),
        (".*", UnknownHandler),
    ]
    return [(url_path_join(base_url, "nbmodels", "api", pattern), handler, {"root_dir": root_dir})
            for pattern, handler in table]
