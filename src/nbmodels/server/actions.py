"""REST handlers for a version's or a run's page beyond the listings (routes in handlers.py):

    GET  /nbmodels/api/lineage/REF              {"lineage": Lineage}  REF: a run or a version
    POST /nbmodels/api/register  {"run", "name"?, "variable"?, "note"?, "stage"?}
                                                {"version": ModelVersion, "created": bool}
                                                the run's captured model as a new version
                                                (`Registry.register_run`, as `%register`)
    POST /nbmodels/api/reproduce {"ref", "mode"?: "inputs"|"scratch"}
                                                {"report": ReproduceReport}
                                                `Registry.reproduce` in a process of its own
                                                (see `reproducer`): the run's cells never
                                                execute inside the server
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

import tornado.web

from ..errors import NbModelsError
from .handlers import ApiError, RegistryHandler, status_for

REPRODUCE_TIMEOUT_S = 900
MODES = ("inputs", "scratch")


def _text(body: dict, key: str, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise ApiError(400, "InvalidInputError", f"the request body needs {key!r}")
        return None
    if not isinstance(value, str):
        raise ApiError(400, "InvalidInputError", f"{key!r} must be text")
    return value


class LineageHandler(RegistryHandler):
    @tornado.web.authenticated
    async def get(self, ref: str) -> None:
        lineage = await self.call(lambda r: r.lineage(ref).to_dict())
        self.reply(lineage=lineage)


class RegisterHandler(RegistryHandler):
    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.json_body()
        run, name, variable, note, stage = (_text(body, "run", required=True),
                                            _text(body, "name"), _text(body, "variable"),
                                            _text(body, "note"), _text(body, "stage"))
        version = await self.call(lambda r: r.register_run(
            run, name, variable, note=note, stage=stage))
        self.reply(version=version.to_dict(), created=version.created)


class ReproduceHandler(RegistryHandler):
    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.json_body()
        ref, mode = _text(body, "ref", required=True), _text(body, "mode") or "inputs"
        if mode not in MODES:
            raise ApiError(400, "InvalidInputError", f"mode {mode!r}: use inputs or scratch")
        # checked here, so a bad REF or a damaged registry answers at once, as elsewhere
        await self.call(lambda r: r.resolve(ref))
        self.reply(report=await self.reproduce(ref, mode))

    async def reproduce(self, ref: str, mode: str) -> dict:
        home = self.home
        with tempfile.TemporaryDirectory(prefix="nbmodels-reproduce-") as scratch:
            out = Path(scratch) / "result.json"
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "nbmodels.server.reproducer", str(home), ref, mode,
                str(out), cwd=str(home.parent), stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
            try:
                _, stderr = await asyncio.wait_for(process.communicate(), REPRODUCE_TIMEOUT_S)
            except asyncio.TimeoutError:
                process.kill()
                await process.wait()
                raise ApiError(504, "Timeout", f"reproducing {ref} took over "
                                               f"{REPRODUCE_TIMEOUT_S} s: stopped") from None
            if not out.exists():
                self.log.error("nbmodels reproduce %s failed:\n%s", ref,
                               stderr.decode(errors="replace")[-4000:])
                raise ApiError(500, "ReproduceError", f"reproducing {ref} stopped before it "
                                                      "finished: see the server log")
            result = json.loads(out.read_text(encoding="utf-8"))
        if "error" in result:
            error = result["error"]
            raise ApiError(_status_of(error["type"]), error["type"],
                           self.without_server_paths(error["message"], home))
        return result["report"]


def _status_of(error_type: str) -> int:
    """The status of a registry error named in the reproducer's result."""
    import nbmodels.errors as errors

    cls = getattr(errors, error_type, None)
    if isinstance(cls, type) and issubclass(cls, NbModelsError):
        return status_for(cls(""))
    return 500
